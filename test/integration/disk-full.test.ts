// A full disk, for real (a small tmpfs over the folder): uploads answer 507 insufficient_storage with Retry-After and keep
// nothing, readiness reports the disk, jobs wait until space is made, and everything works again once it is.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { sqliteHandle } from '../../src/db/database.js';
import { createLogger } from '../../src/logging.js';
import { fixture, makeDataDir, startApp, startCompatApp, TOKEN, type TestApp } from '../helpers/app.js';
import { send, watchReads } from '../helpers/raw-body.js';
import { SCALE } from '../helpers/scale.js';
import { mountTmpfs, tmpfsUnavailable, type Tmpfs } from '../helpers/tmpfs.js';
import { waitFor } from '../helpers/wait.js';

const skip = await tmpfsUnavailable();
const embeddedOnly = skip || (SCALE && 'embedded profile only: the scale profile keeps blobs in S3 and rows in PostgreSQL');
const SMALL = fixture('jpg/Canon_40D.jpg');
/** Settings of every app here: readiness wants 256 KiB free, within what a 2 MiB tmpfs has once emptied. */
const ENV = { MIN_FREE_DISK: '256KB' };

/** A JPEG of noise, over 1 MB: too large to be held in memory, so it is staged on disk as it arrives. */
const noisyJpeg = (): Promise<Buffer> =>
  sharp(randomBytes(900 * 900 * 3), { raw: { width: 900, height: 900, channels: 3 } })
    .jpeg({ quality: 100 })
    .toBuffer();

interface Problem {
  code: string;
  status: number;
  retry_after: number;
}

/** 507 insufficient_storage as problem+json, with Retry-After in the header and the body. */
async function expectNoSpace(res: Response): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 507, text);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const problem = JSON.parse(text) as Problem;
  assert.equal(problem.code, 'insufficient_storage');
  assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
  assert.equal(problem.retry_after, Number(res.headers.get('retry-after')));
}

const put = (t: TestApp, name: string, bytes: Uint8Array): Promise<Response> =>
  fetch(`${t.url}/api/v1/images?filename=${name}`, { method: 'PUT', body: bytes, headers: t.auth });

interface Readiness {
  status: string;
  checks: { disk: { ok: boolean; error?: string } };
}

async function readiness(t: TestApp): Promise<{ code: number; body: Readiness }> {
  const res = await fetch(`${t.url}/readyz`);
  return { code: res.status, body: (await res.json()) as Readiness };
}

/** Files below dir, as paths relative to it; the tmpfs filler left out. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && e.name !== 'filler')
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/**
 * An app whose folder `mounted` (relative to its data dir; '.' for the data dir itself) is a tmpfs of `size`, filled
 * to the last byte once the app has started (and `ready` has run). Unmounted, and the data dir removed, after the tests.
 */
function onFullDisk(mounted: string, size: string, start: (dataDir: string) => Promise<TestApp>, ready?: (t: TestApp) => void) {
  const setup = {} as { dataDir: string; tmpfs: Tmpfs; t: TestApp };
  before(async () => {
    setup.dataDir = await makeDataDir();
    setup.tmpfs = await mountTmpfs(path.join(setup.dataDir, mounted), size);
    setup.t = await start(setup.dataDir);
    ready?.(setup.t);
    await setup.tmpfs.fill();
  });
  after(async () => {
    await setup.t?.close();
    // libvips keeps the originals it decoded mapped in its operation cache: dropped, or the tmpfs stays busy.
    sharp.cache(false);
    await setup.tmpfs?.unmount();
    await rm(setup.dataDir, { recursive: true, force: true });
  });
  return setup;
}

