// BMP uploads: taken by content like any image, stored and served as sent, processed (variants, placeholder), and
// refused cleanly when broken, flooding or not allowed, natively and through the profile of a seed that lists BMP.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { expectProblem } from '../helpers/accounts.js';
import { startApp, startCompatApp, type CompatTestApp, type TestApp } from '../helpers/app.js';
import { expectJson, postForm } from '../helpers/seed-clients.js';
import { waitFor } from '../helpers/wait.js';
import type { Image } from '../helpers/images.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bmp');
const bmp = (name: string): Promise<Buffer> => readFile(path.join(DIR, `${name}.bmp`));

async function nothingStoredBy(t: TestApp, send: () => Promise<Response>, status: number, code: string): Promise<void> {
  const before = await t.stored();
  await expectProblem(await send(), status, code);
  assert.deepEqual(await t.stored(), before, 'nothing is stored');
}

describe('BMP uploads', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ JOB_BACKOFF_MS: '10', MAX_PIXELS: '1000000' });
  });
  after(() => t.close());

  it('stores a BMP as sent, serves it as image/bmp, and processes it to ready with variants and a placeholder', async () => {
    const bytes = await bmp('rgb24');
    const res = await t.upload([['scan.bmp', bytes]]);
    assert.equal(res.status, 201, await res.clone().text());
    const image = (await res.json()) as Image;
    assert.deepEqual([image.format, image.content_type, image.width, image.height, image.bytes], ['bmp', 'image/bmp', 100, 68, bytes.length]);
    const served = await fetch(image.url);
    assert.equal(served.headers.get('content-type'), 'image/bmp');
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
    const ready = await waitFor('the BMP to be processed', async () => {
      const body = (await (await fetch(`${t.url}/api/v1/images/${image.id}`, { headers: t.auth })).json()) as Image;
      return body.status === 'processing' ? undefined : body;
    });
    assert.equal(ready.status, 'ready');
    assert.ok(ready.placeholder);
    const small = await fetch(`${image.variants.small}`, { headers: { accept: 'image/webp' } });
    assert.equal(small.status, 200);
    assert.equal(small.headers.get('content-type'), 'image/webp');
    const meta = await sharp(Buffer.from(await small.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [100, 68], 'never enlarged');
  });

  it('keeps the alpha channel of a 32-bit BMP in its variants', async () => {
    const res = await t.upload([['alpha.bmp', await bmp('alpha32')]]);
    assert.equal(res.status, 201, await res.clone().text());
    const image = (await res.json()) as Image;
    const png = await fetch(`${image.url}/custom?w=64&format=png`);
    assert.equal(png.status, 200, await png.clone().text());
    const stats = await sharp(Buffer.from(await png.arrayBuffer())).stats();
    assert.equal(stats.channels.length, 4);
    assert.ok(stats.channels[3]!.min < 40 && stats.channels[3]!.max > 215, 'the alpha ramp survives');
  });

  it('refuses a truncated BMP with 422 corrupt_image and stores nothing', async () => {
    const bytes = await bmp('rgb24');
    await nothingStoredBy(t, () => t.upload([['cut.bmp', bytes.subarray(0, bytes.length - 500)]]), 422, 'corrupt_image');
  });

  it('refuses a BMP whose header declares a pixel flood with 422 image_too_large, before decoding, and stores nothing', async () => {
    const flood = Buffer.from(await bmp('rgb24'));
    flood.writeInt32LE(50_000, 18);
    flood.writeInt32LE(50_000, 22);
    await nothingStoredBy(t, () => t.upload([['flood.bmp', flood]]), 422, 'image_too_large');
  });
});

describe('BMP when ALLOWED_FORMATS leaves it out', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ ALLOWED_FORMATS: 'jpeg,png', PROCESSING: 'false' });
  });
  after(() => t.close());

  it('refuses it with 415 unsupported_format and stores nothing', async () => {
    const bytes = await bmp('palette8');
    await nothingStoredBy(t, () => t.upload([['scan.bmp', bytes]]), 415, 'unsupported_format');
  });
});

describe('BMP through s3_upload, a seed that lists it', () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('s3_upload', { PROCESSING: 'false' });
  });
  after(() => t.close());

  it('uploads a .bmp under an id and serves it at its s3_url', async () => {
    const bytes = await bmp('rle8');
    const created = await expectJson(await postForm(`${t.at('s3_upload')}/upload/scan-1`, [{ name: 'file', filename: 'scan.bmp', type: 'image/bmp', data: bytes }]), 201);
    assert.match(String(created.s3_url), /\.bmp$/);
    const served = await fetch(String(created.s3_url));
    assert.equal(served.headers.get('content-type'), 'image/bmp');
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
  });
});
