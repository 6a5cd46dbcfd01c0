// Browser sessions on Kysely: one row per signed-in browser, found by the hash of its cookie's secret.
import type { Selectable } from 'kysely';
import type { BrowserSession, BrowserSessionsRepo } from '../core/accounts/browser-sessions.js';
import type { Db } from './database.js';
import type { BrowserSessionsTable } from './schema.js';

const toSession = (row: Selectable<BrowserSessionsTable>): BrowserSession => ({
  id: row.id,
  userId: row.user_id,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
  userAgent: row.user_agent,
  ip: row.ip,
});

export function createBrowserSessionsRepo(db: Db): BrowserSessionsRepo {
  return {
    async insert(s, hash) {
      await db
        .insertInto('browser_sessions')
        .values({ id: s.id, hash, user_id: s.userId, created_at: s.createdAt, last_seen_at: s.lastSeenAt, expires_at: s.expiresAt, user_agent: s.userAgent, ip: s.ip })
        .execute();
    },
    async byHash(hash) {
      const row = await db.selectFrom('browser_sessions').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row && toSession(row);
    },
    async byId(id) {
      const row = await db.selectFrom('browser_sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toSession(row);
    },
    async listForUser(userId) {
      const rows = await db.selectFrom('browser_sessions').selectAll().where('user_id', '=', userId).orderBy('last_seen_at', 'desc').execute();
      return rows.map(toSession);
    },
    async touch(id, at) {
      await db.updateTable('browser_sessions').set({ last_seen_at: at }).where('id', '=', id).execute();
    },
    async remove(id) {
      await db.deleteFrom('browser_sessions').where('id', '=', id).execute();
    },
    async removeForUser(userId) {
      await db.deleteFrom('browser_sessions').where('user_id', '=', userId).execute();
    },
    async removeStale(userId, idleSince, now) {
      await db
        .deleteFrom('browser_sessions')
        .where('user_id', '=', userId)
        .where((eb) => eb.or([eb('last_seen_at', '<', idleSince), eb('expires_at', '<=', now)]))
        .execute();
    },
  };
}
