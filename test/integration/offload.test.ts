// SENDFILE=x-accel: imgd decides access and headers and hands full GETs to nginx with X-Accel-Redirect; with nginx
// installed, the shipped deploy/nginx/imgd-offload.conf serves them (under CI=true a missing nginx is a failure).
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectProblem } from '../helpers/accounts.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { nginxMissing, shippedSnippet, startNginx, type Nginx } from '../helpers/nginx.js';
import type { Image } from '../helpers/images.js';

const JPEG = fixture('jpg/xmp/BlueSquare.jpg');
const PREFIX = '/_imgd_blobs/';

const originalKey = (sha: string): string => `originals/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`;

/** Offload needs the disk store: the scale profile's S3 is replaced by it here (its database and queue stay). */
const startOffloading = (): Promise<TestApp> => startApp({ STORAGE: 'fs', SENDFILE: 'x-accel' });

describe('offload to nginx (SENDFILE=x-accel)', () => {
  let t: TestApp;
  let bytes: Buffer;
  let image: Image;

  before(async () => {
    t = await startOffloading();
    bytes = await readFile(JPEG);
    const res = await t.upload([['offloaded.jpg', bytes]]);
    assert.equal(res.status, 201, await res.clone().text());
    image = (await res.json()) as Image;
  });
  after(() => t.close());

  it('answers a full GET with every header, no body and X-Accel-Redirect to the blob, the first time and on repeats', async () => {
    for (let i = 0; i < 3; i += 1) {
      const res = await fetch(image.url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-accel-redirect'), `${PREFIX}${originalKey(image.sha256)}`);
      assert.equal(res.headers.get('etag'), `"${image.sha256}"`);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=3600');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.equal(res.headers.get('content-length'), '0');
      assert.equal((await res.arrayBuffer()).byteLength, 0);
    }
  });

  it('hands a variant over under its own blob key, with Vary: Accept', async () => {
    const res = await fetch(image.variants.small!, { headers: { accept: 'image/webp' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/webp');
    assert.equal(res.headers.get('vary'), 'Accept');
    assert.match(res.headers.get('x-accel-redirect') ?? '', new RegExp(`^${PREFIX}variants/${image.sha256.slice(0, 2)}/${image.sha256.slice(2, 4)}/${image.sha256}/[^/]+\\.webp$`));
    await res.arrayBuffer();
    const stored = await t.blobKeys('variants/');
    assert.ok(stored.includes(res.headers.get('x-accel-redirect')!.slice(PREFIX.length)), 'the key names a stored variant');
  });

  it('answers HEAD, 304 and ranges itself, without handing anything over', async () => {
    const head = await fetch(image.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal(head.headers.get('x-accel-redirect'), null);

    const notModified = await fetch(image.url, { headers: { 'if-none-match': `"${image.sha256}"` } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('x-accel-redirect'), null);

    const range = await fetch(image.url, { headers: { range: 'bytes=0-9' } });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get('x-accel-redirect'), null);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), bytes.subarray(0, 10));
  });

  it('hands over nothing of a private image to an anonymous request', async () => {
    const res = await t.upload([['private.jpg', bytes]], { visibility: 'private' });
    const hidden = (await res.json()) as Image;
    const anonymous = await fetch(hidden.url);
    assert.equal(anonymous.headers.get('x-accel-redirect'), null);
    await expectProblem(anonymous, 404, 'not_found');
    const owner = await fetch(hidden.url, { headers: t.auth });
    assert.equal(owner.status, 200);
    assert.equal(owner.headers.get('cache-control'), 'private, no-cache');
    assert.equal(owner.headers.get('x-accel-redirect'), `${PREFIX}${originalKey(hidden.sha256)}`);
  });

  it('refuses to start with the S3 store, naming the setting', async () => {
    await assert.rejects(startApp({ STORAGE: 's3', S3_BUCKET: 'some-bucket', SENDFILE: 'x-accel' }), /SENDFILE: x-accel needs STORAGE=fs/);
  });
});

describe('imgd behind nginx with deploy/nginx/imgd-offload.conf', { skip: nginxMissing() }, () => {
  let t: TestApp;
  let nginx: Nginx | undefined;
  let bytes: Buffer;
  let image: Image;

  before(async () => {
    t = await startOffloading();
    // The offload location's alias pointed at the app's store.
    const offload = await shippedSnippet('imgd-offload.conf', 'alias /var/lib/imgd/blobs/;', `alias ${path.join(t.dataDir, 'blobs')}/;`);
    nginx = await startNginx(t.url, path.join(t.dataDir, 'nginx'), [offload]);
    bytes = await readFile(JPEG);
    const res = await t.upload([['behind-nginx.jpg', bytes]]);
    assert.equal(res.status, 201, await res.clone().text());
    image = (await res.json()) as Image;
  });
  after(async () => {
    await nginx?.stop();
    await t?.close();
    if (t) await rm(path.join(t.dataDir, 'nginx'), { recursive: true, force: true });
  });

  const viaNginx = (url: string): string => `${nginx!.url}${new URL(url).pathname}${new URL(url).search}`;

  it('sends the original bytes with imgd\'s headers, not nginx\'s own validators', async () => {
    for (let i = 0; i < 3; i += 1) {
      const res = await fetch(viaNginx(image.url));
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
      assert.equal(res.headers.get('etag'), `"${image.sha256}"`);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.equal(res.headers.get('content-length'), String(bytes.length));
      assert.equal(res.headers.get('cache-control'), 'public, max-age=3600');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
      assert.equal(res.headers.get('content-disposition'), 'inline; filename="behind-nginx.jpg"');
      assert.ok(res.headers.get('x-request-id'));
      assert.equal(res.headers.get('x-accel-redirect'), null);
      const lastModified = res.headers.get('last-modified');
      assert.ok(lastModified && Date.parse(lastModified) > 0);
    }
  });

  it('sends a variant with its Vary, and answers 304 and ranges through imgd', async () => {
    const res = await fetch(viaNginx(image.variants.small!), { headers: { accept: 'image/avif;q=0,image/webp' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/webp');
    assert.equal(res.headers.get('vary'), 'Accept');
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.subarray(8, 12).toString('latin1'), 'WEBP');

    const notModified = await fetch(viaNginx(image.url), { headers: { 'if-none-match': `"${image.sha256}"` } });
    assert.equal(notModified.status, 304);
    const range = await fetch(viaNginx(image.url), { headers: { range: 'bytes=5-14' } });
    assert.equal(range.status, 206);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), bytes.subarray(5, 15));
  });

  it('answers 404 for the internal location asked for directly, and for a deleted image', async () => {
    const direct = await fetch(`${nginx!.url}${PREFIX}${originalKey(image.sha256)}`);
    assert.equal(direct.status, 404);
    await direct.arrayBuffer();
    const res = await t.upload([['deleted-behind-nginx.jpg', bytes]]);
    const doomed = (await res.json()) as Image;
    assert.equal((await fetch(viaNginx(doomed.url))).status, 200);
    assert.equal((await fetch(`${t.url}/api/v1/images/${doomed.id}`, { method: 'DELETE', headers: t.auth })).status, 204);
    await expectProblem(await fetch(viaNginx(doomed.url)), 404, 'not_found');
  });
});
