// Session tokens: HS256 JWTs with the algorithm pinned and expiry enforced (jose).
import type * as Jose from 'jose';

let loading: Promise<typeof Jose> | undefined;
/** jose, loaded with the first session signed or checked rather than at start-up. */
const jose = (): Promise<typeof Jose> => (loading ??= import('jose'));

const ALG = 'HS256';
const ISSUER = 'imgd';

export interface SessionClaims {
  readonly userId: string;
  /** The user's session generation when signed; a session of an older generation has been ended. */
  readonly generation: number;
}

export interface SessionTokens {
  sign(claims: SessionClaims): Promise<{ token: string; expiresIn: number }>;
  /** The claims of a valid token, or undefined for anything else (bad signature, other alg, expired). */
  verify(token: string): Promise<SessionClaims | undefined>;
}

export function createSessionTokens(secret: string, expiresIn: number): SessionTokens {
  const key = new TextEncoder().encode(secret);
  return {
    async sign({ userId, generation }) {
      const { SignJWT } = await jose();
      const token = await new SignJWT({ gen: generation })
        .setProtectedHeader({ alg: ALG, typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(`${expiresIn}s`)
        .sign(key);
      return { token, expiresIn };
    },
    async verify(token) {
      const { jwtVerify, errors } = await jose();
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: [ALG], issuer: ISSUER, requiredClaims: ['exp', 'sub'] });
        // Sessions signed before generations existed carry none: they belong to the first.
        const generation = payload.gen === undefined ? 0 : payload.gen;
        return typeof payload.sub === 'string' && Number.isSafeInteger(generation) ? { userId: payload.sub, generation: generation as number } : undefined;
      } catch (err) {
        if (err instanceof errors.JOSEError) return undefined;
        throw err;
      }
    },
  };
}

/** JWTs are three base64url parts; anything else is some other kind of credential. */
export const looksLikeJwt = (token: string): boolean => /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(token);
