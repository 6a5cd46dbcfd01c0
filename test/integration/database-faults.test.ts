// PostgreSQL dropping imgd's connections (a restart, an administrator, a network cut) costs the requests using them a
// 503 with Retry-After and the next query a new connection, never the process.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { isOutage } from '../../src/core/outages.js';
import { openDatabase } from '../../src/db/database.js';
import { expectProblem } from '../helpers/accounts.js';
import { fixture, makeDataDir, servicesFor, startApp, startCompatApp, type TestApp } from '../helpers/app.js';
import { createDatabase, POSTGRES_URL, SCALE } from '../helpers/scale.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

/** Ends every connection to the app's database but the caller's, as `pg_terminate_backend` in a failover script would. */
async function terminateBackends(client: pg.Client, where = 'true'): Promise<number> {
  const killed = await client.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND ${where}`,
  );
  return killed.rowCount ?? 0;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Checks a 503 as every outage answers it: problem+json `unavailable` with a Retry-After in seconds. */
async function expectOutage(res: Response): Promise<void> {
  const retryAfter = res.headers.get('retry-after');
  const problem = await expectProblem(res, 503, 'unavailable');
  assert.match(retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After in seconds');
  assert.equal(problem.retry_after, Number(retryAfter));
}

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

  it('answers 503 with Retry-After to the requests whose queries were terminated in flight, keeps no row of them, and serves the next ones', async () => {
    const before = await t.stored();
    const blobRows = async (): Promise<number> => (await t.app.db.selectFrom('blobs').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    const blobsBefore = await blobRows();
    // The case above terminated every connection of the pool, idle ones too. A request handed one the pool has not yet
    // heard of fails at once, without reaching the lock below: first, as many queries at once as the pool holds, until
    // all of them succeed (the pool drops a connection whose query failed).
    await waitFor('every pooled connection to answer', async () => {
      const tries = await Promise.allSettled(Array.from({ length: 10 }, () => sql`SELECT 1`.execute(t.app.db)));
      return tries.every((r) => r.status === 'fulfilled') ? true : undefined;
    });
    // A lock held by another session keeps imgd's queries in flight, on checked-out connections, until they are ended.
    const locker = await connect(t.settings.DATABASE_URL!);
    let upload: Promise<Response>;
    let list: Promise<Response>;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE images, blobs IN ACCESS EXCLUSIVE MODE');
      const early: string[] = [];
      upload = t.upload([fixture('jpg/Reconyx_HC500_Hyperfire.jpg')]);
      list = fetch(`${t.url}/api/v1/images`, { headers: t.auth });
      void upload.then((res) => early.push(`the upload (${res.status})`), () => early.push('the upload (no answer)'));
      void list.then((res) => early.push(`the list (${res.status})`), () => early.push('the list (no answer)'));
      await waitFor('the upload and the list to wait on the lock', async () => {
        // Either one answered while the lock is held: it never reached the tables, and waiting on is pointless.
        if (early.length > 0) throw new Error(`answered before the lock was released: ${early.join(', ')}`);
        const waiting = await locker.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        return waiting.rows[0]!.n >= 2 ? true : undefined;
      });
      assert.ok((await terminateBackends(locker)) >= 2);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    await expectOutage(await upload);
    await expectOutage(await list);

    // Every backend of the database was terminated, idle ones too: as above, let those terminations reach the pool.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await fetch(`${t.url}/api/v1/images`, { headers: t.auth })).status, 200);
    assert.equal((await t.upload([fixture('jpg/orientation/portrait_4.jpg')])).status, 201);
    const now = await t.stored();
    // The refused upload's bytes, written before its row, are left to the garbage collector: no row points at them.
    assert.equal(now.images, before.images + 1, 'only the later upload has an image row');
    assert.equal(await blobRows(), blobsBefore + 1, 'and a blob row');
    assert.equal(now.temp, 0, 'no staged file left');
  });
});

describe('a PostgreSQL connection lost while checked out', { skip: !SCALE && 'scale profile only (PostgreSQL)' }, () => {
  it('fails the transaction holding it as an outage instead of ending the process, and the next query opens a new connection', async () => {
    const database = await createDatabase();
    const lost: Error[] = [];
    const db = openDatabase({ kind: 'postgres', url: database.url }, (err) => lost.push(err));
    const admin = await connect(database.url);
    try {
      const failed = await db
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx);
          // The transaction waits on other work now (as an upload's waits on the store), no query in flight: the
          // connection's 'error' event is the only news of its end.
          await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
          await waitFor('the connection to report its end', async () => (lost.length > 0 ? true : undefined));
          await sql`SELECT 1`.execute(trx);
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      assert.ok(isOutage(failed), `an outage, not a bug: ${String(failed)}`);
      assert.deepEqual((await sql<{ one: number }>`SELECT 1 AS one`.execute(db)).rows, [{ one: 1 }]);
    } finally {
      await admin.end();
      await db.destroy();
      await database.drop();
    }
  });
});

describe('PostgreSQL unreachable, then back', { skip: !SCALE && 'scale profile only (PostgreSQL)' }, () => {
  it('answers 503 with Retry-After at once, natively and in a compat profile\'s style, and serves again once it is back', async () => {
    const dir = await makeDataDir();
    const settings = await servicesFor(dir);
    const database = await startTcpProxy(settings.DATABASE_URL!);
    const t = await startCompatApp('img_handler', { DATABASE_URL: database.via(settings.DATABASE_URL!), PROCESSING: 'false' }, dir);
    try {
      const list = (): Promise<Response> => fetch(`${t.url}/api/v1/images`, { headers: t.auth });
      const seed = (): Promise<Response> => fetch(`${t.url}/image/nothing.jpg`, { headers: t.auth });
      database.cut();
      await expectOutage(await list());
      const away = await seed();
      assert.equal(away.status, 503);
      assert.equal(away.headers.get('content-type'), 'application/json');
      assert.match(away.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
      assert.deepEqual(await away.json(), { detail: 'Service Unavailable' });

      database.restore();
      assert.equal((await list()).status, 200);
      assert.equal((await seed()).status, 404);
    } finally {
      database.restore();
      await t.close();
      await database.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
