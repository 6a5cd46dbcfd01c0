// COMPAT s3_upload (seed 004): every route and error of COMPAT.md §7, the README's examples, and the upload page driven as its form would.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture, makeDataDir, startCompatApp, type CompatTestApp } from '../helpers/app.js';
import { SCALE } from '../helpers/scale.js';
import { expectJson as body, postForm, replay } from '../helpers/seed-clients.js';

const PHOTO = fixture('jpg/Canon_40D.jpg');
const TIFF = fixture('tiff/Arbitro.tiff');
const MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;
const INVALID_TYPE = { error: 'Invalid file type. Allowed types: png, jpg, jpeg, gif, webp, bmp, tiff' };

describe('s3_upload on a listener of its own', () => {
  let t: CompatTestApp;
  let base: string;
  let photoSize: number;
  before(async () => {
    photoSize = (await readFile(PHOTO)).length;
    // The limit L set to the photo's size: exactly L passes, L + 1 fails.
    t = await startCompatApp('s3_upload:own', { MAX_FILE_SIZE: String(photoSize), PROCESSING: 'false' });
    base = t.at('s3_upload');
  });
  after(() => t.close());

  const upload = async (id: string, file = PHOTO, name = 'photo.jpg'): Promise<Response> =>
    postForm(`${base}/upload/${id}`, [{ name: 'file', filename: name, type: 'image/jpeg', data: await readFile(file) }]);

  /** A refusal: the status and body, and nothing stored. */
  const failed = async (): Promise<number> => ((await (await fetch(`${t.url}/api/v1/stats`, { headers: t.auth })).json()) as { failed: number }).failed;

  /** A refusal: the status and body, nothing stored, and (`recorded`) one failed attempt more. */
  async function refused(send: () => Promise<Response>, status: number, expected: Record<string, unknown>, recorded = true): Promise<void> {
    const before = await t.stored();
    const failedBefore = await failed();
    assert.deepEqual(await body(await send(), status), expected);
    assert.deepEqual(await t.stored(), before, 'nothing is stored');
    assert.equal(await failed(), failedBefore + (recorded ? 1 : 0), 'the refusal is recorded');
  }

  it('reports health with the time, the environment and the store', async () => {
    const health = await body(await fetch(`${base}/health`), 200);
    assert.deepEqual(Object.keys(health), ['status', 'timestamp', 'environment', 'storage']);
    assert.equal(health.status, 'healthy');
    assert.match(String(health.timestamp), MICROS);
    assert.equal(health.environment, 'production');
    assert.equal(health.storage, t.app.config.storage.kind);
  });

  it('uploads an image under an id: 201 with the seed body, served at s3_url, an ordinary imgd image keyed by the id', async () => {
    const res = await upload('user123');
    const created = await body(res, 201);
    assert.deepEqual(Object.keys(created), ['success', 'message', 'image_id', 's3_url', 'image_url', 'uploaded_at']);
    assert.equal(created.success, true);
    assert.equal(created.message, 'Image uploaded successfully');
    assert.equal(created.image_id, 'user123');
    assert.equal(created.image_url, created.s3_url);
    assert.match(String(created.s3_url), new RegExp(`^${t.app.publicUrl()}/i/[A-Za-z0-9_-]{16}/[^/]+\\.jpg$`), 'the native URL, keyed');
    assert.match(String(created.uploaded_at), MICROS);
    const served = await fetch(String(created.s3_url));
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), await readFile(PHOTO));

    const native = await fetch(`${t.url}/api/v1/images?key=user123`, { headers: t.auth });
    const items = ((await native.json()) as { items: { key: string; visibility: string; owner_id: string | null; url: string }[] }).items;
    assert.equal(items.length, 1);
    assert.equal(items[0]!.key, 'user123');
    assert.equal(items[0]!.visibility, 'public');
    assert.equal(items[0]!.owner_id, null);
    assert.equal(items[0]!.url, created.s3_url, 's3_url is the image\'s native url');
  });

  it('keeps every upload of an id: latest by /api/url, newest first by /api/images, nothing overwritten', async () => {
    const first = await body(await upload('product-42', PHOTO, '../My Photo (1).jpg'), 201);
    const second = await body(await upload('product-42', TIFF, 'scan.tiff'), 201);
    const latest = await body(await fetch(`${base}/api/url/product-42`), 200);
    assert.deepEqual(latest, {
      success: true,
      image_id: 'product-42',
      s3_url: second.s3_url,
      original_filename: 'scan.tiff',
      file_size: (await readFile(TIFF)).length,
      content_type: 'image/tiff',
      uploaded_at: second.uploaded_at,
    });
    const history = await body(await fetch(`${base}/api/images/product-42`), 200);
    assert.equal(history.success, true);
    assert.equal(history.count, 2);
    const images = history.images as Record<string, unknown>[];
    assert.deepEqual(images.map((i) => i.s3_url), [second.s3_url, first.s3_url]);
    assert.deepEqual(Object.keys(images[1]!), ['image_id', 's3_url', 'original_filename', 'file_size', 'content_type', 'uploaded_at']);
    assert.equal(images[1]!.original_filename, 'My_Photo_1.jpg', "the client's name made safe as werkzeug does");
    assert.equal(images[1]!.file_size, photoSize);
  });

  it('answers 404 with the id for an id with no upload', async () => {
    assert.deepEqual(await body(await fetch(`${base}/api/url/nobody`), 404), { error: 'Image not found', image_id: 'nobody' });
    assert.deepEqual(await body(await fetch(`${base}/api/images/nobody`), 404), { error: 'No images found', image_id: 'nobody' });
  });

  it('refuses ids outside the rule on all four id routes', async () => {
    for (const id of ['bad.id', '---', '__']) {
      for (const path of [`/${id}`, `/api/url/${id}`, `/api/images/${id}`]) {
        assert.deepEqual(await body(await fetch(`${base}${path}`), 400), { error: 'Invalid image ID format' }, path);
      }
      await refused(() => upload(id), 400, { error: 'Invalid image ID format' }, false);
    }
  });

  it('refuses a missing part, an empty filename, a bad extension, bytes that are not an image, and L + 1 bytes', async () => {
    const photo = await readFile(PHOTO);
    await refused(() => postForm(`${base}/upload/user9`, [{ name: 'other', data: 'x' }]), 400, { error: 'No file provided' });
    await refused(() => postForm(`${base}/upload/user9`, [{ name: 'file', filename: '', type: 'application/octet-stream', data: '' }]), 400, {
      error: 'No file selected',
    });
    await refused(() => postForm(`${base}/upload/user9`, [{ name: 'file', filename: 'notes.txt', type: 'text/plain', data: 'hello' }]), 400, INVALID_TYPE);
    await refused(() => postForm(`${base}/upload/user9`, [{ name: 'file', filename: 'photo', type: 'image/jpeg', data: photo }]), 400, INVALID_TYPE);
    await refused(() => postForm(`${base}/upload/user9`, [{ name: 'file', filename: 'fake.png', type: 'image/png', data: 'not an image at all' }]), 400, INVALID_TYPE);
    const larger = Buffer.concat([photo, Buffer.from([0])]);
    await refused(() => postForm(`${base}/upload/user9`, [{ name: 'file', filename: 'big.jpg', type: 'image/jpeg', data: larger }]), 413, {
      error: 'File too large. Maximum size: 0MB',
    });
    assert.deepEqual(await body(await fetch(`${base}/api/images/user9`), 404), { error: 'No images found', image_id: 'user9' });
  });

  it('answers unknown paths and wrong methods the Flask way', async () => {
    assert.deepEqual(await body(await fetch(`${base}/a/b/c`), 404), { error: 'Resource not found' });
    assert.deepEqual(await body(await fetch(`${base}/api/v1/images`), 404), { error: 'Resource not found' });
    const wrong = await fetch(`${base}/health`, { method: 'DELETE' });
    assert.deepEqual(await body(wrong, 405), { error: 'Method not allowed' });
  });

  it('serves an upload page per id that, driven over HTTP as its form does, uploads and answers s3_url', async () => {
    const page = await fetch(`${base}/user-page_1`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await page.text();
    assert.ok(html.includes('user-page_1'));
    // What the page's form and script send: the file as multipart part "file" to the form's action.
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    assert.equal(action, '/upload/user-page_1');
    const field = /<input[^>]*type="file"[^>]*name="([^"]+)"/.exec(html)?.[1];
    assert.equal(field, 'file');
    assert.ok(html.includes("fetch('/upload/' + encodeURIComponent(id)"), 'the script posts to the same place');
    const nonce = /script-src 'nonce-([^']+)'/.exec(page.headers.get('content-security-policy') ?? '')?.[1];
    assert.ok(nonce && html.includes(`<script nonce="${nonce}">`), 'the inline script may run under the page policy');
    const res = await postForm(`${base}${action}`, [{ name: field, filename: 'photo.jpg', type: 'image/jpeg', data: await readFile(PHOTO) }]);
    const created = await body(res, 201);
    assert.equal(created.image_id, 'user-page_1');
    assert.equal((await fetch(String(created.s3_url))).status, 200);
  });

  it("replays the README's examples verbatim with curl", async () => {
    const bases = { 'http://localhost:5000': base };
    const health = JSON.parse(await replay('curl http://localhost:5000/health', bases)) as Record<string, unknown>;
    assert.equal(health.status, 'healthy');
    const page = await replay('curl http://localhost:5000/user123', bases);
    assert.ok(page.startsWith('<!doctype html>') && page.includes('user123'));
    const uploaded = JSON.parse(await replay(`curl -X POST "http://localhost:5000/upload/user123" -F "file=@${PHOTO}"`, bases)) as Record<string, unknown>;
    assert.equal(uploaded.success, true);
    const latest = JSON.parse(await replay('curl "http://localhost:5000/api/url/user123"', bases)) as Record<string, unknown>;
    assert.equal(latest.s3_url, uploaded.s3_url);
    assert.equal(latest.original_filename, 'Canon_40D.jpg');
    const all = JSON.parse(await replay('curl "http://localhost:5000/api/images/user123"', bases)) as Record<string, unknown>;
    assert.equal(all.count, 2);
  });
});

