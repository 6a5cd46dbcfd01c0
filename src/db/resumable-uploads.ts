// Resumable uploads and their staged parts on Kysely (SQLite and PostgreSQL alike).
import type { Selectable } from 'kysely';
import type { ResumableRecord, ResumableRepo, ResumableState, StagedPart } from '../core/upload/resumable.js';
import type { Db } from './database.js';
import type { ResumableUploadsTable } from './schema.js';

const toRecord = (row: Selectable<ResumableUploadsTable>): ResumableRecord => ({
  id: row.id,
  creator: row.creator,
  length: Number(row.length),
  received: Number(row.received),
  metadata: JSON.parse(row.metadata) as Record<string, string | null>,
  state: row.state as ResumableState,
  imageId: row.image_id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

const toPart = (row: { id: string; start: number; bytes: number }): StagedPart => ({ key: row.id, start: Number(row.start), bytes: Number(row.bytes) });

export function createResumableRepo(db: Db): ResumableRepo {
  return {
    async insert(record) {
      await db
        .insertInto('resumable_uploads')
        .values({
          id: record.id,
          creator: record.creator,
          length: record.length,
          received: record.received,
          metadata: JSON.stringify(record.metadata),
          state: record.state,
          claimed_at: null,
          image_id: record.imageId,
          created_at: record.createdAt,
          expires_at: record.expiresAt,
        })
        .execute();
    },

    async get(id) {
      const row = await db.selectFrom('resumable_uploads').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },

    async addPart(uploadId, part) {
      return db.transaction().execute(async (trx) => {
        // The offset moves only from where this write began: a concurrent write (another instance) loses here.
        const moved = await trx
          .updateTable('resumable_uploads')
          .set((eb) => ({ received: eb('received', '+', part.bytes) }))
          .where('id', '=', uploadId)
          .where('received', '=', part.start)
          .where('state', '=', 'receiving')
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) return false;
        await trx.insertInto('resumable_upload_parts').values({ id: part.key, upload_id: uploadId, start: part.start, bytes: part.bytes }).execute();
        return true;
      });
    },

    async parts(uploadId) {
      const rows = await db.selectFrom('resumable_upload_parts').select(['id', 'start', 'bytes']).where('upload_id', '=', uploadId).orderBy('start').execute();
      return rows.map(toPart);
    },

    async claim(id, at, staleBefore) {
      const claimed = await db
        .updateTable('resumable_uploads')
        .set({ state: 'completing', claimed_at: at })
        .where('id', '=', id)
        .where('received', '=', (eb) => eb.ref('length'))
        .where((eb) => eb.or([eb('state', '=', 'receiving'), eb.and([eb('state', '=', 'completing'), eb('claimed_at', '<', staleBefore)])]))
        .executeTakeFirst();
      return Number(claimed.numUpdatedRows) === 1;
    },

    async unclaim(id) {
      await db.updateTable('resumable_uploads').set({ state: 'receiving', claimed_at: null }).where('id', '=', id).where('state', '=', 'completing').execute();
    },

    async finish(id, imageId) {
      return db.transaction().execute(async (trx) => {
        const rows = await trx.selectFrom('resumable_upload_parts').select(['id', 'start', 'bytes']).where('upload_id', '=', id).execute();
        await trx.updateTable('resumable_uploads').set({ state: 'done', image_id: imageId, claimed_at: null }).where('id', '=', id).execute();
        await trx.deleteFrom('resumable_upload_parts').where('upload_id', '=', id).execute();
        return rows.map(toPart);
      });
    },

    async remove(id) {
      return db.transaction().execute(async (trx) => {
        const rows = await trx.selectFrom('resumable_upload_parts').select(['id', 'start', 'bytes']).where('upload_id', '=', id).execute();
        await trx.deleteFrom('resumable_upload_parts').where('upload_id', '=', id).execute();
        await trx.deleteFrom('resumable_uploads').where('id', '=', id).execute();
        return rows.map(toPart);
      });
    },

    async expired(now, limit) {
      const rows = await db.selectFrom('resumable_uploads').select('id').where('expires_at', '<', now).orderBy('expires_at').limit(limit).execute();
      return rows.map((r) => r.id);
    },

    async knownParts(keys) {
      if (keys.length === 0) return new Set();
      const rows = await db.selectFrom('resumable_upload_parts').select('id').where('id', 'in', [...keys]).execute();
      return new Set(rows.map((r) => r.id));
    },
  };
}
