// Idempotency-Key rows and their stored answers on Kysely (SQLite and PostgreSQL alike).
import type { IdempotencyRecord, IdempotencyRepo, StoredAnswer } from '../core/upload/idempotency.js';
import type { Db } from './database.js';

export function createIdempotencyRepo(db: Db): IdempotencyRepo {
  return {
    async get(id) {
      const row = await db.selectFrom('idempotency_keys').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const answer: StoredAnswer | null =
        row.state === 'done' && row.status !== null
          ? { status: row.status, headers: JSON.parse(row.headers ?? '{}') as Record<string, string>, body: row.body ?? '' }
          : null;
      const record: IdempotencyRecord = {
        id: row.id,
        fingerprint: row.fingerprint,
        state: row.state === 'done' ? 'done' : 'running',
        answer,
        heldUntil: row.held_until,
        expiresAt: row.expires_at,
      };
      return record;
    },

    async insert(id, createdAt, heldUntil, expiresAt) {
      const inserted = await db
        .insertInto('idempotency_keys')
        .values({ id, fingerprint: '', state: 'running', status: null, headers: null, body: null, created_at: createdAt, held_until: heldUntil, expires_at: expiresAt })
        .onConflict((oc) => oc.column('id').doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
    },

    async dropStale(id, now) {
      const dropped = await db
        .deleteFrom('idempotency_keys')
        .where('id', '=', id)
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb.and([eb('state', '=', 'running'), eb('held_until', '<=', now)])]))
        .executeTakeFirst();
      return Number(dropped.numDeletedRows) === 1;
    },

    async finish(id, fingerprint, answer) {
      await db
        .updateTable('idempotency_keys')
        .set({ state: 'done', fingerprint, status: answer.status, headers: JSON.stringify(answer.headers), body: answer.body })
        .where('id', '=', id)
        .execute();
    },

    async remove(id) {
      await db.deleteFrom('idempotency_keys').where('id', '=', id).execute();
    },

    async removeExpired(now) {
      const removed = await db
        .deleteFrom('idempotency_keys')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb.and([eb('state', '=', 'running'), eb('held_until', '<=', now)])]))
        .executeTakeFirst();
      return Number(removed.numDeletedRows);
    },
  };
}
