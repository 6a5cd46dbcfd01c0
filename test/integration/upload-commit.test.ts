// The upload use case's promises: one transaction per image with its job, the decode in the job as the last check,
// and what a crash between the bytes and the row leaves (nothing visible, and gc removes it).
import assert from 'node:assert/strict';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { fixture, makeDataDir, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { pngWithGarbledPixels } from '../helpers/damaged.js';
import { runCli, startServer } from '../helpers/processes.js';
import { SCALE } from '../helpers/scale.js';
import { waitFor } from '../helpers/wait.js';
import { uploadOne, type Image } from '../helpers/images.js';

describe('the upload use case', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ JOB_BACKOFF_MS: '10' });
  });
  after(() => t.close());

  it('accepts a PNG whose chunks are sound, then fails it in processing when its pixels do not decode, and stops serving it', async () => {
    const statsBefore = (await (await fetch(`${t.url}/api/v1/stats`, { headers: t.auth })).json()) as { failed: number };
    const image = await uploadOne(t, ['garbled.png', await pngWithGarbledPixels()]);
    assert.equal(image.status, 'processing');
    const settled = await waitFor('processing to give up on the image', async () => {
      const res = await fetch(`${t.url}/api/v1/images/${image.id}`, { headers: t.auth });
      const body = (await res.json()) as Image;
      return body.status === 'processing' ? undefined : body;
    });
    assert.equal(settled.status, 'failed');
    assert.match(String(settled.error), /cannot be decoded/);
    assert.doesNotMatch(String(settled.error), /\n|Vips/, 'the reason is one line, without libvips class names');
    // Its bytes, and any variant, are no longer served, to its owner either.
    for (const url of [image.url, `${image.url}/small`]) {
      const res = await fetch(url, { headers: t.auth });
      assert.equal(res.status, 404, url);
      assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/);
      await res.body?.cancel();
    }
    // Counted as a failed upload in the stats, with the reason.
    const stats = (await (await fetch(`${t.url}/api/v1/stats`, { headers: t.auth })).json()) as { failed: number };
    assert.equal(stats.failed, statsBefore.failed + 1);
    // Decided once: the job that found it is done, not failed after running out of tries.
    const jobs = await t.app.db.selectFrom('jobs').select(['status', 'last_error']).where('payload', '=', JSON.stringify({ imageId: image.id })).execute();
    assert.deepEqual(jobs, [{ status: 'done', last_error: null }]);
  });

  it('gives each of many concurrent uploads its own row and its own processing job', async () => {
    const photo = await readFile(fixture('jpg/gps/DSCN0010.jpg'));
    const images = await Promise.all(Array.from({ length: 24 }, (_, i) => uploadOne(t, [`burst-${i}.jpg`, photo])));
    assert.equal(new Set(images.map((i) => i.id)).size, 24);
    assert.equal(new Set(images.map((i) => i.filename)).size, 24);
    const rows = await t.app.db.selectFrom('images').select('id').where('id', 'in', images.map((i) => i.id)).execute();
    assert.equal(rows.length, 24);
    for (const image of images) {
      const jobs = await t.app.db.selectFrom('jobs').select('type').where('payload', '=', JSON.stringify({ imageId: image.id })).execute();
      assert.deepEqual(jobs, [{ type: 'image.process' }], image.filename);
    }
    // Identical bytes (GPS removed alike) are stored once, referenced by each.
    const blob = await t.app.db.selectFrom('blobs').select('ref_count').where('sha256', '=', images[0]!.sha256).executeTakeFirstOrThrow();
    assert.ok(blob.ref_count >= 24);
  });
});

describe('a crash between the stored bytes and the row', { skip: SCALE && 'embedded profile only: it holds the SQLite write lock from the test' }, () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('leaves no visible image, and imgd gc removes the bytes no row refers to', async () => {
    const dir = await makeDataDir();
    dirs.push(dir);
    const server = await startServer(dir, { AUTH_TOKEN: TOKEN });
    const photo = await readFile(fixture('jpg/orientation/landscape_3.jpg'));
    // Another writer holds the database: the upload writes its bytes, then waits to commit its row.
    const db = new SQLite(path.join(dir, 'imgd.sqlite'));
    db.exec('BEGIN IMMEDIATE');
    const form = new FormData();
    form.append('file', new Blob([photo]), 'stranded.jpg');
    const answer = fetch(`${server.url}/api/v1/images`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => undefined);
    const originals = path.join(dir, 'blobs', 'originals');
    const [blob] = await waitFor('the bytes to be stored', async () => {
      const files = (await readdir(originals, { recursive: true, withFileTypes: true }).catch(() => [])).filter((e) => e.isFile());
      return files.length > 0 ? files.map((e) => path.join(e.parentPath, e.name)) : undefined;
    });
    assert.deepEqual(await server.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
    await answer;
    db.exec('ROLLBACK');
    db.close();

    // Name-only URLs, so that the name the upload would have had is a URL to ask for.
    const restarted = await startServer(dir, { AUTH_TOKEN: TOKEN, IMAGE_URLS: 'name' });
    const list = (await (await fetch(`${restarted.url}/api/v1/images`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { items: unknown[] };
    assert.deepEqual(list.items, [], 'no image row');
    const served = await fetch(`${restarted.url}/i/stranded.jpg`);
    assert.equal(served.status, 404);
    await served.body?.cancel();
    assert.deepEqual(await restarted.stop(), { code: 0, signal: null });
    assert.ok((await stat(blob!)).isFile(), 'the bytes are still on disk');

    const gc = await runCli(['gc', '--grace', '0'], { DATA_DIR: dir, AUTH_TOKEN: TOKEN });
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /and 1 unreferenced blob\(s\)/);
    await assert.rejects(stat(blob!), { code: 'ENOENT' });
  });
});
