// Turns a bearer credential into an Actor: admin token, JWT session, API key, or upload token.
import type { AccountsRepo } from '../core/accounts/accounts-repo.js';
import { roleScopes } from '../core/accounts/accounts.js';
import type { BrowserSessions } from '../core/accounts/browser-sessions.js';
import { ImgdError } from '../core/errors.js';
import { ADMIN, type Actor } from '../core/access/actor.js';
import type { Role } from '../core/accounts/user.js';
import { checkHmacToken, looksLikeHmacToken, type HmacTokenRules } from './hmac-upload-tokens.js';
import { looksLikeJwt, type SessionTokens } from './jwt.js';
import { hashSecret, opaqueKind } from '../core/accounts/opaque-tokens.js';
import { secretEquals } from '../lib/secrets.js';

export interface CredentialOptions {
  readonly adminToken: string;
  readonly sessions: SessionTokens;
  readonly repo: AccountsRepo;
  /** Seed 003's tokens; undefined when UPLOAD_TOKEN_SECRET is unset. */
  readonly hmac: HmacTokenRules | undefined;
  /** Username that seed-003 token uploads belong to. */
  readonly hmacOwner: string | undefined;
}

export type ResolveCredential = (token: string) => Promise<Actor>;

/** Last-used times are written at most this often per key, not on every request. */
const TOUCH_EVERY_MS = 60_000;

const HMAC_REFUSALS = {
  malformed: 'The upload token is malformed.',
  bad_signature: 'The upload token signature does not match.',
  expired: 'The upload token has expired.',
  future: 'The upload token is dated in the future.',
} as const;

const refuse = (message = 'The credential is not valid.'): ImgdError => new ImgdError('unauthorized', message);

/** The actor of a user's credential, refused when the user is gone, disabled, or the session's generation has moved on. */
async function userActor(
  repo: AccountsRepo,
  userId: string,
  via: { scopes?: readonly string[] | undefined; apiKeyId: string | null; generation?: number | undefined; sessionId?: string },
): Promise<Actor> {
  const user = await repo.userById(userId);
  if (!user) throw refuse();
  if (user.disabledAt) throw refuse('This account has been disabled; ask an admin.');
  // Read with the user anyway, so ending sessions costs the hot path nothing.
  if (via.generation !== undefined && via.generation !== user.sessionGeneration) throw refuse('The session has ended (the password changed); sign in again.');
  const { passwordHash: _omit, sessionGeneration: _generation, ...visible } = user;
  const allowed = roleScopes(user.role as Role);
  const { scopes } = via;
  return {
    kind: 'user',
    user: visible,
    scopes: scopes === undefined ? allowed : allowed.filter((s) => scopes.includes(s)),
    apiKeyId: via.apiKeyId,
    ...(via.sessionId !== undefined && { sessionId: via.sessionId }),
  };
}

/** The user behind a session cookie's secret; undefined when the session is over (the cookie is then dropped). */
export type ResolveSessionCookie = (secret: string) => Promise<Actor | undefined>;

export function createSessionCookieResolver(repo: AccountsRepo, sessions: BrowserSessions): ResolveSessionCookie {
  return async (secret) => {
    const session = await sessions.resolve(secret);
    if (!session) return undefined;
    try {
      return await userActor(repo, session.userId, { apiKeyId: null, sessionId: session.id });
    } catch (err) {
      if (err instanceof ImgdError && err.code === 'unauthorized') return undefined;
      throw err;
    }
  };
}

export function createCredentialResolver(options: CredentialOptions): ResolveCredential {
  const { repo } = options;
  const asUser = (userId: string, scopes: readonly string[] | undefined, apiKeyId: string | null, generation?: number) =>
    userActor(repo, userId, { scopes, apiKeyId, generation });

  return async (token) => {
    if (secretEquals(token, options.adminToken)) return ADMIN;

    if (looksLikeJwt(token)) {
      const claims = await options.sessions.verify(token);
      if (!claims) throw refuse('The session token is invalid or expired.');
      return asUser(claims.userId, undefined, null, claims.generation);
    }

    const kind = opaqueKind(token);
    if (kind === 'key') {
      const key = await repo.apiKeyByHash(hashSecret(token));
      if (!key || key.revokedAt !== null) throw refuse('The API key is unknown or revoked.');
      const now = Date.now();
      if (!key.lastUsedAt || now - Date.parse(key.lastUsedAt) > TOUCH_EVERY_MS) await repo.touchApiKey(key.id, new Date(now).toISOString());
      return asUser(key.userId, key.scopes, key.id);
    }
    if (kind === 'upload') {
      const record = await repo.uploadTokenByHash(hashSecret(token));
      if (!record) throw refuse('The upload token is unknown.');
      if (Date.parse(record.expiresAt) <= Date.now()) throw refuse('The upload token has expired.');
      if (record.singleUse && record.usedAt !== null) throw refuse('The upload token was already used.');
      return { kind: 'upload_token', grant: { tokenId: record.id, ownerId: record.ownerId, key: record.key, maxBytes: record.maxBytes, singleUse: record.singleUse } };
    }

    if (options.hmac && looksLikeHmacToken(token)) {
      const verdict = checkHmacToken(token, options.hmac);
      if (verdict !== 'valid') throw refuse(HMAC_REFUSALS[verdict]);
      const owner = options.hmacOwner ? await repo.userByName(options.hmacOwner) : undefined;
      return { kind: 'upload_token', grant: { tokenId: null, ownerId: owner?.id ?? null, key: null, maxBytes: null, singleUse: false } };
    }
    throw refuse();
  };
}
