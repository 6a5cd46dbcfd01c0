// Prepared statements kept by SQL text: Kysely's SQLite driver prepares every query anew, which cost more than running it.
import type { Database as SqliteHandle, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';
import { LRUCache } from 'lru-cache';

/**
 * Queries go through one connection one at a time (Kysely's connection mutex), so a cached statement is never
 * in use twice at once. Kysely builds the same SQL text for the same query shape, so a few hundred entries
 * cover every query the service makes; the least recently used are dropped past that.
 */
export function withStatementCache(sqlite: SqliteHandle, max = 500): SqliteDatabase {
  const statements = new LRUCache<string, Statement>({ max });
  return {
    close: () => {
      statements.clear();
      sqlite.close();
    },
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
