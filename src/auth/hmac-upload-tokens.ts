// Seed 003's upload tokens: `ts.sig`, sig = hex HMAC-SHA256(secret, ts), valid for a fixed time.
import { createHmac } from 'node:crypto';
import { secretEquals } from '../lib/secrets.js';

export interface HmacTokenRules {
  readonly secret: string;
  readonly expirySeconds: number;
  /** How far in the future a timestamp may be (clocks differ a little). */
  readonly skewSeconds: number;
}

const FORMAT = /^(\d{1,12})\.([0-9a-f]{64})$/i;

export const looksLikeHmacToken = (token: string): boolean => FORMAT.test(token);

export function mintHmacToken(secret: string, nowSeconds: number = Math.floor(Date.now() / 1000)): string {
  const ts = String(nowSeconds);
  return `${ts}.${createHmac('sha256', secret).update(ts).digest('hex')}`;
}

export type HmacVerdict = 'valid' | 'malformed' | 'bad_signature' | 'expired' | 'future';

export function checkHmacToken(token: string, rules: HmacTokenRules, nowSeconds: number = Math.floor(Date.now() / 1000)): HmacVerdict {
  const m = FORMAT.exec(token);
  if (!m) return 'malformed';
  const ts = m[1]!;
  const expected = createHmac('sha256', rules.secret).update(ts).digest('hex');
  // Compared in constant time whatever the lengths; the timestamp is checked only after.
  if (!secretEquals(m[2]!.toLowerCase(), expected)) return 'bad_signature';
  const age = nowSeconds - Number(ts);
  if (age < -rules.skewSeconds) return 'future';
  if (age > rules.expirySeconds) return 'expired';
  return 'valid';
}

export type SeedTokenVerdict = 'valid' | 'malformed' | 'expired' | 'future' | 'bad_signature';

/**
 * Seed 003's own order of checks, for its profile's answers: not exactly one `.` or `ts` not an integer,
 * then expiry (before the signature, as the seed did), then a `ts` too far in the future (imgd's addition),
 * then the signature, compared in constant time whatever its length or characters.
 */
export function checkSeedToken(token: string, rules: HmacTokenRules, nowSeconds: number = Math.floor(Date.now() / 1000)): SeedTokenVerdict {
  const parts = token.split('.');
  if (parts.length !== 2 || !/^[+-]?\d+$/.test(parts[0]!.trim())) return 'malformed';
  const [ts, sig] = parts as [string, string];
  const age = nowSeconds - Number(ts.trim());
  if (age > rules.expirySeconds) return 'expired';
  if (age < -rules.skewSeconds) return 'future';
  const expected = createHmac('sha256', rules.secret).update(ts).digest('hex');
  return secretEquals(sig, expected) ? 'valid' : 'bad_signature';
}
