// Where a write runs: through Kysely (any database), or straight on SQLite's connection with statements prepared once.
import type { Compilable, Kysely } from 'kysely';
import type SQLite from 'better-sqlite3';
import type { Database } from './schema.js';

/** Builds queries with `q` and runs them with `run`, so the same code writes through either path. */
export interface Writer {
  readonly q: Kysely<Database>;
  run<R>(query: Compilable<R> & { execute(): Promise<R[]> }): Promise<R[]>;
}

export const kyselyWriter = (q: Kysely<Database>): Writer => ({ q, run: (query) => query.execute() });

/**
 * Runs Kysely's SQL on the better-sqlite3 connection itself, synchronously, skipping Kysely's executor (its async
 * connection hand-over and result plumbing cost more than the insert). Only for use while the caller holds that
 * connection through Kysely (inside its transaction), so nothing else runs on it in between.
 */
export function sqliteWriter(q: Kysely<Database>, sqlite: SQLite.Database): Writer {
  const statements = new Map<string, SQLite.Statement>();
  return {
    q,
    async run<R>(query: Compilable<R>) {
      const { sql, parameters } = query.compile();
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        statements.set(sql, statement);
      }
      if (statement.reader) return statement.all(parameters as unknown[]) as R[];
      statement.run(parameters as unknown[]);
      return [];
    },
  };
}
