// Opens the metadata database: embedded SQLite by default, PostgreSQL when DATABASE_URL says so.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, SqliteDriver, type Driver, type SqliteDatabase, type SqliteDialectConfig, type SqliteStatement } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from './schema.js';
import { arrayRowPool, rowBuilder } from './row-objects.js';
import { withStatementCache } from './statement-cache.js';
import { checkpointInBackground } from './wal-checkpoints.js';

export type Db = Kysely<Database>;

/** The better-sqlite3 connection behind an embedded database, for statements run while Kysely holds it. */
const sqliteHandles = new WeakMap<Db, SQLite.Database>();
export const sqliteHandle = (db: Db): SQLite.Database | undefined => sqliteHandles.get(db);

/**
 * The statements Kysely itself runs on that connection (prepared once by SQL text, rows as plain objects), for code
 * that runs SQL on it directly: one cache of prepared statements per database, not one per caller.
 */
const sqliteConnections = new WeakMap<Db, SqliteDatabase>();
export const sqliteStatements = (db: Db): SqliteDatabase | undefined => sqliteConnections.get(db);

let postgresDriver: typeof pg | undefined;

/**
 * The PostgreSQL driver, loaded when a PostgreSQL database is first opened: the embedded default never loads it (about
 * 80 ms of start-up). `require`, so that opening a database stays synchronous.
 */
function loadPostgresDriver(): typeof pg {
  if (postgresDriver) return postgresDriver;
  const driver = createRequire(import.meta.url)('pg') as typeof pg;
  // PostgreSQL sends BIGINT and NUMERIC as strings; every one of ours fits a JS number.
  driver.types.setTypeParser(driver.types.builtins.INT8, (v) => Number(v));
  driver.types.setTypeParser(driver.types.builtins.NUMERIC, (v) => Number(v));
  postgresDriver = driver;
  return driver;
}

/** How long a query waits for a connection (a new one, or a free one of the pool) before it fails as an outage. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * `onConnectionLost` hears of PostgreSQL connections that broke (a server restart, a terminated backend, a failover,
 * `idle_session_timeout`, a network cut), idle or in use. pg emits `error` on the broken client; the pool listens
 * only while a client is idle and Kysely not at all while one is checked out, and an `error` nobody hears ends the
 * process. So every client gets a listener for its whole life, from the pool's `connect` event. The query in flight
 * (if any) fails on its own with the same error, and the pool drops the broken client when it comes back: the next
 * query opens a new connection.
 */
export function openDatabase(
  database: Config['database'],
  onConnectionLost: (err: Error) => void = () => undefined,
  /** Embedded: the WAL checkpoint thread failed (commits checkpoint by themselves, as SQLite does by default). */
  onCheckpointFailure: (err: Error) => void = () => undefined,
): Db {
  if (database.kind === 'postgres') {
    const pool = new (loadPostgresDriver().Pool)({ connectionString: database.url, max: 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
    pool.on('connect', (client) => client.on('error', onConnectionLost));
    // The pool re-emits an idle client's error here; the client's own listener has already reported it.
    pool.on('error', () => undefined);
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool: arrayRowPool(pool) }) });
  }
  mkdirSync(path.dirname(database.file), { recursive: true });
  const sqlite = new SQLite(database.file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: a row the client was told about survives a power cut, like the blob it points to.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // Statement journals in memory: every insert that can fail part-way (a trigger, an upsert, a savepoint of the
  // group commit) journals the pages it touches, by default to a temporary file: 60-70 pwrite calls per upload.
  // Not a durability setting: the WAL and its fsync at COMMIT are unchanged.
  sqlite.pragma('temp_store = MEMORY');
  const checkpoints = checkpointInBackground(database.file, onCheckpointFailure);
  const connection = withRollbackAfterAbort(withPlainRows(withStatementCache(sqlite)), sqlite);
  const config: SqliteDialectConfig = { database: { prepare: (sql) => connection.prepare(sql), close: () => connection.close() } };
  const db = new Kysely<Database>({ dialect: new SqliteDialectClosingAfter(config, () => checkpoints.stop()) });
  sqliteHandles.set(db, sqlite);
  sqliteConnections.set(db, connection);
  return db;
}

