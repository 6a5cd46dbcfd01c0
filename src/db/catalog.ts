// The catalog on Kysely: images, blob reference counts and upload attempts (the trash in catalog-trash.ts, figures in catalog-stats.ts).
import { sql, type Insertable, type Transaction } from 'kysely';
import { NameTakenError, type Catalog, type ImagePatch, type UploadCommit } from '../core/images/catalog.js';
import type { UploadAttempt } from '../core/upload/attempts.js';
import type { ImageListFilter, ImageRecord, Page } from '../core/images/image.js';
import { sqliteStatements, type Db } from './database.js';
import { kyselyWriter, sqliteWriter, type Writer } from './writer.js';
import { insertAudit } from './audit.js';
import { createJobsRepo } from './jobs.js';
import { insertRuns } from './processing-runs.js';
import type { BlobsTable, Database } from './schema.js';
import { compiledOnce, compiledOnceForRow } from './compiled-once.js';
import { createWriteGroup } from './write-group.js';
import type { ImageEventRecorder } from './webhooks.js';
import { encodeCursor, ordered } from './image-order.js';
import { trashQueries } from './catalog-trash.js';
import { statsQueries } from './catalog-stats.js';
import { toRecord, toRow, type ImageRow } from './image-rows.js';

const SEARCHED_COLUMNS = ['original_name', 'filename', 'key', 'description'] as const;
const MAX_SEARCH_WORDS = 8;

/** One LIKE pattern per word of a search, lower-cased, with LIKE's own wildcards taken literally. */
function searchPatterns(search: string | undefined): string[] {
  if (search === undefined) return [];
  const words = search.toLowerCase().split(/\s+/).filter((w) => w !== '');
  return words.slice(0, MAX_SEARCH_WORDS).map((w) => `%${w.replace(/[\\%_]/g, '\\$&')}%`);
}

const MAX_NAME_TRIES = 5;

/** The queries of every upload, compiled once (see compiled-once.ts). */
function uploadQueries(db: Db) {
  return {
    blobRefs: compiledOnce((sha256: string) => db.selectFrom('blobs').select('ref_count').where('sha256', '=', sha256)),
    nameTaken: compiledOnce((filename: string) => db.selectFrom('images').select('id').where('filename', '=', filename).limit(1)),
    insertImage: compiledOnceForRow((row: ImageRow) =>
      db.insertInto('images').values(row).onConflict((oc) => oc.column('filename').doNothing()).returning('id'),
    ),
    addBlobReference: compiledOnceForRow((blob: Insertable<BlobsTable>) =>
      db
        .insertInto('blobs')
        .values(blob)
        .onConflict((oc) => oc.column('sha256').doUpdateSet({ ref_count: sql`blobs.ref_count + 1` }))
        .returning('ref_count'),
    ),
  };
}
type UploadQueries = ReturnType<typeof uploadQueries>;

/**
 * Inserts the image under the first filename not taken (a taken one is skipped by the insert itself, not an error).
 * The first name is looked up before the insert: a taken one (the same file name uploaded again) costs an index
 * lookup instead of a whole row refused.
 */
async function insertNamed(w: Writer, queries: UploadQueries, image: UploadCommit['image'], filename: (attempt: number) => string): Promise<ImageRow> {
  let tried = '';
  for (let attempt = 0; attempt < MAX_NAME_TRIES; attempt += 1) {
    const name = filename(attempt);
    tried = name;
    if (attempt === 0) {
      const [taken] = await w.runCompiled(queries.nameTaken(name));
      if (taken) continue;
    }
    const row = toRow({ ...image, filename: name });
    const [inserted] = await w.runCompiled(queries.insertImage(row));
    if (inserted) return row;
  }
  throw new NameTakenError(tried);
}

