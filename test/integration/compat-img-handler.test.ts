// img_handler (seed 000) through the real server: its token, the nine upload checks in order, names, URLs and serving.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { fixture, startCompatApp, TOKEN, type CompatTestApp } from '../helpers/app.js';
import { attempts, largePhoto, multipart, photo, photoAs, postFile, rawRequest } from '../helpers/compat.js';

const admin = { authorization: `Bearer ${TOKEN}` };
const run = promisify(execFile);

describe('img_handler', () => {
  let t: CompatTestApp;
  let base: string;
  let big: Buffer;
  let png: Buffer;
  before(async () => {
    big = await largePhoto();
    png = await photoAs('png');
    // L is MAX_BYTES: exactly L passes, L + 1 fails.
    t = await startCompatApp('img_handler:own', { MAX_BYTES: String(big.length) });
    base = t.at('img_handler');
  });
  after(() => t.close());

  /** Asserts a FastAPI error answer, and that nothing more is stored than before. */
  async function refused(res: Response, status: number, detail: unknown, before: { images: number; blobs: number }): Promise<void> {
    assert.equal(res.status, status);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), { detail });
    const now = await t.stored();
    assert.equal(now.images, before.images, 'no image stored');
    assert.equal(now.blobs, before.blobs, 'no blob stored');
  }

  describe('authentication', () => {
    it('answers 401 Missing bearer token without a bearer credential, Invalid token for another one, on every route', async () => {
      const before = await t.stored();
      const cases: Array<[Record<string, string>, string]> = [
        [{}, 'Missing bearer token'],
        [{ authorization: `Basic ${TOKEN}` }, 'Missing bearer token'],
        [{ authorization: 'Bearer ' }, 'Missing bearer token'],
        [{ authorization: 'Bearer not-the-token-at-all' }, 'Invalid token'],
      ];
      for (const [headers, detail] of cases) {
        for (const route of ['/images/upload', '/upload-image']) {
          const res = await postFile(`${base}${route}`, { filename: 'a.png', type: 'image/png', data: png }, headers);
          assert.equal(res.headers.get('www-authenticate'), 'Bearer');
          await refused(res, 401, detail, before);
        }
        for (const route of ['/images/a.png', '/image/a.png']) {
          const res = await fetch(`${base}${route}`, { headers });
          assert.equal(res.headers.get('www-authenticate'), 'Bearer');
          await refused(res, 401, detail, before);
        }
      }
    });

    it('takes the scheme in any case', async () => {
      const res = await fetch(`${base}/image/none.png`, { headers: { authorization: `bEaReR ${TOKEN}` } });
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { detail: 'Image not found' });
    });
  });

  describe('upload checks, in order', () => {
    it('1: no file part is 422 with the FastAPI validation array', async () => {
      const before = await t.stored();
      const form = multipart([{ name: 'other', data: 'x' }]);
      const res = await fetch(`${base}/images/upload`, { method: 'POST', body: form.body, headers: { ...form.headers, ...admin } });
      await refused(res, 422, [{ type: 'missing', loc: ['body', 'file'], msg: 'Field required', input: null }], before);
    });

    it('2-9: each refusal with its exact answer, nothing stored', async () => {
      const before = await t.stored();
      const tiff = await readFile(fixture('tiff/Arbitro.tiff'));
      const cases: Array<[Parameters<typeof postFile>[1], number, string]> = [
        [{ filename: '', type: 'image/png', data: png }, 400, 'Missing filename'],
        [{ filename: 'a.png', type: 'text/plain', data: png }, 415, 'Unsupported media type'],
        [{ filename: 'a.png', type: 'image/svg+xml', data: png }, 415, 'Unsupported media type'],
        [{ filename: 'a.png', type: 'image/png', data: '' }, 400, 'Empty file'],
        [{ filename: 'a.png', type: 'image/png', data: Buffer.concat([big, Buffer.from([0])]) }, 413, 'File too large'],
        [{ filename: 'a.png', type: 'image/png', data: 'this is not an image at all' }, 400, 'Invalid image content'],
        [{ filename: 'a.png', type: 'image/png', data: tiff }, 400, 'Invalid image content'],
        [{ filename: 'dir/..', type: 'image/png', data: png }, 400, 'Invalid filename'],
        [{ filename: 'm.gif', type: 'image/png', data: png }, 400, "Filename extension '.gif' does not match uploaded image type"],
        [{ filename: 'noext', type: 'image/png', data: png }, 400, "Filename extension '' does not match uploaded image type"],
        [{ filename: '!!!.png', type: 'image/png', data: png }, 400, 'Filename cannot be slugified'],
      ];
      const counted = await attempts(t.url, admin);
      for (const [file, status, detail] of cases) {
        await refused(await postFile(`${base}/upload-image`, file, admin), status, detail, before);
      }
      // Every refusal past authentication is an attempt record, as native ones are.
      const now = await attempts(t.url, admin);
      assert.equal(now.failed - counted.failed, cases.length);
      assert.equal(now.total - counted.total, cases.length);
    });
  });

  describe('accepted uploads', () => {
    it('names stored_as by slug, stamps a collision, answers the URL of the route used, and serves the bytes', async () => {
      const first = await postFile(`${base}/images/upload`, { filename: 'Été Photo (1).PNG', type: 'image/png', data: png }, admin);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('content-type'), 'application/json');
      const host = new URL(base).host;
      assert.deepEqual(await first.json(), { stored_as: 'ete-photo-1.png', bytes: png.length, image_url: `http://${host}/images/ete-photo-1.png` });

      const again = await postFile(`${base}/upload-image`, { filename: 'ete photo 1.png', type: 'image/png', data: png }, admin);
      const body = (await again.json()) as { stored_as: string; bytes: number; image_url: string };
      assert.match(body.stored_as, /^ete-photo-1_\d{8}T\d{12}Z\.png$/);
      assert.equal(body.image_url, `http://${host}/image/${body.stored_as}`);

      const served = await fetch(`${base}/image/${body.stored_as}`, { headers: admin });
      assert.equal(served.status, 200);
      assert.equal(served.headers.get('content-type'), 'image/png');
      assert.equal(served.headers.get('content-disposition'), null);
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), png);
      // The first one is untouched.
      assert.deepEqual(Buffer.from(await (await fetch(`${base}/images/ete-photo-1.png`, { headers: admin })).arrayBuffer()), png);
    });

    it('transliterates names in other scripts as python-slugify did (照片.png → zhao-pian.png)', async () => {
      const host = new URL(base).host;
      for (const [filename, stored] of [['照片.png', 'zhao-pian.png'], ['Привет мир.PNG', 'privet-mir.png'], ['しゃしん.png', 'shiyashin.png']]) {
        const res = await postFile(`${base}/upload-image`, { filename, type: 'image/png', data: png }, admin);
        assert.equal(res.status, 200, filename);
        assert.deepEqual(await res.json(), { stored_as: stored, bytes: png.length, image_url: `http://${host}/image/${stored}` });
        const served = await fetch(`${base}/image/${stored}`, { headers: admin });
        assert.equal(served.status, 200);
        assert.deepEqual(Buffer.from(await served.arrayBuffer()), png);
      }
    });

    it('takes photo.jpg and photo.jpeg sent as image/jpeg, exactly L bytes, and GIF and WebP', async () => {
      const jpeg = await photo();
      for (const filename of ['photo.jpg', 'photo.jpeg']) {
        const res = await postFile(`${base}/upload-image`, { filename, type: 'image/jpeg', data: jpeg }, admin);
        assert.equal(res.status, 200, filename);
      }
      const exact = await postFile(`${base}/upload-image`, { filename: 'exact.png', type: 'image/png', data: big }, admin);
      assert.equal(exact.status, 200);
      assert.equal(((await exact.json()) as { bytes: number }).bytes, big.length);
      for (const [format, type] of [['gif', 'image/gif'], ['webp', 'image/webp']] as const) {
        const res = await postFile(`${base}/upload-image`, { filename: `x.${format}`, type, data: await photoAs(format) }, admin);
        assert.equal(res.status, 200, format);
      }
    });

    it('builds image_url from Host and X-Forwarded-Proto of a trusted (loopback) proxy', async () => {
      const form = multipart([{ name: 'file', filename: 'proxied.png', type: 'image/png', data: png }]);
      const headers = { ...form.headers, ...admin, host: 'storage.pyzen.io', 'x-forwarded-proto': 'https' };
      const res = await rawRequest(base, '/upload-image', { method: 'POST', headers, body: form.body });
      assert.equal((res.json() as { image_url: string }).image_url, 'https://storage.pyzen.io/image/proxied.png');
    });

    it('is a private image of the admin in the native API', async () => {
      await postFile(`${base}/upload-image`, { filename: 'native view.png', type: 'image/png', data: png }, admin);
      const list = (await (await fetch(`${t.url}/api/v1/images?q=native`, { headers: admin })).json()) as { items: Array<{ filename: string; visibility: string; url: string }> };
      assert.deepEqual(list.items.map((i) => [i.filename, i.visibility]), [['native-view.png', 'private']]);
      const { url } = list.items[0]!;
      assert.equal((await fetch(url)).status, 404, 'private: not served without a credential');
      assert.equal((await fetch(url, { headers: admin })).status, 200);
    });
  });

  describe('retrieval', () => {
    it('serves any image by name with ETag, 304, HEAD and ranges; reduces a path to its last segment', async () => {
      const up = await t.upload([['served.jpg', await photo()]]);
      const { filename } = (await up.json()) as { filename: string };
      const full = await fetch(`${base}/images/${filename}`, { headers: admin });
      const etag = full.headers.get('etag');
      assert.ok(etag);
      assert.equal(full.headers.get('content-type'), 'image/jpeg');
      assert.equal(full.headers.get('x-content-type-options'), 'nosniff');
      assert.equal((await fetch(`${base}/images/${filename}`, { headers: { ...admin, 'if-none-match': etag } })).status, 304);
      const head = await fetch(`${base}/image/${filename}`, { method: 'HEAD', headers: admin });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String((await photo()).length));
      const part = await fetch(`${base}/image/${filename}`, { headers: { ...admin, range: 'bytes=0-9' } });
      assert.equal(part.status, 206);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), (await photo()).subarray(0, 10));
      assert.equal((await rawRequest(base, `/image/..%2F..%2F${filename}`, { headers: admin })).status, 200);
    });

    it('answers 400 Invalid filename for . and .., 404 Image not found for an unknown name', async () => {
      for (const name of ['%2E%2E', 'x%2F..', '%2E']) {
        const res = await rawRequest(base, `/image/${name}`, { headers: admin });
        assert.equal(res.status, 400, name);
        assert.deepEqual(res.json(), { detail: 'Invalid filename' });
      }
      const missing = await fetch(`${base}/images/nothing-here.png`, { headers: admin });
      assert.equal(missing.status, 404);
      assert.deepEqual(await missing.json(), { detail: 'Image not found' });
    });
  });

  it("replays the README's curl examples verbatim (host and port aside)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgd-readme-'));
    try {
      const image = path.join(dir, 'image.png');
      await writeFile(image, png);
      const uploaded = await run('curl', ['-s', '-X', 'POST', `${base}/upload-image`, '-H', `Authorization: Bearer ${TOKEN}`, '-F', `file=@${image}`]);
      const answer = JSON.parse(uploaded.stdout) as { stored_as: string; image_url: string };
      assert.equal(answer.stored_as, 'image.png');
      await run('curl', ['-s', '-L', '-H', `Authorization: Bearer ${TOKEN}`, `${base}/image/${answer.stored_as}`, '--output', path.join(dir, 'downloaded.png')], { cwd: dir });
      assert.deepEqual(await readFile(path.join(dir, 'downloaded.png')), png);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
