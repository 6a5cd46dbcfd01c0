// Queries compiled once: the same SQL and parameters as a query built anew for the values, on either dialect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, sql } from 'kysely';
import { compiledOnce, compiledOnceForRow } from '../../src/db/compiled-once.js';
import type { Database, ImagesTable } from '../../src/db/schema.js';

const dialects = {
  sqlite: new Kysely<Database>({
    dialect: { createAdapter: () => new SqliteAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new SqliteIntrospector(db), createQueryCompiler: () => new SqliteQueryCompiler() },
  }),
  postgres: new Kysely<Database>({
    dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => new DummyDriver(), createIntrospector: (db) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() },
  }),
};

for (const [name, db] of Object.entries(dialects)) {
  describe(`compiledOnce (${name})`, () => {
    it('builds once and answers what a query built for the values would', () => {
      let built = 0;
      const query = (sha256: string, bytes: number) => db.selectFrom('blobs').select('ref_count').where('sha256', '=', sha256).where('bytes', '>', bytes).limit(1);
      const once = compiledOnce((sha256: string, bytes: number) => {
        built += 1;
        return query(sha256, bytes);
      });
      for (const [sha256, bytes] of [['a', 1], ['b', 2], ["c'; drop table blobs", 3]] as const) {
        const fresh = query(sha256, bytes).compile();
        const compiled = once(sha256, bytes);
        assert.equal(compiled.sql, fresh.sql);
        assert.deepEqual(compiled.parameters, fresh.parameters);
      }
      assert.equal(built, 1);
    });

    it('fills an insert from each row, its constant values kept', () => {
      const build = (row: Pick<ImagesTable, 'id' | 'filename'>) =>
        db.insertInto('images').values(row as never).onConflict((oc) => oc.column('filename').doUpdateSet({ updated_at: sql`'now'` })).returning('id');
      const once = compiledOnceForRow(build);
      for (const row of [{ id: 'x1', filename: 'a.jpg' }, { id: 'x2', filename: 'b.jpg' }]) {
        const fresh = build(row).compile();
        assert.equal(once(row).sql, fresh.sql);
        assert.deepEqual(once(row).parameters, fresh.parameters);
      }
    });

    it('refuses a build that uses an argument for anything but a value of the query', () => {
      // The second argument decides the shape: compiled once, every call would get the first call's shape.
      const once = compiledOnce((id: string, trashed: boolean) => {
        const q = db.selectFrom('images').select('id').where('id', '=', id);
        return trashed ? q.where('trashed_at', 'is not', null) : q;
      });
      assert.throws(() => once('x', true), /argument 1 is not a parameter/);
    });
  });
}
