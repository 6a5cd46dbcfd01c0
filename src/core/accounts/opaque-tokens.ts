// Random secrets (API keys, upload tokens, invites, browser sessions): shown once, stored as a SHA-256 hash.
import { createHash, randomBytes } from 'node:crypto';

export type OpaqueKind = 'key' | 'upload' | 'invite' | 'session';

const PREFIX: Record<OpaqueKind, string> = { key: 'imgd_k_', upload: 'imgd_u_', invite: 'imgd_i_', session: 'imgd_s_' };

export interface MintedSecret {
  readonly secret: string;
  readonly hash: string;
  /** The first characters, safe to show in listings. */
  readonly prefix: string;
}

/** 32 random bytes: high-entropy, so a fast hash is enough to store them safely. */
export function mintSecret(kind: OpaqueKind): MintedSecret {
  const secret = `${PREFIX[kind]}${randomBytes(32).toString('base64url')}`;
  return { secret, hash: hashSecret(secret), prefix: secret.slice(0, PREFIX[kind].length + 6) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function opaqueKind(token: string): OpaqueKind | undefined {
  for (const [kind, prefix] of Object.entries(PREFIX) as [OpaqueKind, string][]) {
    if (token.startsWith(prefix)) return kind;
  }
  return undefined;
}
