// Random identifiers: ids of 16 characters of lowercase base32 (80 bits), URL keys of 16 base64url characters (96 bits).
import { randomBytes, randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const ID_BYTES = 10;
/** Random bytes drawn in batches: one call into the CSPRNG for 400 ids rather than one per id (an upload makes five). */
const pool = Buffer.alloc(ID_BYTES * 400);
let used = pool.length;

export function newId(): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  let bits = 0;
  let value = 0;
  let out = '';
  for (let i = used; i < used + ID_BYTES; i += 1) {
    value = ((value << 8) | pool[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  used += ID_BYTES;
  return out;
}

/** The unguessable part of an image's URL (`/i/<key>/<filename>`): 12 random bytes, 16 base64url characters. */
export const newUrlKey = (): string => randomBytes(12).toString('base64url');

export const isUrlKey = (s: string): boolean => /^[A-Za-z0-9_-]{16}$/.test(s);