/**
 * Kysely's SQLite dialect, whose `destroy()` first waits for `before` (the checkpoint thread closing its connection).
 * Closed that way, the server's connection is the last one: its close checkpoints and removes the -wal and -shm files
 * before `destroy()` returns. Before, the thread closed after it, so those files were still being written and removed
 * once the caller went on (a test removing its directory then failed with ENOTEMPTY).
 */
class SqliteDialectClosingAfter extends SqliteDialect {
  constructor(
    private readonly config: SqliteDialectConfig,
    private readonly before: () => Promise<void>,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    const before = this.before;
    return new (class extends SqliteDriver {
      override async destroy(): Promise<void> {
        await before();
        await super.destroy();
      }
    })(this.config);
  }
}

/**
 * SQLite ends a transaction by itself on some errors (SQLITE_FULL on a full disk, SQLITE_IOERR, SQLITE_NOMEM). Kysely's
 * ROLLBACK after it then failed with "cannot rollback - no transaction is active", and that error reached the caller
 * instead of the one that said what happened (a full disk answered 500, not 507). A ROLLBACK with no transaction
 * left to end does nothing here.
 */
function withRollbackAfterAbort(database: SqliteDatabase, sqlite: SQLite.Database): SqliteDatabase {
  return {
    close: () => database.close(),
    prepare(sql: string) {
      const statement = database.prepare(sql);
      if (sql.trim().toLowerCase() !== 'rollback') return statement;
      return {
        reader: false,
        all: (parameters) => statement.all(parameters),
        iterate: (parameters) => statement.iterate(parameters),
        run: (parameters) => (sqlite.inTransaction ? statement.run(parameters) : { changes: 0, lastInsertRowid: 0 }),
      };
    },
  };
}

/**
 * Rows as plain objects built in JavaScript from better-sqlite3's arrays (raw mode). better-sqlite3 builds each row
 * object natively, one property at a time and interning every column name again for every row, into a slow
 * dictionary-mode object: for a page of 51 images of 22 columns that was about 0.4 ms and 165 KB of garbage per list
 * request, most of the query's cost. Raw arrays and one object literal per statement take about half the time and
 * make ordinary (fast-property) objects with the same keys in the same order.
 */
function withPlainRows(database: SqliteDatabase): SqliteDatabase {
  const readers = new WeakMap<SqliteStatement, SqliteStatement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      const statement = database.prepare(sql) as SqliteStatement & Pick<SQLite.Statement, 'raw' | 'columns'>;
      if (!statement.reader) return statement;
      let reader = readers.get(statement);
      if (!reader) {
        reader = plainRowReader(statement);
        readers.set(statement, reader);
      }
      return reader;
    },
  };
}

function plainRowReader(statement: SqliteStatement & Pick<SQLite.Statement, 'raw' | 'columns'>): SqliteStatement {
  // A name such as __proto__ would not become an own property in a literal; leave such statements as they are.
  const toObject = rowBuilder(statement.columns().map((column) => column.name));
  if (!toObject) return statement;
  statement.raw(true);
  return {
    reader: true,
    all(parameters) {
      const rows = statement.all(parameters) as unknown[][];
      const out = new Array<Record<string, unknown>>(rows.length);
      for (let i = 0; i < rows.length; i += 1) out[i] = toObject(rows[i]!);
      return out;
    },
    run: (parameters) => statement.run(parameters),
    *iterate(parameters) {
      for (const row of statement.iterate(parameters) as IterableIterator<unknown[]>) yield toObject(row);
    },
  };
}

/** True when err is a unique-constraint violation, on either database. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
