import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/accounts.js';
import { uploadOne, type Image } from '../helpers/images.js';

const JPEG = fixture('jpg/xmp/BlueSquare.jpg'); // 24,205 bytes, nothing in them but the image, so stored as sent
const TIFF = fixture('tiff/Arbitro.tiff');
const PRIVATE = fixture('jpg/Canon_40D.jpg');

const bodyOf = async (res: Response): Promise<Buffer> => Buffer.from(await res.arrayBuffer());

/** Headers that say something about the image, leaving out what differs on every response. */
function stableHeaders(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!['date', 'x-request-id', 'content-length', 'keep-alive', 'connection'].includes(name)) out[name] = value;
  });
  return out;
}

describe('serving originals at /i/{key}/{filename}', () => {
  let t: TestApp;
  let jpeg: Image;
  let jpegBytes: Buffer;
  let tiff: Image;
  let tiffBytes: Buffer;
  let secret: Image;
  let secretBytes: Buffer;

  before(async () => {
    t = await startApp();
    jpegBytes = await readFile(JPEG);
    // The name claims PNG; what is served follows the bytes.
    jpeg = await uploadOne(t, ['holiday.png', jpegBytes]);
    tiffBytes = await readFile(TIFF);
    tiff = await uploadOne(t, TIFF);
    secretBytes = await readFile(PRIVATE);
    secret = await uploadOne(t, PRIVATE, { visibility: 'private' });
  });
  after(() => t.close());

  it('serves the exact stored bytes with the Content-Type of the detected format', async () => {
    assert.equal(jpeg.filename, 'holiday.jpg');
    const res = await fetch(jpeg.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.equal(res.headers.get('content-length'), String(jpegBytes.length));
    assert.deepEqual(await bodyOf(res), jpegBytes);

    const tiffRes = await fetch(tiff.url);
    assert.equal(tiffRes.status, 200);
    assert.equal(tiffRes.headers.get('content-type'), 'image/tiff');
    assert.deepEqual(await bodyOf(tiffRes), tiffBytes);
  });

  it('sends a strong ETag of the SHA-256, Last-Modified, public caching and protective headers', async () => {
    const res = await fetch(jpeg.url);
    await res.arrayBuffer();
    const sha = createHash('sha256').update(jpegBytes).digest('hex');
    assert.equal(jpeg.sha256, sha);
    assert.equal(res.headers.get('etag'), `"${sha}"`, 'strong: no W/ prefix');
    assert.equal(res.headers.get('last-modified'), new Date(jpeg.created_at).toUTCString());
    assert.match(res.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /(^|;\s*)sandbox(;|$)/, csp);
    assert.match(csp, /default-src 'none'/, csp);
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
  });

  it('answers 304 without a body when If-None-Match names the ETag', async () => {
    const etag = `"${jpeg.sha256}"`;
    for (const value of [etag, `"0000", ${etag}, "ffff"`, '*']) {
      const res = await fetch(jpeg.url, { headers: { 'if-none-match': value } });
      assert.equal(res.status, 304, `If-None-Match: ${value}`);
      assert.equal(res.headers.get('etag'), etag);
      assert.equal((await bodyOf(res)).length, 0);
    }
  });

  it('answers 200 when If-None-Match names only other ETags', async () => {
    const res = await fetch(jpeg.url, { headers: { 'if-none-match': '"0000", "ffff"' } });
    assert.equal(res.status, 200);
    assert.deepEqual(await bodyOf(res), jpegBytes);
  });

  it('answers 304 to If-Modified-Since at or after Last-Modified, and 200 to an older date', async () => {
    const first = await fetch(jpeg.url);
    await first.arrayBuffer();
    const lastModified = first.headers.get('last-modified')!;
    const unchanged = await fetch(jpeg.url, { headers: { 'if-modified-since': lastModified } });
    assert.equal(unchanged.status, 304);
    assert.equal((await bodyOf(unchanged)).length, 0);

    const older = new Date(Date.parse(lastModified) - 86_400_000).toUTCString();
    const changed = await fetch(jpeg.url, { headers: { 'if-modified-since': older } });
    assert.equal(changed.status, 200);
    assert.deepEqual(await bodyOf(changed), jpegBytes);
  });

  it('answers HEAD with the GET headers and Content-Length but no body', async () => {
    const get = await fetch(jpeg.url);
    await get.arrayBuffer();
    const head = await fetch(jpeg.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(jpegBytes.length));
    for (const name of ['content-type', 'etag', 'last-modified', 'cache-control', 'x-content-type-options', 'content-security-policy', 'accept-ranges']) {
      assert.equal(head.headers.get(name), get.headers.get(name), name);
    }
    assert.equal((await bodyOf(head)).length, 0);
  });

  it('answers Range: bytes=0-99 with 206, Content-Range and exactly those bytes', async () => {
    const res = await fetch(jpeg.url, { headers: { range: 'bytes=0-99' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes 0-99/${jpegBytes.length}`);
    assert.equal(res.headers.get('content-length'), '100');
    assert.deepEqual(await bodyOf(res), jpegBytes.subarray(0, 100));
  });

  it('answers a suffix range bytes=-100 with the last 100 bytes', async () => {
    const size = jpegBytes.length;
    const res = await fetch(jpeg.url, { headers: { range: 'bytes=-100' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes ${size - 100}-${size - 1}/${size}`);
    assert.deepEqual(await bodyOf(res), jpegBytes.subarray(size - 100));
  });

  it('answers an open-ended range bytes=100- with everything from byte 100', async () => {
    const size = jpegBytes.length;
    const res = await fetch(jpeg.url, { headers: { range: 'bytes=100-' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes 100-${size - 1}/${size}`);
    assert.equal(res.headers.get('content-length'), String(size - 100));
    assert.deepEqual(await bodyOf(res), jpegBytes.subarray(100));
  });

  it('answers a range past the end with 416 range_not_satisfiable and Content-Range: bytes */size', async () => {
    const res = await fetch(jpeg.url, { headers: { range: 'bytes=999999999-' } });
    assert.equal(res.headers.get('content-range'), `bytes */${jpegBytes.length}`);
    await expectProblem(res, 416, 'range_not_satisfiable');
  });

  it('answers a Range with a stale If-Range ETag with the full 200 body', async () => {
    const res = await fetch(jpeg.url, { headers: { range: 'bytes=0-99', 'if-range': '"not-the-current-etag"' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-range'), null);
    assert.deepEqual(await bodyOf(res), jpegBytes);
  });

  it('answers a Range with a current If-Range ETag with 206', async () => {
    const res = await fetch(jpeg.url, { headers: { range: 'bytes=0-99', 'if-range': `"${jpeg.sha256}"` } });
    assert.equal(res.status, 206);
    assert.deepEqual(await bodyOf(res), jpegBytes.subarray(0, 100));
  });

  it('answers a private image without a credential exactly like a missing one: 404 not_found', async () => {
    const hidden = await fetch(secret.url);
    const hiddenHeaders = stableHeaders(hidden);
    const hiddenBody = await expectProblem(hidden, 404, 'not_found');
    // Another key of the same form and a name of the same length: nothing but the words can differ.
    const missingUrl = secret.url.replace(/\/i\/[^/]+\/[^/]+$/, `/i/${'A'.repeat(16)}/${'x'.repeat(secret.filename.length - 4)}.jpg`);
    const missing = await fetch(missingUrl);
    const missingHeaders = stableHeaders(missing);
    const missingBody = await expectProblem(missing, 404, 'not_found');
    assert.deepEqual(hiddenHeaders, missingHeaders, 'no header tells a hidden image from a missing one');
    const shape = (b: Record<string, unknown>, name: string) => ({ ...b, detail: String(b.detail).replace(name, 'NAME'), instance: undefined, request_id: undefined });
    assert.deepEqual(shape(hiddenBody, secret.filename), shape(missingBody, missingUrl.split('/').at(-1)!));
    const head = await fetch(secret.url, { method: 'HEAD' });
    assert.equal(head.status, 404);
  });

  it('serves a private image to the admin token with private caching', async () => {
    const res = await fetch(secret.url, { headers: t.auth });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /^private\b/);
    assert.doesNotMatch(res.headers.get('cache-control') ?? '', /public/);
    assert.equal(res.headers.get('etag'), `"${secret.sha256}"`);
    assert.match(res.headers.get('vary') ?? '', /authorization/i, 'shared caches keep answers per credential');
    assert.deepEqual(await bodyOf(res), secretBytes);
  });

  it('answers an unknown key or filename with 404 not_found as problem+json', async () => {
    const res = await fetch(`${t.url}/i/${'A'.repeat(16)}/no-such-image.jpg`);
    const body = await expectProblem(res, 404, 'not_found');
    assert.equal(body.instance, `/i/${'A'.repeat(16)}/no-such-image.jpg`);
  });
});
