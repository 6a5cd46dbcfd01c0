// Concurrent writers on one database (PostgreSQL in the scale profile): names and reference counts are decided by the database.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { fixture, makeDataDir, startApp, type TestApp } from '../helpers/app.js';
import { readAll } from '../helpers/blob-store-contract.js';
import { PROFILE, SCALE } from '../helpers/scale.js';
import type { Image } from '../helpers/images.js';
import { waitFor } from '../helpers/wait.js';

const PHOTO = fixture('jpg/orientation/landscape_6.jpg');
const UPLOADS = 20;

async function refCount(t: TestApp, sha256: string): Promise<number | undefined> {
  const row = await t.app.db.selectFrom('blobs').select('ref_count').where('sha256', '=', sha256).executeTakeFirst();
  return row === undefined ? undefined : Number(row.ref_count);
}

describe(`concurrent writers on one database (${PROFILE} profile)`, () => {
  let dir: string;
  // Scale profile: two instances on the same database, bucket and Redis prefix. Embedded: one, since two SQLite
  // connections in one process block each other (better-sqlite3 waits for a lock synchronously, stalling the event loop).
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    dir = await makeDataDir();
    a = await startApp({ RATE_LIMIT_UPLOAD: '0' }, dir);
    b = SCALE ? await startApp({ RATE_LIMIT_UPLOAD: '0' }, dir) : a;
  });
  after(async () => {
    await a.close();
    if (b !== a) await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`gives ${UPLOADS} simultaneous uploads of the same name and bytes distinct names, one blob and a reference count of ${UPLOADS}`, async () => {
    const bytes = await readFile(PHOTO);
    const answers = await Promise.all(
      Array.from({ length: UPLOADS }, (_, i) => (i % 2 === 0 ? a : b).upload([['same-name.jpg', bytes]])),
    );
    const images: Image[] = [];
    for (const res of answers) {
      assert.equal(res.status, 201, await res.clone().text());
      images.push((await res.json()) as Image);
    }
    const names = images.map((i) => i.filename);
    assert.equal(new Set(names).size, UPLOADS, `all names distinct: ${names.join(', ')}`);
    assert.ok(names.includes('same-name.jpg'), 'one upload got the name as given');
    for (const name of names) assert.match(name, /^same-name(_\d{8}T\d{12}Z)?\.jpg$/);
    const sha256 = images[0]!.sha256;
    assert.ok(images.every((i) => i.sha256 === sha256));
    assert.equal(await refCount(a, sha256), UPLOADS);
    assert.deepEqual(await a.blobKeys('originals/'), [originalKey(sha256)], 'the bytes are stored once');
    assert.deepEqual(await readAll(await b.app.store.get(originalKey(sha256))), bytes);

    // Deleting all but one at once for good (not into the trash), through both instances: the count goes down by exactly that many.
    const doomed = images.slice(1);
    const deletes = await Promise.all(
      doomed.map((image, i) => fetch(`${(i % 2 === 0 ? a : b).url}/api/v1/images/${image.id}?permanent=true`, { method: 'DELETE', headers: a.auth })),
    );
    for (const res of deletes) assert.equal(res.status, 204, await res.clone().text());
    assert.equal(await refCount(b, sha256), 1);
    assert.deepEqual(await b.blobKeys('originals/'), [originalKey(sha256)], 'the last image still has its bytes');

    // A new upload of the same bytes racing the delete of the last image: either way the bytes stay with whoever holds them.
    const [lastDelete, again] = await Promise.all([
      fetch(`${a.url}/api/v1/images/${images[0]!.id}?permanent=true`, { method: 'DELETE', headers: a.auth }),
      b.upload([['same-name.jpg', bytes]]),
    ]);
    assert.equal(lastDelete.status, 204);
    assert.equal(again.status, 201, await again.clone().text());
    const survivor = (await again.json()) as Image;
    assert.equal(await refCount(a, sha256), 1);
    const served = await fetch(`${a.url}${new URL(survivor.url).pathname}`);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);

    const stored = await a.stored();
    assert.deepEqual(stored, { images: 1, blobs: 1, temp: 0 });
  });

  it('gives simultaneous uploads of different bytes under one name distinct names', async () => {
    const files = ['jpg/gps/DSCN0010.jpg', 'jpg/gps/DSCN0012.jpg', 'jpg/gps/DSCN0021.jpg', 'jpg/gps/DSCN0025.jpg', 'jpg/gps/DSCN0027.jpg', 'jpg/gps/DSCN0029.jpg'];
    const answers = await Promise.all(
      files.map(async (file, i) => (i % 2 === 0 ? a : b).upload([['shared.jpg', await readFile(fixture(file))]])),
    );
    const names: string[] = [];
    for (const res of answers) {
      assert.equal(res.status, 201, await res.clone().text());
      names.push(((await res.json()) as Image).filename);
    }
    assert.equal(new Set(names).size, files.length, names.join(', '));
    assert.equal(names.filter((n) => n === 'shared.jpg').length, 1);
  });
});

// PostgreSQL alone: SQLite has one writer, so its transactions never wait on each other's rows.
if (SCALE) {
  describe('a delete racing an upload of the same name and bytes (PostgreSQL)', () => {
    let t: TestApp;
    before(async () => {
      t = await startApp({ RATE_LIMIT_UPLOAD: '0' });
    });
    after(() => t.close());

    it('waits for the upload instead of deadlocking with it', async () => {
      const bytes = await readFile(PHOTO);
      const first = await t.upload([['held.jpg', bytes]]);
      assert.equal(first.status, 201, await first.clone().text());
      const image = (await first.json()) as Image;

      // An upload of the same bytes held open mid-commit: it has counted its reference on the blob (the upload's
      // first step, as the image row names the blob), and is about to take the name, which the delete frees.
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let counted!: () => void;
      const blobCounted = new Promise<void>((resolve) => (counted = resolve));
      const upload = t.app.db
        .transaction()
        .execute(async (trx) => {
          await trx.updateTable('blobs').set({ ref_count: sql`ref_count + 1` }).where('sha256', '=', image.sha256).execute();
          counted();
          await held;
          await trx.selectFrom('images').select('id').where('filename', '=', 'held.jpg').forUpdate().execute();
          throw new Error('rolled back on purpose');
        })
        .catch((err: unknown) => err as Error);
      await blobCounted;
      const deletion = fetch(`${t.url}/api/v1/images/${image.id}?permanent=true`, { method: 'DELETE', headers: t.auth });
      await waitFor('the delete to wait on the upload', async () => {
        const { rows } = await sql<{ n: string }>`select count(*) as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where not l.granted and a.datname = current_database()`.execute(t.app.db);
        return Number(rows[0]!.n) > 0 ? true : undefined;
      });
      release();
      assert.equal((await upload).message, 'rolled back on purpose', 'the upload was not chosen as a deadlock victim');
      const res = await deletion;
      assert.equal(res.status, 204, await res.clone().text());
      assert.equal(await refCount(t, image.sha256), undefined, 'the last reference went, and the blob row with it');
      assert.deepEqual(await t.stored(), { images: 0, blobs: 0, temp: 0 });
    });
  });
}
