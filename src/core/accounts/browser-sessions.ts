// Browser sessions: a random secret in an HttpOnly cookie, its hash in the database; listed, revocable, ending
// SESSION_LIFETIME after sign-in or SESSION_IDLE_TIMEOUT after last use, whichever comes first.
import { hashSecret, mintSecret } from './opaque-tokens.js';
import type { Audit } from '../audit.js';
import type { AccountsRepo } from './accounts-repo.js';
import { ImgdError } from '../errors.js';
import { newId } from '../ids.js';
import type { Actor } from '../access/actor.js';

export interface BrowserSession {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  /** The absolute end: sign-in plus SESSION_LIFETIME. */
  readonly expiresAt: string;
  readonly userAgent: string | null;
  readonly ip: string | null;
}

export interface BrowserSessionsRepo {
  insert(session: BrowserSession, hash: string): Promise<void>;
  byHash(hash: string): Promise<BrowserSession | undefined>;
  byId(id: string): Promise<BrowserSession | undefined>;
  listForUser(userId: string): Promise<BrowserSession[]>;
  touch(id: string, at: string): Promise<void>;
  remove(id: string): Promise<void>;
  removeForUser(userId: string): Promise<void>;
  /** The user's sessions last used before `idleSince` or past their end (pruned at each sign-in). */
  removeStale(userId: string, idleSince: string, now: string): Promise<void>;
}

export interface SessionTiming {
  readonly lifetimeSeconds: number;
  readonly idleSeconds: number;
}

export interface BrowserSessions {
  readonly timing: SessionTiming;
  /** A new session for a signed-in user; the secret goes in the cookie and is not kept. */
  start(userId: string, meta: { userAgent: string | null; ip: string | null }): Promise<{ secret: string; session: BrowserSession }>;
  /** The live session behind a cookie's secret (its last use recorded), or undefined. */
  resolve(secret: string): Promise<BrowserSession | undefined>;
  /** When a session ends if it is not used again. */
  endsAt(session: BrowserSession): string;
  list(actor: Actor): Promise<BrowserSession[]>;
  revoke(actor: Actor, id: string, ip: string | null): Promise<void>;
  /** Ends every session of the actor's user: cookies and bearer JWTs alike (the session generation moves on). */
  revokeAll(actor: Actor, ip: string | null): Promise<void>;
}

/** Last-use times are written at most this often per session. */
const TOUCH_EVERY_MS = 60_000;
const MAX_AGENT = 300;

/** Sessions are listed and ended by the person themselves, signed in with a password (not a key or a token). */
function signedInUser(actor: Actor): string {
  if (actor.kind === 'anonymous') throw new ImgdError('unauthorized', 'This needs a credential: sign in first.');
  if (actor.kind !== 'user' || actor.apiKeyId !== null) throw new ImgdError('forbidden', 'Sessions belong to users: sign in with a username and password.');
  return actor.user.id;
}

export function createBrowserSessions(repo: BrowserSessionsRepo, accounts: Pick<AccountsRepo, 'endSessions'>, audit: Audit, timing: SessionTiming): BrowserSessions {
  const endsAtMs = (s: BrowserSession): number => Math.min(Date.parse(s.expiresAt), Date.parse(s.lastSeenAt) + timing.idleSeconds * 1000);

  return {
    timing,
    endsAt: (s) => new Date(endsAtMs(s)).toISOString(),

    async start(userId, meta) {
      const now = Date.now();
      const at = new Date(now).toISOString();
      await repo.removeStale(userId, new Date(now - timing.idleSeconds * 1000).toISOString(), at);
      const minted = mintSecret('session');
      const session: BrowserSession = {
        id: newId(),
        userId,
        createdAt: at,
        lastSeenAt: at,
        expiresAt: new Date(now + timing.lifetimeSeconds * 1000).toISOString(),
        userAgent: meta.userAgent ? meta.userAgent.slice(0, MAX_AGENT) : null,
        ip: meta.ip,
      };
      await repo.insert(session, minted.hash);
      return { secret: minted.secret, session };
    },

    async resolve(secret) {
      const session = await repo.byHash(hashSecret(secret));
      if (!session) return undefined;
      const now = Date.now();
      if (now >= endsAtMs(session)) {
        await repo.remove(session.id);
        return undefined;
      }
      if (now - Date.parse(session.lastSeenAt) < TOUCH_EVERY_MS) return session;
      const at = new Date(now).toISOString();
      await repo.touch(session.id, at);
      return { ...session, lastSeenAt: at };
    },

    async list(actor) {
      const userId = signedInUser(actor);
      const now = Date.now();
      return (await repo.listForUser(userId)).filter((s) => endsAtMs(s) > now);
    },

    async revoke(actor, id, ip) {
      const userId = signedInUser(actor);
      const session = await repo.byId(id);
      // Someone else's session answers exactly like a missing one.
      if (!session || session.userId !== userId) throw new ImgdError('not_found', `No session ${JSON.stringify(id)}.`);
      await repo.remove(id);
      await audit.record(actor, 'session.revoke', id, ip);
    },

    async revokeAll(actor, ip) {
      const userId = signedInUser(actor);
      await repo.removeForUser(userId);
      await accounts.endSessions(userId);
      await audit.record(actor, 'session.revoke_all', userId, ip);
    },
  };
}
