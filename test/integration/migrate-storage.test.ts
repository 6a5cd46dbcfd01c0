// `imgd migrate-storage`: every blob from disk to S3 (s3rver) and back, checked by SHA-256, resumable, loud about damage.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { BlobStore } from '../../src/core/storage/blob-store.js';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { createFsStore } from '../../src/store/fs.js';
import { createS3Store } from '../../src/store/s3.js';
import { fixture, makeDataDir, startApp } from '../helpers/app.js';
import { readAll } from '../helpers/blob-store-contract.js';
import { runCli } from '../helpers/processes.js';
import { S3RVER_KEY, startS3rver, type FakeS3 } from '../helpers/s3rver.js';
import type { Image } from '../helpers/images.js';

const BUCKET = 'imgd-migrate';
const PHOTOS = ['jpg/Canon_40D.jpg', 'jpg/Nikon_D70.jpg', 'tiff/Arbitro.tiff'].map(fixture);

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

async function contents(store: BlobStore): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for await (const blob of store.list('')) found.set(blob.key, sha256(await readAll(await store.get(blob.key))));
  return found;
}

async function bytesAt(url: string): Promise<Buffer> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  return Buffer.from(await res.arrayBuffer());
}

describe('imgd migrate-storage', () => {
  let s3: FakeS3;
  let dir: string;
  let images: Image[];
  /** Bytes the disk-backed app served: originals and one variant of each image. */
  const served = new Map<string, Buffer>();
  const cleanup: string[] = [];

  /** The S3_* settings for a key prefix of its own, so each test starts from an empty target. */
  const s3Env = (prefix: string): Record<string, string> => ({
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY_ID: S3RVER_KEY,
    S3_SECRET_ACCESS_KEY: S3RVER_KEY,
    S3_FORCE_PATH_STYLE: 'true',
    S3_PREFIX: prefix,
  });
  const s3Store = (prefix: string): BlobStore =>
    createS3Store({ bucket: BUCKET, endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY, forcePathStyle: true, prefix });
  const diskStore = (): BlobStore => createFsStore(path.join(dir, 'blobs'));

  before(async () => {
    s3 = await startS3rver([BUCKET]);
    dir = await makeDataDir();
    cleanup.push(dir);
    const t = await startApp({ STORAGE: 'fs' }, dir);
    images = [];
    for (const photo of PHOTOS) {
      const res = await t.upload([photo]);
      assert.equal(res.status, 201, await res.clone().text());
      images.push((await res.json()) as Image);
    }
    await t.stored(); // processing has written the preset variants
    for (const image of images) {
      served.set(image.url, await bytesAt(image.url));
      served.set(image.variants.small!, await bytesAt(image.variants.small!));
    }
    await t.close();
  });
  after(async () => {
    await s3.close();
    await Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('refuses bad flags and a missing or identical target, naming the problem, and copies nothing', async () => {
    const base = { DATA_DIR: dir, STORAGE: 'fs' };
    const noTo = await runCli(['migrate-storage'], base);
    assert.notEqual(noTo.code, 0);
    assert.match(noTo.stderr, /--to <kind>/);
    const wrongKind = await runCli(['migrate-storage', '--to', 'gcs'], base);
    assert.notEqual(wrongKind.code, 0);
    assert.match(wrongKind.stderr, /gcs.*(invalid|choices)|Allowed choices are s3, fs/i);
    const same = await runCli(['migrate-storage', '--to', 'fs'], base);
    assert.equal(same.code, 2);
    assert.match(same.stderr, /already on fs/);
    const noBucket = await runCli(['migrate-storage', '--to', 's3'], base);
    assert.equal(noBucket.code, 2);
    assert.match(noBucket.stderr, /target store is not configured: .*S3_BUCKET/);
    const badConcurrency = await runCli(['migrate-storage', '--to', 's3', '--concurrency', 'many'], { ...base, ...s3Env('never') });
    assert.equal(badConcurrency.code, 2);
    assert.match(badConcurrency.stderr, /--concurrency/);
    assert.equal((await contents(s3Store('never'))).size, 0);
  });

  it('copies every original and variant to S3, and the app on STORAGE=s3 serves the same bytes without the local copies', async () => {
    const source = await contents(diskStore());
    assert.ok([...source.keys()].some((k) => k.startsWith('variants/')), 'the source has cached variants');
    const run = await runCli(['migrate-storage', '--to', 's3'], { DATA_DIR: dir, ...s3Env('moved') });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`summary: ${source.size} blob\\(s\\): ${source.size} copied .* 0 already in the target, ${images.length} original\\(s\\) checked by SHA-256, 0 problem`));
    assert.match(run.stdout, /progress: /);
    assert.match(run.stdout, /set STORAGE=s3/);
    assert.deepEqual(await contents(s3Store('moved')), source, 'same keys, same bytes');

    // A second run finds everything there.
    const again = await runCli(['migrate-storage', '--to', 's3'], { DATA_DIR: dir, ...s3Env('moved') });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`${source.size} blob\\(s\\): 0 copied .* ${source.size} already in the target`));

    // The app on S3, with the local blobs moved out of the way.
    const aside = `${dir}-blobs-aside`;
    cleanup.push(aside);
    await rm(aside, { recursive: true, force: true });
    await rename(path.join(dir, 'blobs'), aside);
    try {
      const t = await startApp({ STORAGE: 's3', ...s3Env('moved') }, dir);
      try {
        const before = (await (await fetch(`${t.url}/metrics`)).text()).match(/^imgd_variants_rendered_total\{.*$/gm) ?? [];
        for (const [url, bytes] of served) {
          const now = url.replace(/^http:\/\/[^/]+/, t.url);
          assert.ok((await bytesAt(now)).equals(bytes), `${now} serves the same bytes`);
        }
        const afterScrape = (await (await fetch(`${t.url}/metrics`)).text()).match(/^imgd_variants_rendered_total\{.*$/gm) ?? [];
        assert.deepEqual(afterScrape, before, 'variants came from the migrated cache, none was rendered again');
      } finally {
        await t.close();
      }
    } finally {
      await rename(aside, path.join(dir, 'blobs'));
    }
  });

  it('finishes what an interrupted run left: keeps finished objects, redoes a truncated one', async () => {
    const source = await contents(diskStore());
    const target = s3Store('resumed');
    const [first, second] = images.map((image) => originalKey(image.sha256));
    // What a run stopped part-way leaves: one object finished; and one written short by some other tool.
    await target.put(first!, Readable.from([await readFile(path.join(dir, 'blobs', first!))]));
    await target.put(second!, Readable.from([Buffer.from('only the first bytes')]));
    const run = await runCli(['migrate-storage', '--to', 's3', '--concurrency', '2'], { DATA_DIR: dir, ...s3Env('resumed') });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`${source.size} blob\\(s\\): ${source.size - 1} copied \\([\\d.]+ MiB, 1 replacing a different size\\), 1 already in the target`));
    assert.deepEqual(await contents(target), source);
  });

  it('copies back from S3 to disk (STORAGE_DIR) with --to fs, leaving objects that are not imgd\'s alone', async () => {
    const back = await makeDataDir();
    cleanup.push(back);
    await s3Store('moved').put('notes/readme.txt', Readable.from([Buffer.from('someone else keeps this here')]));
    const run = await runCli(['migrate-storage', '--to', 'fs', '--verify-existing'], { DATA_DIR: dir, STORAGE: 's3', ...s3Env('moved'), STORAGE_DIR: back });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await contents(createFsStore(back)), await contents(diskStore()));
  });

  it('reports an original whose bytes no longer match their SHA-256, copies the rest, and exits 1', async () => {
    const source = await contents(diskStore());
    const damaged = originalKey(images[1]!.sha256);
    const file = path.join(dir, 'blobs', damaged);
    const good = await readFile(file);
    const bad = Buffer.from(good);
    bad[Math.floor(bad.length / 2)]! ^= 0xff; // same size, one byte flipped: only the hash can tell
    await writeFile(file, bad);
    try {
      const run = await runCli(['migrate-storage', '--to', 's3'], { DATA_DIR: dir, ...s3Env('damaged') });
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stderr, new RegExp(`MISMATCH ${damaged}: content hashes to ${sha256(bad)}, not to its name`));
      assert.match(run.stderr, /1 blob\(s\) were not copied/);
      assert.match(run.stdout, /1 problem\(s\)/);
      const copied = await contents(s3Store('damaged'));
      assert.equal(copied.has(damaged), false, 'the damaged bytes were not published');
      assert.equal(copied.size, source.size - 1, 'everything else was copied');
    } finally {
      await writeFile(file, good);
    }
  });
});
