// Albums on Kysely: an album row per album, a membership row per image in it.
import type { Selectable } from 'kysely';
import type { AlbumRecord, AlbumsRepo } from '../core/images/albums-repo.js';
import { ImgdError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Page } from '../core/images/image.js';
import { toRecord } from './image-rows.js';
import type { Db } from './database.js';
import { encodeCursor, ordered } from './image-order.js';
import type { AlbumsTable } from './schema.js';

interface Facts {
  readonly count: number;
  readonly cover: string | null;
}

const toAlbum = (row: Selectable<AlbumsTable>, facts: Facts): AlbumRecord => ({
  id: row.id,
  ownerId: row.owner_id,
  name: row.name,
  imageCount: facts.count,
  coverImageId: facts.cover,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

function albumCursor(row: Selectable<AlbumsTable>): string {
  return Buffer.from(JSON.stringify(['album', row.created_at, row.id])).toString('base64url');
}

function readAlbumCursor(cursor: string): [string, string] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 3 && parsed[0] === 'album' && typeof parsed[1] === 'string' && typeof parsed[2] === 'string') return [parsed[1], parsed[2]];
  } catch {
    // the error below
  }
  throw new ImgdError('invalid_cursor', 'The cursor is not one this server handed out.');
}

export function createAlbumsRepo(db: Db): AlbumsRepo {
  /** The album's images that are in the library (not trashed). */
  const members = (albumId: string) =>
    db
      .selectFrom('images')
      .where('trashed_at', 'is', null)
      .where('id', 'in', db.selectFrom('album_images').select('image_id').where('album_id', '=', albumId));

  async function facts(albumId: string): Promise<Facts> {
    const [count, cover] = await Promise.all([
      members(albumId).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      members(albumId).select('id').orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst(),
    ]);
    return { count: Number(count.n), cover: cover?.id ?? null };
  }

  const withFacts = async (row: Selectable<AlbumsTable>): Promise<AlbumRecord> => toAlbum(row, await facts(row.id));

  return {
    async create(album) {
      const row = { id: album.id, owner_id: album.ownerId, name: album.name, created_at: album.createdAt, updated_at: album.createdAt };
      await db.insertInto('albums').values(row).execute();
      return toAlbum(row, { count: 0, cover: null });
    },

    async get(id) {
      const row = await db.selectFrom('albums').selectAll().where('id', '=', id).executeTakeFirst();
      return row && withFacts(row);
    },

    async list(filter, limit, cursor) {
      let query = db.selectFrom('albums').selectAll();
      if (filter.ownerId !== undefined) query = query.where('owner_id', '=', filter.ownerId);
      if (cursor !== undefined) {
        const [createdAt, id] = readAlbumCursor(cursor);
        query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
      const page = rows.slice(0, limit);
      const items = await Promise.all(page.map(withFacts));
      const last = page.at(-1);
      return { items, nextCursor: rows.length > limit && last ? albumCursor(last) : null } satisfies Page<AlbumRecord>;
    },

    async rename(id, name, at) {
      const row = await db.updateTable('albums').set({ name, updated_at: at }).where('id', '=', id).returningAll().executeTakeFirst();
      return row && withFacts(row);
    },

    async delete(id) {
      return db.transaction().execute(async (trx) => {
        await trx.deleteFrom('album_images').where('album_id', '=', id).execute();
        const gone = await trx.deleteFrom('albums').where('id', '=', id).executeTakeFirst();
        return Number(gone.numDeletedRows) > 0;
      });
    },

    async add(albumId, imageId, at) {
      const [row] = await db
        .insertInto('album_images')
        .values({ id: newId(), album_id: albumId, image_id: imageId, added_at: at })
        .onConflict((oc) => oc.columns(['album_id', 'image_id']).doNothing())
        .returning('id')
        .execute();
      if (row) await db.updateTable('albums').set({ updated_at: at }).where('id', '=', albumId).execute();
      return row !== undefined;
    },

    async remove(albumId, imageId) {
      const gone = await db.deleteFrom('album_images').where('album_id', '=', albumId).where('image_id', '=', imageId).executeTakeFirst();
      return Number(gone.numDeletedRows) > 0;
    },

    async images(albumId, limit, cursor) {
      const rows = await ordered(members(albumId).selectAll(), 'newest', cursor).limit(limit + 1).execute();
      const items = rows.slice(0, limit).map(toRecord);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeCursor('newest', last) : null };
    },
  };
}