describe('the staging folder full (DATA_DIR/tmp on a 2 MiB tmpfs)', { skip }, () => {
  const setup = onFullDisk('tmp', '2m', (dataDir) => startApp(ENV, dataDir));
  let noise: Buffer;
  before(async () => {
    noise = await noisyJpeg();
  });

  const nothingKept = async (): Promise<void> => {
    const stored = await setup.t.stored();
    assert.equal(stored.images, 0);
    assert.equal(stored.blobs, 0);
    assert.deepEqual(await filesIn(setup.tmpfs.dir), [], 'no staged file is left');
  };

  it('refuses an upload that must be staged with 507 insufficient_storage and Retry-After, and keeps nothing (multipart and raw PUT)', async () => {
    await expectNoSpace(await setup.t.upload([['noise.jpg', noise]]));
    await nothingKept();
    await expectNoSpace(await put(setup.t, 'noise.jpg', noise));
    await nothingKept();
  });

  it('answers 507 while the body is still arriving, and closes the connection instead of reading the rest', async () => {
    const boundary = 'imgd-disk-full';
    const sent = await send(setup.t, watchReads(setup.t), {
      method: 'POST',
      path: '/api/v1/images',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      framing: 'length',
      declared: 16 * 1024 * 1024,
      start: Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="noise.jpg"\r\n\r\n`), noise]),
    });
    assert.equal(sent.status, 507, sent.body);
    assert.equal((JSON.parse(sent.body) as Problem).code, 'insufficient_storage');
    assert.equal(sent.headers.connection, 'close');
    assert.equal(sent.sentAll, false, 'the connection closed before the body ended');
    await nothingKept();
  });

  it('answers 507 to a client that paused mid-upload, without waiting for it to send more', async () => {
    const boundary = 'imgd-disk-full-slow';
    const { port, hostname } = new URL(setup.t.url);
    const socket = net.connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="noise.jpg"\r\n\r\n`;
    socket.write(
      `POST /api/v1/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + noise.length}\r\n\r\n${head}`,
    );
    // A first part of the file, then nothing: past 100 ms an upload goes to disk, which has no room.
    socket.write(noise.subarray(0, 64 * 1024));
    await waitFor('the answer to the paused upload', async () => (answer.includes('\r\n\r\n{') ? true : undefined));
    assert.match(answer, /^HTTP\/1\.1 507 /);
    assert.match(answer, /"code":"insufficient_storage"/);
    socket.destroy();
    await nothingKept();
  });

  it('reports the disk in /readyz, and is ready again once space is made and an upload is stored', async () => {
    const full = await readiness(setup.t);
    assert.equal(full.code, 503);
    assert.equal(full.body.checks.disk.ok, false);
    assert.match(full.body.checks.disk.error ?? '', /no space left|bytes free/);
    await setup.tmpfs.free();
    const res = await setup.t.upload([['noise.jpg', noise]]);
    assert.equal(res.status, 201, await res.clone().text());
    const ready = await readiness(setup.t);
    assert.equal(ready.code, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.checks.disk.ok, true);
    assert.deepEqual(await filesIn(setup.tmpfs.dir), [], 'the staged file of the stored upload is gone too');
  });
});

describe('the blob folder full (DATA_DIR/blobs on a 2 MiB tmpfs)', { skip: embeddedOnly }, () => {
  const setup = onFullDisk('blobs', '2m', (dataDir) => startCompatApp('img_handler,s3_upload', ENV, dataDir));

  const nothingKept = async (): Promise<void> => {
    assert.deepEqual(await setup.t.stored(), { images: 0, blobs: 0, temp: 0 });
    assert.deepEqual(await filesIn(setup.tmpfs.dir), [], 'no blob and no partial file are left');
  };

  it('refuses uploads held in memory with 507 and Retry-After when the store cannot write their bytes, and keeps nothing', async () => {
    const small = await readFile(SMALL);
    await expectNoSpace(await setup.t.upload([['small.jpg', small]]));
    await nothingKept();
    await expectNoSpace(await put(setup.t, 'small.jpg', small));
    await nothingKept();
    // Several files in one request: the request fails as a whole, as for an outage.
    await expectNoSpace(await setup.t.upload([SMALL, fixture('jpg/Nikon_D70.jpg'), fixture('jpg/gps/DSCN0012.jpg')]));
    await nothingKept();
  });

  it('answers the profiles with 507 and Retry-After in their seed style, not 400 or 500', async () => {
    const small = await readFile(SMALL);
    const form = new FormData();
    form.append('file', new Blob([small], { type: 'image/jpeg' }), 'small.jpg');
    for (const url of [`${setup.t.url}/upload-image`, `${setup.t.url}/upload/user1`]) {
      const res = await fetch(url, { method: 'POST', body: form, headers: setup.t.auth });
      assert.equal(res.status, 507, `${url}: ${await res.clone().text()}`);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
      assert.match(await res.text(), /Insufficient [Ss]torage/);
      await nothingKept();
    }
  });

  it('reports the disk in /readyz, and takes uploads again once space is made', async () => {
    const full = await readiness(setup.t);
    assert.equal(full.code, 503);
    assert.equal(full.body.checks.disk.ok, false);
    await setup.tmpfs.free();
    const res = await setup.t.upload([SMALL]);
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal((await readiness(setup.t)).code, 200);
  });
});

describe('the database folder full (DATA_DIR on a tmpfs, blobs elsewhere)', { skip: embeddedOnly }, () => {
  let blobDir: string;
  const setup = onFullDisk(
    '.',
    '8m',
    async (dataDir) => {
      blobDir = await makeDataDir();
      return startApp({ ...ENV, STORAGE_DIR: blobDir }, dataDir);
    },
    // An empty write-ahead log: the next write must grow it, on the full disk.
    (t) => sqliteHandle(t.app.db)!.pragma('wal_checkpoint(TRUNCATE)'),
  );
  after(() => rm(blobDir, { recursive: true, force: true }));

  it('refuses an upload whose row cannot be written with 507, and removes the bytes it had stored', async () => {
    await expectNoSpace(await setup.t.upload([SMALL]));
    assert.deepEqual(await filesIn(blobDir), [], 'no blob without a row');
    assert.deepEqual(await filesIn(path.join(setup.dataDir, 'tmp')), []);
    await setup.tmpfs.free();
    const res = await setup.t.upload([SMALL]);
    assert.equal(res.status, 201, await res.clone().text());
    assert.deepEqual(await setup.t.stored(), { images: 1, blobs: 1, temp: 0 });
  });
});

describe('jobs on a full disk (variants on a 4 MiB tmpfs)', { skip: embeddedOnly }, () => {
  let dataDir: string;
  let tmpfs: Tmpfs;
  let t: TestApp | undefined;
  const lines: string[] = [];
  before(async () => {
    dataDir = await makeDataDir();
    tmpfs = await mountTmpfs(path.join(dataDir, 'blobs'), '4m');
  });
  after(async () => {
    await t?.close();
    // libvips keeps the originals it decoded mapped in its operation cache: drop it, or the tmpfs stays busy.
    sharp.cache(false);
    await tmpfs?.unmount();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('wait while no variant can be written, spend no attempt on it, and finish the image once space is made', async () => {
    // Taken with no worker running, so its job waits in the outbox until the disk is full.
    const taker = await startApp({ ...ENV, RUN_WORKERS: 'false' }, dataDir);
    const res = await taker.upload([SMALL]);
    assert.equal(res.status, 201, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    await taker.close();
    await tmpfs.fill();

    const logger = createLogger('warn', { write: (line: string) => void lines.push(line) });
    t = await startApp({ ...ENV, JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '100' }, dataDir, { logger });
    const image = async (): Promise<{ status: string; variants: Record<string, string> }> =>
      (await (await fetch(`${t!.url}/api/v1/images/${id}`, { headers: t!.auth })).json()) as { status: string; variants: Record<string, string> };
    // More tries than JOB_ATTEMPTS: a failure for lack of space spends none.
    await waitFor('three tries that found no space', async () => (lines.filter((l) => l.includes('job waits for a dependency')).length >= 3 ? true : undefined), 30_000);
    assert.equal((await image()).status, 'processing');
    const full = await readiness(t);
    assert.equal(full.body.checks.disk.ok, false);

    await tmpfs.free();
    const done = await waitFor('the image to be ready', async () => {
      const current = await image();
      return current.status === 'processing' ? undefined : current;
    }, 30_000);
    assert.equal(done.status, 'ready');
    const variant = await fetch(Object.values(done.variants)[0]!);
    assert.equal(variant.status, 200);
    assert.ok((await variant.arrayBuffer()).byteLength > 0);
  });
});
