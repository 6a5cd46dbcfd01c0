// Row objects built in JavaScript from a driver's arrays: one object literal per column list, fast properties.
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { LRUCache } from 'lru-cache';
import type pg from 'pg';

export type RowBuilder = (row: readonly unknown[]) => Record<string, unknown>;

/**
 * A function making `{ name0: row[0], name1: row[1], ... }`, or undefined when a name cannot be an own property of a
 * literal (`__proto__`). Later duplicates win, as in the drivers' own objects.
 */
export function rowBuilder(names: readonly string[]): RowBuilder | undefined {
  if (names.some((name) => name === '__proto__')) return undefined;
  const fields = names.map((name, i) => `${JSON.stringify(name)}: row[${i}]`).join(', ');
  return new Function('row', `return { ${fields} };`) as RowBuilder;
}

/**
 * A pool whose clients run Kysely's queries with pg's array rows, made into objects by rowBuilder. pg builds each row
 * object by spreading a template and setting every column again; for a page of 51 images of 22 columns that was most
 * of the JavaScript cost of a list request (S7) after the query itself.
 */
export function arrayRowPool(pool: pg.Pool): PostgresPool {
  // Kysely makes the same SQL for the same query shape: the column lists are few. False: no builder for that list.
  const builders = new LRUCache<string, RowBuilder | false>({ max: 500 });
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const toObjects = (result: pg.QueryArrayResult): unknown[] => {
    if (result.fields.length === 0) return result.rows;
    const key = result.fields.map((field) => field.name).join('\n');
    let build = builders.get(key);
    if (build === undefined) {
      build = rowBuilder(result.fields.map((field) => field.name)) ?? false;
      builders.set(key, build);
    }
    if (!build) return result.rows.map((row) => Object.fromEntries(result.fields.map((field, i) => [field.name, row[i]])));
    const out = new Array<Record<string, unknown>>(result.rows.length);
    for (let i = 0; i < result.rows.length; i += 1) out[i] = build(result.rows[i]!);
    return out;
  };
  return {
    async connect() {
      const client = await pool.connect();
      let kysely = wrapped.get(client);
      if (!kysely) {
        const query = async (sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<unknown>> => {
          const result = await client.query({ text: sql, values: [...parameters], rowMode: 'array' });
          return { command: result.command as PostgresQueryResult<unknown>['command'], rowCount: result.rowCount ?? 0, rows: toObjects(result) };
        };
        // Kysely passes SQL text and parameters (a cursor only when the dialect is given one, which it is not).
        kysely = { query, release: () => client.release() } as PostgresPoolClient;
        wrapped.set(client, kysely);
      }
      return kysely;
    },
    end: () => pool.end(),
  };
}
