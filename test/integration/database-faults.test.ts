// PostgreSQL dropping imgd's connections (a restart, an administrator, a network cut) costs the next query a new
// connection, not the process.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { POSTGRES_URL, SCALE } from '../helpers/scale.js';

describe('PostgreSQL terminating the pooled connections', { skip: !SCALE && 'scale profile only (PostgreSQL)' }, () => {
  let t: TestApp;

  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('goes on answering, and storing, once the server has terminated every idle connection', async () => {
    assert.equal((await t.upload([fixture('jpg/Nikon_D70.jpg')])).status, 201);
    // Several requests at once, so the pool holds several idle connections.
    await Promise.all(Array.from({ length: 5 }, async () => assert.equal((await fetch(`${t.url}/api/v1/images`, { headers: t.auth })).status, 200)));
    const database = new URL(t.settings.DATABASE_URL!).pathname.slice(1);
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
      assert.ok(killed.rowCount! > 0, 'imgd had connections to terminate');
    } finally {
      await admin.end();
    }
    // Let the terminations reach the idle connections (each an 'error' event in the pool).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const list = await fetch(`${t.url}/api/v1/images`, { headers: t.auth });
    assert.equal(list.status, 200);
    assert.equal((await t.upload([fixture('jpg/Canon_40D.jpg')])).status, 201);
    assert.equal((await t.stored()).images, 2);
  });
});
