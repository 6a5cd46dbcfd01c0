// Whole-table reads and writes for `imgd export` / `import`: every table, the same rows on SQLite and PostgreSQL.
import { type Kysely, type Transaction } from 'kysely';
import type { Db } from './database.js';
import type { Database } from './schema.js';

type AnyDb = Db | Transaction<Database>;
export type Row = Record<string, unknown>;
/** The tables are only known at run time here (whatever the migrations made). */
type Untyped = Kysely<Record<string, Row>>;
const untyped = (db: AnyDb): Untyped => db as unknown as Untyped;

/**
 * Tables others refer to come first, so that rows go in without breaking a foreign key. The numbers of images and
 * users go in before them: their insert triggers then keep the numbers the archive carries (migration 005).
 */
const FIRST = ['image_numbers', 'user_numbers', 'users', 'blobs', 'images'];
/** The column each table is read in order of (keyset pages, never OFFSET); 'id' unless named here. */
const KEYS: Record<string, string> = { blobs: 'sha256', image_numbers: 'number', user_numbers: 'number' };
/**
 * Not carried by an archive: unfinished resumable uploads (their staged bytes are not archived; clients start them
 * again), Idempotency-Key answers (a retry against the new deployment is a new request) and browser sessions (people
 * sign in again), and the counter of serving changes (each database keeps its own).
 */
const TRANSIENT = new Set(['resumable_uploads', 'resumable_upload_parts', 'idempotency_keys', 'browser_sessions', 'serving_changes']);
const PAGE = 1000;
/** Rows per INSERT: well under SQLite's and PostgreSQL's limits on bound values. */
const INSERT_BATCH = 100;

/** The tables imgd keeps (its migration bookkeeping left out), parents first. */
export async function dataTables(db: AnyDb): Promise<string[]> {
  const tables = (await db.introspection.getTables()).map((t) => t.name).filter((name) => !name.startsWith('imgd_migrations') && !TRANSIENT.has(name));
  const rank = (name: string): number => (FIRST.includes(name) ? FIRST.indexOf(name) : FIRST.length);
  return tables.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Every row of a table, a page at a time. */
export async function* tableRows(db: AnyDb, table: string): AsyncGenerator<Row> {
  const key = KEYS[table] ?? 'id';
  let after: unknown;
  for (;;) {
    let query = untyped(db).selectFrom(table).selectAll().orderBy(key).limit(PAGE);
    if (after !== undefined) query = query.where(key, '>', after);
    const rows = await query.execute();
    yield* rows;
    if (rows.length < PAGE) return;
    after = rows.at(-1)![key];
  }
}

export async function rowCount(db: AnyDb, table: string): Promise<number> {
  const row = await untyped(db).selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Inserts rows into a table in batches. */
export async function insertRows(db: AnyDb, table: string, rows: AsyncIterable<Row>): Promise<number> {
  let batch: Row[] = [];
  let count = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await untyped(db).insertInto(table).values(batch).execute();
    count += batch.length;
    batch = [];
  };
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= INSERT_BATCH) await flush();
  }
  await flush();
  return count;
}

/** Names of the migrations applied to this database, oldest first. */
export async function appliedMigrations(db: AnyDb): Promise<string[]> {
  const rows = await untyped(db).selectFrom('imgd_migrations').select('name').orderBy('name').execute();
  return rows.map((r) => String(r.name));
}