async function insertAttempt(into: Writer, a: UploadAttempt): Promise<void> {
  await into.insert('attempts', [
    {
      id: a.id,
      image_id: a.imageId,
      original_name: a.originalName,
      outcome: a.outcome,
      code: a.code,
      reason: a.reason,
      bytes: a.bytes,
      duration_ms: a.durationMs,
      created_at: a.createdAt,
      day: a.createdAt.slice(0, 10),
    },
  ]);
}

/**
 * `groupCommits`: SQLite, where concurrent uploads share one transaction and its fsync. `events` writes an image
 * event's webhook deliveries in the transaction of the change (none recorded without it).
 */
export function createCatalog(db: Db, options: { groupCommits: boolean; events?: ImageEventRecorder }): Catalog {
  const events: ImageEventRecorder = options.events ?? (async () => undefined);
  const writes = createWriteGroup(db, options.groupCommits ? 'sqlite' : 'postgres');
  // On SQLite the commit's statements run on the connection the group's transaction holds, prepared once.
  const statements = sqliteStatements(db);
  const sqlite = statements && sqliteWriter(db, statements);
  const jobs = createJobsRepo(db);
  const queries = uploadQueries(db);
  return {
    async commitUpload(commit: UploadCommit) {
      return writes.run(async (trx) => {
        const w = sqlite ?? kyselyWriter(trx);
        const { image, blob } = commit;
        const [written] = await w.runCompiled(
          queries.addBlobReference({
            sha256: blob.sha256,
            bytes: blob.bytes,
            format: blob.format,
            content_type: blob.contentType,
            width: blob.width,
            height: blob.height,
            ref_count: 1,
            created_at: image.createdAt,
          }),
        );
        const row = await insertNamed(w, queries, image, commit.filename);
        const record = toRecord(row);
        await jobs.insert(commit.jobs, w);
        await events(w, 'image.created', record);
        await insertAttempt(w, commit.attempt);
        if (commit.audit) await insertAudit(w, commit.audit);
        await insertRuns(w, image.id, commit.steps);
        return { image: record, firstReference: written?.ref_count === 1 };
      });
    },

    async blobStored(sha256) {
      const [row] = (await db.executeQuery(queries.blobRefs(sha256))).rows;
      return row !== undefined && row.ref_count > 0;
    },

    async getImage(id) {
      const row = await db.selectFrom('images').selectAll().where('id', '=', id).where('trashed_at', 'is', null).executeTakeFirst();
      return row && toRecord(row);
    },

    async getAnyImage(id) {
      const row = await db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toRecord(row);
    },

    ...trashQueries(db, events),
    ...statsQueries(db),

    async getImageByFilename(filename) {
      const row = await db.selectFrom('images').selectAll().where('filename', '=', filename).where('trashed_at', 'is', null).executeTakeFirst();
      return row && toRecord(row);
    },

    async getImageByUrlKey(urlKey) {
      const row = await db.selectFrom('images').selectAll().where('url_key', '=', urlKey).where('trashed_at', 'is', null).executeTakeFirst();
      return row && toRecord(row);
    },

    async listImages(filter: ImageListFilter, limit, cursor) {
      let query = db.selectFrom('images').selectAll().where('trashed_at', 'is', null);
      if (filter.key !== undefined) query = query.where('key', '=', filter.key);
      if (filter.status !== undefined) query = query.where('status', '=', filter.status);
      if (filter.ownerId !== undefined) query = query.where('owner_id', '=', filter.ownerId);
      if (filter.createdAfter !== undefined) query = query.where('created_at', '>=', filter.createdAfter);
      if (filter.createdBefore !== undefined) query = query.where('created_at', '<', filter.createdBefore);
      for (const pattern of searchPatterns(filter.search)) {
        query = query.where((eb) => eb.or(SEARCHED_COLUMNS.map((column) => sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`)));
      }
      const order = filter.sort ?? 'newest';
      const rows = await ordered(query, order, cursor).limit(limit + 1).execute();
      const items = rows.slice(0, limit).map(toRecord);
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeCursor(order, last) : null } satisfies Page<ImageRecord>;
    },

    async updateImage(id, patch: ImagePatch, event) {
      const set: Partial<ImageRow> = { updated_at: new Date().toISOString() };
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.visibility !== undefined) set.visibility = patch.visibility;
      if (patch.key !== undefined) set.key = patch.key;
      if (patch.status !== undefined) set.status = patch.status;
      if (patch.error !== undefined) set.error = patch.error;
      if (patch.exif !== undefined) set.exif = patch.exif === null ? null : JSON.stringify(patch.exif);
      if (patch.placeholder !== undefined) set.placeholder = patch.placeholder;
      if (patch.caption !== undefined) set.caption = patch.caption;
      const update = (q: Db | Transaction<Database>) => q.updateTable('images').set(set).where('id', '=', id).returningAll().executeTakeFirst();
      if (event === undefined) {
        const row = await update(db);
        return row && toRecord(row);
      }
      return db.transaction().execute(async (trx) => {
        const row = await update(trx);
        if (!row) return undefined;
        const record = toRecord(row);
        await events(kyselyWriter(trx), event, record);
        return record;
      });
    },

    async deleteImage(id, onLast) {
      // The blob's count before the image row: the order an upload takes them in (its image row names the blob), so
      // that on PostgreSQL a delete and an upload of the same bytes under the same name never wait on each other in
      // a circle (a deadlock, one of the two failing). The hash is read by the update itself, without locking the row.
      const gone = Symbol('gone');
      try {
        return await db.transaction().execute(async (trx) => {
          const blob = await trx
            .updateTable('blobs')
            .set({ ref_count: sql`ref_count - 1` })
            .where('sha256', '=', (eb) => eb.selectFrom('images').select('sha256').where('id', '=', id))
            .returning('ref_count')
            .executeTakeFirst();
          const row = await trx.deleteFrom('images').where('id', '=', id).returningAll().executeTakeFirst();
          // Deleted meanwhile by someone else: the count goes back with the rollback.
          if (!row) throw gone;
          await trx.deleteFrom('album_images').where('image_id', '=', id).execute();
          const record = toRecord(row);
          // A trashed image said image.deleted when it went to the trash. Before the bytes may go from the store:
          // a failure here rolls back a delete that has not touched them.
          if (row.trashed_at === null) await events(kyselyWriter(trx), 'image.deleted', record);
          if (blob && blob.ref_count <= 0) {
            await trx.deleteFrom('blobs').where('sha256', '=', row.sha256).execute();
            await onLast(row.sha256);
          }
          return record;
        });
      } catch (err) {
        if (err === gone) return undefined;
        throw err;
      }
    },

    async recordAttempt(attempt: UploadAttempt) {
      await writes.run((trx) => insertAttempt(sqlite ?? kyselyWriter(trx), attempt));
    },

    async failUpload(imageId, code, reason) {
      await db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('images')
          .set({ status: 'failed', error: reason.slice(0, 500), updated_at: new Date().toISOString() })
          .where('id', '=', imageId)
          .returningAll()
          .executeTakeFirst();
        if (row) await events(kyselyWriter(trx), 'image.failed', toRecord(row));
        await trx.updateTable('attempts').set({ outcome: 'failed', code, reason: reason.slice(0, 500) }).where('image_id', '=', imageId).execute();
      });
    },

    async knownBlobs(sha256s) {
      if (sha256s.length === 0) return new Set<string>();
      const rows = await db.selectFrom('blobs').select('sha256').where('sha256', 'in', sha256s).execute();
      return new Set(rows.map((r) => r.sha256));
    },

    async check() {
      await sql`SELECT 1`.execute(db);
    },

    async servingVersion() {
      const row = await db.selectFrom('serving_changes').select('version').where('id', '=', 1).executeTakeFirstOrThrow();
      return String(row.version);
    },
  };
}
