// Where a write runs: through Kysely (any database), or straight on SQLite's connection with statements prepared once.
import type { CompiledQuery, Compilable, Insertable, Kysely, SqliteDatabase, SqliteStatement } from 'kysely';
import type { Database } from './schema.js';

/** Builds queries with `q` and runs them with `run`, so the same code writes through either path. */
export interface Writer {
  readonly q: Kysely<Database>;
  run<R>(query: Compilable<R> & { execute(): Promise<R[]> }): Promise<R[]>;
  /** A query compiled already (see compiled-once.ts): its rows, or none for a statement that returns none. */
  runCompiled<R>(query: CompiledQuery<R>): Promise<R[]>;
  /** Plain inserts (no conflict clause, nothing returned): on SQLite without a query built for each. */
  insert<T extends keyof Database & string>(table: T, rows: ReadonlyArray<Insertable<Database[T]>>): Promise<void>;
}

export const kyselyWriter = (q: Kysely<Database>): Writer => ({
  q,
  run: (query) => query.execute(),
  runCompiled: async (query) => (await q.executeQuery(query)).rows,
  async insert(table, rows) {
    if (rows.length > 0) await q.insertInto(table).values(rows as never).execute();
  },
});

const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Runs Kysely's SQL on the better-sqlite3 connection itself, synchronously, skipping Kysely's executor (its async
 * connection hand-over and result plumbing cost more than the insert). Only for use while the caller holds that
 * connection through Kysely (inside its transaction), so nothing else runs on it in between.
 */
export function sqliteWriter(q: Kysely<Database>, statements: SqliteDatabase): Writer {
  /** INSERT statements by table and column list, as Kysely would write them (columns given undefined left out). */
  const inserts = new Map<string, SqliteStatement>();
  const runCompiled = async <R>({ sql, parameters }: CompiledQuery<R>): Promise<R[]> => {
    const statement = statements.prepare(sql);
    if (statement.reader) return statement.all(parameters) as R[];
    statement.run(parameters);
    return [];
  };
  return {
    q,
    async insert(table, rows) {
      for (const row of rows as ReadonlyArray<Record<string, unknown>>) {
        const columns = Object.keys(row).filter((column) => row[column] !== undefined);
        const key = `${table}\n${columns.join('\n')}`;
        let statement = inserts.get(key);
        if (!statement) {
          statement = statements.prepare(`insert into ${quoted(table)} (${columns.map(quoted).join(', ')}) values (${columns.map(() => '?').join(', ')})`);
          inserts.set(key, statement);
        }
        statement.run(columns.map((column) => row[column]));
      }
    },
    run: (query) => runCompiled(query.compile()),
    runCompiled,
  };
}
