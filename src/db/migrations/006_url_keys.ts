// Image URLs carry a random key beside the name (`/i/<key>/<filename>`): one unique key per image, and every image
// already stored gets one here, so its keyed URL works at once.
import { sql, SqliteAdapter, type Kysely } from 'kysely';
import { newUrlKey } from '../../core/ids.js';

/** Rows given their key per UPDATE: two bound values each, well under SQLite's and PostgreSQL's limits. */
const BATCH = 1000;

export async function up(db: Kysely<unknown>): Promise<void> {
  // '' only until the loop below replaces it; NOT NULL from the start because SQLite cannot add it to a column later.
  await db.schema.alterTable('images').addColumn('url_key', 'text', (c) => c.notNull().defaultTo('')).execute();
  let after = '';
  for (;;) {
    const page = await sql<{ id: string }>`SELECT id FROM images WHERE id > ${after} ORDER BY id LIMIT ${BATCH}`.execute(db);
    if (page.rows.length === 0) break;
    const ids = page.rows.map((r) => r.id);
    // VALUES names its columns column1, column2 on SQLite and PostgreSQL alike.
    const pairs = sql.join(ids.map((id) => sql`(${id}, ${newUrlKey()})`));
    const last = ids.at(-1)!;
    // The id range lets PostgreSQL read just this page's rows by the primary key rather than scan the table per page.
    await sql`UPDATE images SET url_key = v.column2 FROM (VALUES ${pairs}) AS v
      WHERE images.id = v.column1 AND images.id > ${after} AND images.id <= ${last}`.execute(db);
    after = last;
  }
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) await sql`ALTER TABLE images ALTER COLUMN url_key DROP DEFAULT`.execute(db);
  await db.schema.createIndex('images_url_key').on('images').column('url_key').unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('images_url_key').execute();
  await db.schema.alterTable('images').dropColumn('url_key').execute();
}
