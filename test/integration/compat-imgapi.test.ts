// COMPAT imgapi (seed 001): every route and refusal of COMPAT.md §4 through the real server, and the README's curl examples.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { percent, statsView } from '../../src/http/compat/imgapi.js';
import { thumbnailSize } from '../../src/http/compat/imgapi-thumbnails.js';
import { pythonFloat } from '../../src/http/compat/pillow-exif.js';
import { fixture, startCompatApp, type CompatTestApp } from '../helpers/app.js';
import { pngWithGarbledPixels } from '../helpers/damaged.js';
import { expectJson as json, postForm, replay, type Json, type Part } from '../helpers/seed-clients.js';
import { waitFor } from '../helpers/wait.js';

const PHOTO = fixture('jpg/Canon_40D.jpg'); // 100 x 68, with EXIF
const LARGER = fixture('jpg/gps/DSCN0010.jpg'); // 640 x 480, 161 KB
const PORTRAIT = fixture('jpg/xmp/no_exif.jpg'); // 322 x 466, 182 KB
const SPACED = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const LIMIT = 170_000; // L: DSCN0010 passes, no_exif.jpg is over it

describe('imgapi', () => {
  let t: CompatTestApp;
  let base: string;
  before(async () => {
    t = await startCompatApp('imgapi:own', { MAX_FILE_SIZE: String(LIMIT), MAX_DIMENSION: '2000', PROCESSING: 'false' });
    base = t.at('imgapi');
  });
  after(() => t.close());

  const stats = async (): Promise<Json> => json(await fetch(`${base}/api/stats`));
  const send = (parts: Part[]): Promise<Response> => postForm(`${base}/api/images`, parts);
  const photoPart = async (file = PHOTO, filename = 'photo.jpg', type = 'image/jpeg'): Promise<Part> => ({ name: 'file', filename, type, data: await readFile(file) });

  it('takes a JPEG: 200 success with metadata, both thumbnail places, an ordinary public imgd image', async () => {
    const body = await json(await send([await photoPart()]));
    assert.deepEqual(Object.keys(body), ['status', 'data', 'thumbnails', 'error']);
    assert.equal(body.status, 'success');
    assert.equal(body.error, null);
    const { data } = body;
    assert.deepEqual(Object.keys(data), ['image_id', 'original_name', 'processed_at', 'metadata', 'thumbnails']);
    assert.equal(data.original_name, 'photo.jpg');
    assert.match(data.processed_at, SPACED);
    const bytes = await readFile(PHOTO);
    assert.deepEqual(data.metadata, {
      width: 100,
      height: 68,
      format: 'jpeg',
      size_bytes: bytes.length,
      sha256: data.metadata.sha256,
      first_upload: data.metadata.first_upload,
    });
    assert.match(data.metadata.sha256, /^[0-9a-f]{64}$/);
    assert.match(data.metadata.first_upload, SPACED);
    assert.deepEqual(data.thumbnails, {
      small: `${base}/api/images/${data.image_id}/thumbnails/small`,
      medium: `${base}/api/images/${data.image_id}/thumbnails/medium`,
    });
    assert.deepEqual(body.thumbnails, data.thumbnails);

    const native = (await (await fetch(`${t.url}/api/v1/images/${data.image_id}`, { headers: t.auth })).json()) as Json;
    assert.equal(native.visibility, 'public');
    assert.equal(native.owner_id, null);
    const served = await fetch(native.url);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
  });

  it('gives the same bytes a new record that reports when they were first stored', async () => {
    const first = await json(await send([await photoPart(PORTRAIT.replace('no_exif', 'BlueSquare'), 'a.jpg')]));
    const second = await json(await send([await photoPart(PORTRAIT.replace('no_exif', 'BlueSquare'), 'b.jpg')]));
    assert.notEqual(second.data.image_id, first.data.image_id);
    assert.equal(second.data.metadata.sha256, first.data.metadata.sha256);
    assert.equal(second.data.metadata.first_upload, first.data.metadata.first_upload);
  });

  it('answers every refusal 200 with the failed body, records it, lists it, and stores nothing', async () => {
    const jpeg = await readFile(PHOTO);
    const cases: Array<[Part, string]> = [
      [{ name: 'file', filename: 'file.xlsx', type: 'application/vnd.ms-excel', data: 'PK\u0003\u0004' }, 'Bad Extension .xlsx'],
      [{ name: 'file', filename: 'README', type: 'image/jpeg', data: jpeg }, 'Bad Extension none'],
      [{ name: 'file', filename: 'anim.png', type: 'image/gif', data: jpeg }, 'Bad MIME type: image/gif'],
      [{ name: 'file', filename: 'x.jpg', data: jpeg }, 'Bad MIME type: (none)'],
      [{ name: 'file', filename: 'empty.jpg', type: 'image/jpeg', data: '' }, 'Empty upload'],
      [{ name: 'file', filename: 'photo.png', type: 'image/png', data: jpeg }, 'File bytes do not match image type'],
      [{ name: 'file', filename: 'cut.jpg', type: 'image/jpeg', data: jpeg.subarray(0, 3000) }, 'Invalid or corrupted image'],
      [{ name: 'file', filename: 'wide.png', type: 'image/png', data: await sharp({ create: { width: 2500, height: 4, channels: 3, background: '#08f' } }).png().toBuffer() }, 'Image too large'],
      [await photoPart(PORTRAIT, 'big.jpg'), 'File too large'],
    ];
    for (const [part, reason] of cases) {
      const before = await t.stored();
      const { failed, total } = await stats();
      const body = await json(await send([part]));
      assert.deepEqual(body, {
        status: 'failed',
        data: { image_id: body.data.image_id, original_name: part.filename, processed_at: body.data.processed_at, metadata: {}, thumbnails: {} },
        error: reason,
      }, reason);
      assert.match(body.data.processed_at, SPACED);
      assert.deepEqual(await t.stored(), before, `nothing stored for ${reason}`);
      const after = await stats();
      assert.deepEqual([after.total, after.failed], [total + 1, failed + 1], `recorded: ${reason}`);

      const one = await json(await fetch(`${base}/api/images/${body.data.image_id}`));
      assert.deepEqual(one, {
        status: 'failed',
        data: { image_id: body.data.image_id, original_name: part.filename, processed_at: one.data.processed_at, image_path: null, metadata: {}, thumbnails: {} },
        error: reason,
      });
      assert.deepEqual(await json(await fetch(`${base}/api/images/${body.data.image_id}/thumbnails/small`), 404), { detail: 'No thumbnail for failed upload' });
    }
    const list = await json(await fetch(`${base}/api/images`));
    assert.deepEqual(list.slice(0, cases.length).map((item: Json) => item.error).reverse(), cases.map(([, reason]) => reason));
  });

  it('answers unknown paths and wrong methods the FastAPI way', async () => {
    assert.deepEqual(await json(await fetch(`${base}/api/nothing`), 404), { detail: 'Not Found' });
    const wrong = await fetch(`${base}/api/stats`, { method: 'DELETE' });
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    assert.deepEqual(await json(wrong, 405), { detail: 'Method Not Allowed' });
  });

  it('refuses a form without a file part with 422 and records nothing', async () => {
    const before = await stats();
    assert.deepEqual(await json(await send([{ name: 'other', data: 'x' }]), 422), {
      detail: [{ type: 'missing', loc: ['body', 'file'], msg: 'Field required', input: null }],
    });
    assert.deepEqual(await stats(), before);
  });

  it('lists every public image of any route with failures, newest first; private ones never', async () => {
    const native = await t.upload([LARGER], { visibility: 'public', description: 'native' });
    const nativeId = ((await native.json()) as { id: string }).id;
    const hidden = await t.upload([LARGER], { visibility: 'private' });
    const hiddenId = ((await hidden.json()) as { id: string }).id;
    const list = await json(await fetch(`${base}/api/images`));
    assert.equal(list[0].data.image_id, nativeId);
    assert.ok(!list.some((item: Json) => item.data.image_id === hiddenId));
    const item = list[0];
    assert.deepEqual(Object.keys(item.data), ['image_id', 'original_name', 'processed_at', 'metadata', 'thumbnails']);
    assert.deepEqual(Object.keys(item.data.metadata), ['width', 'height', 'format', 'size_bytes', 'sha256', 'first_upload', 'exif_json', 'caption']);
    const times = list.map((i: Json) => i.data.processed_at);
    assert.deepEqual([...times].sort().reverse(), times);
    assert.deepEqual(await json(await fetch(`${base}/api/images/${hiddenId}`), 404), { detail: 'Image not found' });
    assert.deepEqual(await json(await fetch(`${base}/api/images/${hiddenId}/thumbnails/small`), 404), { detail: 'Image not found' });
  });

  it('gives one record with image_path, EXIF under Pillow names and the caption', async () => {
    const up = await json(await send([await photoPart()]));
    const one = await json(await fetch(`${base}/api/images/${up.data.image_id}`));
    assert.equal(one.status, 'success');
    assert.deepEqual(Object.keys(one.data), ['image_id', 'original_name', 'processed_at', 'image_path', 'metadata', 'thumbnails']);
    assert.match(one.data.image_path, new RegExp(`^${t.app.publicUrl()}/i/[A-Za-z0-9_-]{16}/[^/]+\\.jpg$`), 'the native URL, keyed');
    assert.equal((await fetch(one.data.image_path)).status, 200);
    const native = (await (await fetch(`${t.url}/api/v1/images/${up.data.image_id}`, { headers: t.auth })).json()) as Json;
    assert.equal(one.data.image_path, native.url);
    assert.deepEqual(one.data.metadata.exif_json, {
      Make: 'Canon',
      Model: 'Canon EOS 40D',
      Orientation: 1,
      XResolution: '72.0',
      YResolution: '72.0',
      ResolutionUnit: 2,
      Software: 'GIMP 2.4.5',
      DateTime: '2008:07:31 10:38:11',
      YCbCrPositioning: 2,
      ExifOffset: 214,
    });
    assert.equal(one.data.metadata.caption, null);
    assert.deepEqual(one.thumbnails, one.data.thumbnails);
    assert.deepEqual(await json(await fetch(`${base}/api/images/nope`), 404), { detail: 'Image not found' });
  });

  it('serves small and medium JPEG thumbnails fitted as Pillow does, never enlarged', async () => {
    const up = await json(await send([await photoPart(LARGER, 'dscn.jpg')]));
    const id = up.data.image_id;
    for (const [size, width, height] of [['small', 256, 192], ['medium', 640, 480]] as const) {
      const res = await fetch(`${base}/api/images/${id}/thumbnails/${size}`, { headers: { accept: 'image/avif,image/webp' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="${up.data.metadata.sha256}_${size}.jpeg"`);
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['jpeg', width, height, 3]);
    }
    assert.deepEqual(await json(await fetch(`${base}/api/images/${id}/thumbnails/large`), 400), { detail: 'Invalid thumbnail size' });
    assert.deepEqual(await json(await fetch(`${base}/api/images/unknown/thumbnails/large`), 400), { detail: 'Invalid thumbnail size' });
    assert.deepEqual(await json(await fetch(`${base}/api/images/unknown/thumbnails/small`), 404), { detail: 'Image not found' });
  });

  it('builds URLs from the Host header and a trusted X-Forwarded-Proto', async () => {
    const port = new URL(base).port;
    const answer = await new Promise<Json>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/api/images', headers: { host: 'storage.pyzen.io', 'x-forwarded-proto': 'https' } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve(JSON.parse(text) as Json));
        })
        .on('error', reject);
    });
    const item = answer.find((i: Json) => i.status === 'success');
    assert.equal(item.thumbnails.small, `https://storage.pyzen.io/api/images/${item.data.image_id}/thumbnails/small`);
  });

  it('reports stats from the core attempt records of every route, all time', async () => {
    const ours = await stats();
    const native = (await (await fetch(`${t.url}/api/v1/stats`, { headers: t.auth })).json()) as { total: number; failed: number };
    assert.deepEqual(Object.keys(ours), ['total', 'failed', 'success_rate', 'average_processing_time_seconds']);
    assert.equal(ours.total, native.total);
    assert.equal(ours.failed, native.failed);
    assert.equal(ours.success_rate, `${(((native.total - native.failed) / native.total) * 100).toFixed(2)}%`);
    assert.equal(ours.average_processing_time_seconds, 0);
  });

  it("replays the README's curl examples verbatim", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgapi-readme-'));
    try {
      await writeFile(path.join(dir, 'photo.jpg'), await readFile(PHOTO));
      await writeFile(path.join(dir, 'file.xlsx'), 'PK\u0003\u0004 not a spreadsheet really');
      const bases = { 'http://localhost:8000': base, '/path/to/': `${dir}/` };
      const ok = JSON.parse(await replay('curl -X POST "http://localhost:8000/api/images" -F "file=@/path/to/photo.jpg"', bases)) as Json;
      assert.equal(ok.status, 'success');
      const bad = JSON.parse(await replay('curl -X POST "http://localhost:8000/api/images" -F "file=@/path/to/file.xlsx"', bases)) as Json;
      assert.equal(bad.status, 'failed');
      assert.equal(bad.error, 'Bad Extension .xlsx');
      const list = JSON.parse(await replay('curl "http://localhost:8000/api/images"', bases)) as Json[];
      assert.equal(list[0]!.data.image_id, bad.data.image_id);
      const one = JSON.parse(await replay(`curl "http://localhost:8000/api/images/${ok.data.image_id}"`, bases)) as Json;
      assert.equal(one.data.original_name, 'photo.jpg');
      await replay(`curl -o small.jpg "http://localhost:8000/api/images/${ok.data.image_id}/thumbnails/small"`, bases, dir);
      const thumb = await sharp(path.join(dir, 'small.jpg')).metadata();
      assert.deepEqual([thumb.format, thumb.width, thumb.height], ['jpeg', 100, 68]);
      const totals = JSON.parse(await replay('curl "http://localhost:8000/api/stats"', bases)) as Json;
      assert.match(totals.success_rate, /^\d+\.\d\d%$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('imgapi stats with processing on', () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('imgapi:own', { JOB_BACKOFF_MS: '10' });
  });
  after(() => t.close());

  it('counts an upload accepted, then failed in processing (pixels that do not decode), as a success, as the seed did', async () => {
    const base = t.at('imgapi');
    const seedBefore = await json(await fetch(`${base}/api/stats`));
    const nativeBefore = (await (await fetch(`${t.url}/api/v1/stats`, { headers: t.auth })).json()) as { total: number; failed: number };
    const body = await json(await postForm(`${base}/api/images`, [{ name: 'file', filename: 'garbled.png', type: 'image/png', data: await pngWithGarbledPixels() }]));
    assert.equal(body.status, 'success', 'accepted: its structure is sound');
    await waitFor('processing to give up on the image', async () => {
      const native = (await (await fetch(`${t.url}/api/v1/images/${body.data.image_id}`, { headers: t.auth })).json()) as { status: string };
      return native.status === 'failed' || undefined;
    });
    const nativeAfter = (await (await fetch(`${t.url}/api/v1/stats`, { headers: t.auth })).json()) as { total: number; failed: number };
    assert.deepEqual([nativeAfter.total, nativeAfter.failed], [nativeBefore.total + 1, nativeBefore.failed + 1], 'natively a failed upload');
    const seedAfter = await json(await fetch(`${base}/api/stats`));
    assert.deepEqual([seedAfter.total, seedAfter.failed], [seedBefore.total + 1, seedBefore.failed], 'for imgapi a success');
    assert.equal(seedAfter.success_rate, '100.00%');
  });
});

describe("imgapi's numbers", () => {
  it('formats the success rate as Python does, two decimals, ties to even', () => {
    assert.equal(percent(75), '75.00%');
    assert.equal(percent((2 / 3) * 100), '66.67%');
    assert.equal(percent(12.125), '12.12%');
    assert.equal(percent(12.375), '12.38%');
    assert.deepEqual(statsView({ total: 0, failed: 0, averageDurationMs: null }), { total: 0, failed: 0, success_rate: '0.00%', average_processing_time_seconds: 0 });
    assert.deepEqual(statsView({ total: 4, failed: 1, averageDurationMs: 2500 }), { total: 4, failed: 1, success_rate: '75.00%', average_processing_time_seconds: 2 });
  });

  it("prints EXIF rationals as Python's float repr", () => {
    assert.deepEqual([72, 0.005, 1e-5, 1 / 3, 1e16, 2.5e-7, 300, NaN].map(pythonFloat), ['72.0', '0.005', '1e-05', '0.3333333333333333', '1e+16', '2.5e-07', '300.0', 'nan']);
  });

  it('fits thumbnails as Pillow does', () => {
    assert.deepEqual(thumbnailSize(1000, 800, 256), { width: 256, height: 205 });
    assert.deepEqual(thumbnailSize(1000, 800, 768), { width: 768, height: 614 });
    assert.deepEqual(thumbnailSize(322, 466, 256), { width: 177, height: 256 });
    assert.deepEqual(thumbnailSize(100, 68, 256), { width: 100, height: 68 });
    assert.deepEqual(thumbnailSize(5000, 1, 256), { width: 256, height: 1 });
  });
});