describe('s3_upload on the main listener', () => {
  let t: CompatTestApp;
  before(async () => {
    t = await startCompatApp('s3_upload', { PROCESSING: 'false' });
  });
  after(() => t.close());

  it("yields fixed paths to their owners: the catch-all page never takes /healthz, /docs, /openapi.json or /app", async () => {
    assert.deepEqual(await (await fetch(`${t.url}/healthz`)).json(), { status: 'ok' });
    const docs = await fetch(`${t.url}/docs`, { redirect: 'manual' });
    assert.ok(!(await docs.text()).includes('Upload image'));
    const openapi = await fetch(`${t.url}/openapi.json`);
    assert.equal(openapi.status, 200);
    assert.ok(((await openapi.json()) as { openapi: string }).openapi.startsWith('3.'));
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
    // The web UI answers /app (503 when its client is not built); never the upload page of an id "app".
    const shell = await fetch(`${t.url}/app`);
    assert.ok(!(await shell.text()).includes('Upload image'), "the web UI's /app keeps its owner");
    const page = await fetch(`${t.url}/user123`);
    assert.ok((await page.text()).includes('user123'));
  });

  it('lists public native images with a key that follows the id rule under that id', async () => {
    const res = await t.upload([PHOTO], { key: 'native-7', visibility: 'public' });
    assert.equal(res.status, 201, await res.clone().text());
    const history = await body(await fetch(`${t.url}/api/images/native-7`), 200);
    assert.equal(history.count, 1);
    const hidden = await t.upload([PHOTO], { key: 'private-7', visibility: 'private' });
    assert.equal(hidden.status, 201);
    assert.deepEqual(await body(await fetch(`${t.url}/api/url/private-7`), 404), { error: 'Image not found', image_id: 'private-7' });
  });
});

describe('s3_upload health with the store unusable', { skip: SCALE && 'the disk store only: the scale profile stores in S3' }, () => {
  it('answers 503 unhealthy with the reason and the time', async () => {
    const dir = await makeDataDir();
    const blobs = path.join(dir, 'blobs');
    const t = await startCompatApp('s3_upload:own', { STORAGE_DIR: blobs, PROCESSING: 'false' }, dir);
    try {
      assert.equal((await fetch(`${t.at('s3_upload')}/health`)).status, 200);
      // The store's folder replaced by a file: no blob can be read or written there.
      await rm(blobs, { recursive: true, force: true });
      await writeFile(blobs, 'not a folder');
      const health = await body(await fetch(`${t.at('s3_upload')}/health`), 503);
      assert.deepEqual(Object.keys(health), ['status', 'error', 'timestamp']);
      assert.equal(health.status, 'unhealthy');
      assert.ok(String(health.error).length > 0);
      assert.match(String(health.timestamp), MICROS);
    } finally {
      await t.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
