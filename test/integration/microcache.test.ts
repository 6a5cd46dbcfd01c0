// nginx's micro-cache of imgd's public answers (SENDFILE=x-accel, X-Accel-Expires): imgd says how long an answer
// anyone may have can be kept, and 0 for the rest; with nginx installed, the shipped deploy/nginx/imgd-microcache*.conf
// answer repeats without asking imgd (under CI=true a missing nginx is a failure).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectProblem, json, REPO_ROOT } from '../helpers/accounts.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { nginxMissing, shippedSnippet, shippedWith, startNginx, type Nginx } from '../helpers/nginx.js';
import type { Image } from '../helpers/images.js';

const JPEG = fixture('jpg/xmp/BlueSquare.jpg');

const upload = async (t: TestApp, name: string, visibility = 'public'): Promise<Image> => {
  const res = await t.upload([[name, await readFile(JPEG)]], { visibility });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as Image;
};

/** A share link's query (?expires&sig) for the image, made by its owner. */
async function shareQuery(t: TestApp, image: Image): Promise<string> {
  const res = await fetch(`${t.url}/api/v1/images/${image.id}/share`, json({ expires_in: 600 }, t.auth));
  assert.equal(res.status, 200);
  return new URL(((await res.json()) as { url: string }).url).search;
}

