// The catalog's trash: an image's trashed_at set and cleared, the trash listed, and what has been there too long.
import type { Catalog } from '../core/images/catalog.js';
import type { ImageRecord, Page } from '../core/images/image.js';
import type { Db } from './database.js';
import { toRecord } from './image-rows.js';
import { encodeCursor, ordered } from './image-order.js';
import type { ImageEventRecorder } from './webhooks.js';
import { kyselyWriter } from './writer.js';

type TrashQueries = Pick<Catalog, 'getTrashedImage' | 'trashImage' | 'restoreImage' | 'listTrash' | 'expiredTrash'>;

/** `events`: trashing says image.deleted (it stops being served), restoring image.created, in the same transaction. */
export function trashQueries(db: Db, events: ImageEventRecorder): TrashQueries {
  return {
    async getTrashedImage(id) {
      const row = await db.selectFrom('images').selectAll().where('id', '=', id).where('trashed_at', 'is not', null).executeTakeFirst();
      return row && toRecord(row);
    },

    trashImage: (id, at) =>
      db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('images').set({ trashed_at: at }).where('id', '=', id).where('trashed_at', 'is', null).returningAll().executeTakeFirst();
        if (!row) return undefined;
        const record = toRecord(row);
        await events(kyselyWriter(trx), 'image.deleted', record);
        return record;
      }),

    restoreImage: (id) =>
      db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('images').set({ trashed_at: null }).where('id', '=', id).where('trashed_at', 'is not', null).returningAll().executeTakeFirst();
        if (!row) return undefined;
        const record = toRecord(row);
        await events(kyselyWriter(trx), 'image.created', record);
        return record;
      }),

    async listTrash(filter, limit, cursor) {
      let query = db.selectFrom('images').selectAll().where('trashed_at', 'is not', null);
      if (filter.ownerId !== undefined) query = query.where('owner_id', '=', filter.ownerId);
      const rows = await ordered(query, 'trashed', cursor).limit(limit + 1).execute();
      const items = rows.slice(0, limit).map(toRecord);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeCursor('trashed', last) : null } satisfies Page<ImageRecord>;
    },

    async expiredTrash(before, limit) {
      const rows = await db.selectFrom('images').select('id').where('trashed_at', 'is not', null).where('trashed_at', '<', before).orderBy('trashed_at').limit(limit).execute();
      return rows.map((r) => r.id);
    },
  };
}