/** imgd's count of GETs of variants, its fast lane's included. */
async function variantGets(t: TestApp): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`, { headers: t.auth })).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith('imgd_http_requests_total{') && line.includes('route="/i/:key/:filename/:variant"') && line.includes('method="GET"')) total += Number(line.split(' ').at(-1));
  return total;
}

describe('X-Accel-Expires on imgd\'s answers (SENDFILE=x-accel)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ STORAGE: 'fs', SENDFILE: 'x-accel' });
  });
  after(() => t.close());

  const expiresOf = async (url: string, init: RequestInit = {}): Promise<[number, string | null]> => {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    return [res.status, res.headers.get('x-accel-expires')];
  };

  it('gives SENDFILE_CACHE_SECONDS only to a full anonymous GET of a public image, 0 to every other answer', async () => {
    const image = await upload(t, 'expires.jpg');
    const small = image.variants.small!;
    const etag = (await fetch(small, { method: 'HEAD' })).headers.get('etag')!;
    assert.deepEqual(await expiresOf(small, { headers: { 'if-none-match': etag } }), [304, '0']);
    assert.deepEqual(await expiresOf(small, { headers: { range: 'bytes=0-9' } }), [206, '0']);
    assert.deepEqual(await expiresOf(small, { method: 'HEAD' }), [200, '0']);
    assert.deepEqual(await expiresOf(small, { headers: t.auth }), [200, '0'], 'signed in');
    assert.deepEqual(await expiresOf(`${small}${await shareQuery(t, image)}`), [200, '0'], 'a share link');
    // The second time from the fast lane, with the same header.
    for (let i = 0; i < 2; i += 1) assert.deepEqual(await expiresOf(small), [200, '1']);
    assert.deepEqual(await expiresOf(small, { headers: { 'if-none-match': etag } }), [304, '0'], 'a 304 from the fast lane');
    assert.deepEqual(await expiresOf(image.url), [200, '1'], 'an original');

    const hidden = await upload(t, 'expires-private.jpg', 'private');
    assert.deepEqual(await expiresOf(hidden.variants.small!, { headers: t.auth }), [200, '0'], 'private, to its owner');
    assert.deepEqual(await expiresOf(`${hidden.variants.small!}${await shareQuery(t, hidden)}`), [200, '0'], 'private, by a share link');

    // A 404 to an anonymous GET is kept as long as a public 200 (it replaces the 200 of an image withdrawn); no other error.
    assert.deepEqual(await expiresOf(hidden.variants.small!), [404, '1'], 'private, to anyone');
    assert.deepEqual(await expiresOf(hidden.url), [404, '1'], 'a private original, to anyone');
    const missing = `${new URL(image.url).origin}/i/AAAAAAAAAAAAAAAA/none.jpg`;
    assert.deepEqual(await expiresOf(missing), [404, '1'], 'no such image');
    assert.deepEqual(await expiresOf(missing, { method: 'HEAD' }), [404, null], 'a HEAD');
    assert.deepEqual(await expiresOf(missing, { headers: t.auth }), [404, null], 'signed in');
    assert.deepEqual(await expiresOf(`${missing}?expires=9999999999&sig=AAAA`), [404, null], 'with a share signature');
  });

  it('says 0 to everyone with SENDFILE_CACHE_SECONDS=0, and refuses more than 60 s', async () => {
    const off = await startApp({ STORAGE: 'fs', SENDFILE: 'x-accel', SENDFILE_CACHE_SECONDS: '0' });
    try {
      const image = await upload(off, 'no-cache.jpg');
      assert.deepEqual(await expiresOf(image.variants.small!), [200, '0']);
    } finally {
      await off.close();
    }
    await assert.rejects(startApp({ STORAGE: 'fs', SENDFILE: 'x-accel', SENDFILE_CACHE_SECONDS: '61' }), /SENDFILE_CACHE_SECONDS/);
  });

  it('keeps the hop\'s copy of the offload location in step with imgd-offload.conf', async () => {
    const lines = async (name: string): Promise<string[]> =>
      (await readFile(path.join(REPO_ROOT, 'deploy/nginx', name), 'utf8')).split('\n').map((line) => line.trim()).filter((line) => /^(add_header|sendfile|tcp_nopush|open_file_cache|etag|if_modified_since|max_ranges|internal)\b/.test(line));
    const hop = new Set(await lines('imgd-microcache-http.conf'));
    for (const line of await lines('imgd-offload.conf')) {
      // The client-facing location (imgd-microcache.conf) writes these two on every answer.
      if (/X-Request-Id|Strict-Transport-Security/.test(line)) continue;
      assert.ok(hop.has(line), `imgd-microcache-http.conf lacks "${line}" of imgd-offload.conf`);
    }
  });
});

describe('imgd behind nginx with its micro-cache (deploy/nginx/imgd-microcache*.conf)', { skip: nginxMissing() }, () => {
  let t: TestApp;
  let nginx: Nginx | undefined;

  before(async () => {
    t = await startApp({ STORAGE: 'fs', SENDFILE: 'x-accel' });
    const work = path.join(t.dataDir, 'nginx');
    const blobs = `alias ${path.join(t.dataDir, 'blobs')}/;`;
    const offload = await shippedSnippet('imgd-offload.conf', 'alias /var/lib/imgd/blobs/;', blobs);
    const location = await shippedWith('imgd-microcache.conf', {});
    const http = await shippedWith('imgd-microcache-http.conf', {
      'alias /var/lib/imgd/blobs/;': blobs,
      '/run/imgd-nginx-hop.sock': path.join(work, 'hop.sock'),
      '/var/cache/nginx-imgd': path.join(work, 'cache'),
    });
    nginx = await startNginx(t.url, work, [offload, location], [http]);
  });
  after(async () => {
    await nginx?.stop();
    await t?.close();
  });

  const viaNginx = (url: string, query = ''): string => `${nginx!.url}${new URL(url).pathname}${query}`;
  const get = async (url: string, headers: Record<string, string> = {}): Promise<{ res: Response; body: Buffer }> => {
    const res = await fetch(url, { headers });
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('x-accel-expires'), null, 'nginx keeps X-Accel-Expires to itself');
    assert.equal(res.headers.get('x-accel-redirect'), null);
    return { res, body };
  };

  it('answers a repeated GET of a public variant from the cache without asking imgd, one answer per Accept', async () => {
    const image = await upload(t, 'cached.jpg');
    const url = viaNginx(image.variants.small!);
    const before = await variantGets(t);
    const webp = [await get(url, { accept: 'image/webp' }), await get(url, { accept: 'image/webp' })];
    const jpeg = [await get(url, { accept: 'image/jpeg' }), await get(url, { accept: 'image/jpeg' })];
    assert.equal(await variantGets(t), before + 2, 'imgd was asked once for each Accept');
    for (const { res, body } of webp) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/webp');
      assert.equal(res.headers.get('vary'), 'Accept');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=3600');
      assert.equal(body.subarray(8, 12).toString('latin1'), 'WEBP');
      assert.deepEqual(body, webp[0]!.body);
    }
    for (const { res, body } of jpeg) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.equal(body.subarray(0, 2).toString('hex'), 'ffd8');
      assert.deepEqual(body, jpeg[0]!.body);
    }
    assert.ok(webp[0]!.res.headers.get('x-request-id'), 'what imgd answered names its request');
    assert.equal(webp[1]!.res.headers.get('x-request-id'), null, 'an answer from the cache names no request (nor the first one)');

    // A HEAD is answered from the same entry, with the length of what a GET sends.
    const head = await fetch(url, { method: 'HEAD', headers: { accept: 'image/webp' } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'image/webp');
    assert.equal(head.headers.get('content-length'), String(webp[0]!.body.length));
    assert.equal(await variantGets(t), before + 2, 'the HEAD did not reach imgd');

    // Conditions and ranges are imgd's to answer, as without the cache.
    const etag = webp[0]!.res.headers.get('etag')!;
    assert.equal((await get(url, { accept: 'image/webp', 'if-none-match': etag })).res.status, 304);
    const range = await get(url, { accept: 'image/webp', range: 'bytes=0-9' });
    assert.equal(range.res.status, 206);
    assert.deepEqual(range.body, webp[0]!.body.subarray(0, 10));
    assert.equal(await variantGets(t), before + 4);
  });

  it('stops sending a variant made private within SENDFILE_CACHE_SECONDS + 1 s, to concurrent requests too', async () => {
    const image = await upload(t, 'made-private.jpg');
    const url = viaNginx(image.variants.small!);
    assert.equal((await get(url)).res.status, 200);
    const patched = await fetch(`${t.url}/api/v1/images/${image.id}`, { ...json({ visibility: 'private' }, t.auth), method: 'PATCH' });
    assert.equal(patched.status, 200);
    const changed = Date.now();
    // Bursts of 8: once the entry expires, one request asks imgd and the others get the expired answer until imgd's
    // 404 replaces it (an uncached 404 would leave the 200 there for every burst after).
    let lastSent = 0;
    while (Date.now() - changed < 3500) {
      const burst = await Promise.all(Array.from({ length: 8 }, () => get(url)));
      for (const { res } of burst) {
        assert.ok(res.status === 200 || res.status === 404, `answered ${res.status}`);
        if (res.status === 200) lastSent = Date.now() - changed;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(lastSent <= 2000 + 250, `sent from the cache ${lastSent} ms after the change`);
    // Its owner still gets it: a signed-in request skips the cache.
    assert.equal((await get(url, t.auth)).res.status, 200);
  });

  it('keeps no answer to a signed-in request or a share link; a private variant stays 404 to anonymous requests', async () => {
    const hidden = await upload(t, 'private-variant.jpg', 'private');
    const url = viaNginx(hidden.variants.small!);
    const share = await shareQuery(t, hidden);
    const before = await variantGets(t);
    for (let i = 0; i < 2; i += 1) {
      const owner = await get(url, t.auth);
      assert.equal(owner.res.status, 200);
      assert.equal(owner.res.headers.get('cache-control'), 'private, no-cache');
      assert.ok(owner.body.length > 0);
      const anonymous = await fetch(url);
      assert.equal(anonymous.headers.get('x-accel-expires'), null);
      await expectProblem(anonymous, 404, 'not_found');
      assert.equal((await get(`${url}${share}`)).res.status, 200);
    }
    // The owner's and the share link's four, and the first anonymous one: its 404 is kept.
    assert.equal(await variantGets(t), before + 5, 'imgd answered every one of them but the second anonymous 404');
  });

  it('refreshes an expired answer with one request to imgd while the requests that arrive meanwhile get the expired one', async () => {
    const image = await upload(t, 'hot.jpg');
    const url = viaNginx(image.variants.small!);
    const first = await get(url);
    assert.equal(first.res.status, 200);
    // Past SENDFILE_CACHE_SECONDS + 1 s: the entry has expired.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const before = await variantGets(t);
    const burst = await Promise.all(Array.from({ length: 32 }, () => get(url)));
    for (const { res, body } of burst) {
      assert.equal(res.status, 200);
      assert.deepEqual(body, first.body);
    }
    assert.equal(await variantGets(t), before + 1, 'imgd was asked once for the 32');
  });
});
