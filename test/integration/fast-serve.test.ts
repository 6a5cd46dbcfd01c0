// The fast lane for public bytes (src/http/fast-serve.ts): a repeated GET answers exactly like the first, from memory or
// from the store, and nothing it remembers outlives a change: at once for changes through this server, within a second
// for others.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createCatalog } from '../../src/db/catalog.js';
import { FastServe, type FastBodies } from '../../src/http/fast-serve.js';
import { createMetrics } from '../../src/http/metrics.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/accounts.js';
import type { Image } from '../helpers/images.js';

const JPEG = fixture('jpg/xmp/BlueSquare.jpg');

/** Everything a client sees but what differs on every response. */
async function answer(res: Response): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!['date', 'x-request-id', 'keep-alive', 'connection'].includes(name)) headers[name] = value;
  });
  return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
}

async function requestCount(t: TestApp, route: string, status: string): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('imgd_http_requests_total{') && l.includes(`route="${route}"`) && l.includes('method="GET"') && l.includes(`status="${status}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('repeated GETs of public images (the fast lane)', () => {
  let t: TestApp;
  let bytes: Buffer;

  const uploadPublic = async (name: string): Promise<Image> => {
    const res = await t.upload([[name, bytes]]);
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Image;
  };

  const patch = (id: string, body: unknown): Promise<Response> =>
    fetch(`${t.url}/api/v1/images/${id}`, { method: 'PATCH', body: JSON.stringify(body), headers: { ...t.auth, 'content-type': 'application/json' } });

  before(async () => {
    t = await startApp();
    bytes = await readFile(JPEG);
  });
  after(() => t.close());

  it('answers every repeat of an original with the status, headers and bytes of the first answer', async () => {
    const image = await uploadPublic('repeat.jpg');
    const first = await answer(await fetch(image.url));
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, bytes);
    for (let i = 0; i < 3; i += 1) assert.deepEqual(await answer(await fetch(image.url)), first);
  });

  it('answers every repeat of a negotiated variant like the first, per Accept header', async () => {
    const image = await uploadPublic('variant.jpg');
    const url = `${image.url}/small`;
    const webp = await answer(await fetch(url, { headers: { accept: 'image/webp,*/*' } }));
    const jpeg = await answer(await fetch(url, { headers: { accept: 'image/jpeg' } }));
    assert.equal(webp.headers['content-type'], 'image/webp');
    assert.equal(jpeg.headers['content-type'], 'image/jpeg');
    assert.equal(webp.headers.vary, 'Accept');
    for (let i = 0; i < 3; i += 1) {
      assert.deepEqual(await answer(await fetch(url, { headers: { accept: 'image/webp,*/*' } })), webp);
      assert.deepEqual(await answer(await fetch(url, { headers: { accept: 'image/jpeg' } })), jpeg);
    }
  });

  it('answers HEAD, If-None-Match and Range on a warm URL as the router does', async () => {
    const image = await uploadPublic('conditions.jpg');
    const warm = await fetch(image.url);
    await warm.arrayBuffer();
    const etag = warm.headers.get('etag')!;

    const head = await fetch(image.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal(head.headers.get('etag'), etag);
    assert.equal((await head.arrayBuffer()).byteLength, 0);

    const notModified = await fetch(image.url, { headers: { 'if-none-match': etag } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('etag'), etag);
    assert.equal((await notModified.arrayBuffer()).byteLength, 0);

    const other = await fetch(image.url, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(other.status, 200);
    assert.deepEqual(Buffer.from(await other.arrayBuffer()), bytes);

    const listed = await fetch(image.url, { headers: { 'if-none-match': `"a", ${etag}` } });
    assert.equal(listed.status, 304);

    const range = await fetch(image.url, { headers: { range: 'bytes=0-9' } });
    assert.equal(range.status, 206);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), bytes.subarray(0, 10));
  });

  it('keeps the connection open for the next request when it answers a repeat', async () => {
    const image = await uploadPublic('keep-alive.jpg');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const get = (): Promise<{ status: number; connection: string | undefined }> =>
      new Promise((resolve, reject) => {
        http
          .get(image.url, { agent }, (res) => {
            sockets.add(res.socket);
            res.resume().on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
          })
          .on('error', reject);
      });
    try {
      for (let i = 0; i < 4; i += 1) assert.deepEqual(await get(), { status: 200, connection: 'keep-alive' });
      assert.equal(sockets.size, 1, 'every answer came over one connection');
    } finally {
      agent.destroy();
    }
  });

  it('still refuses a bad credential on a warm URL with 401', async () => {
    const image = await uploadPublic('credential.jpg');
    await (await fetch(image.url)).arrayBuffer();
    await (await fetch(image.url)).arrayBuffer();
    const res = await fetch(image.url, { headers: { authorization: 'Bearer not-a-valid-token' } });
    await expectProblem(res, 401, 'unauthorized');
  });

  it('sees a delete through the API on the very next GET', async () => {
    const image = await uploadPublic('deleted.jpg');
    for (let i = 0; i < 2; i += 1) assert.equal((await answer(await fetch(image.url))).status, 200);
    const removed = await fetch(`${t.url}/api/v1/images/${image.id}`, { method: 'DELETE', headers: t.auth });
    assert.equal(removed.status, 204);
    await expectProblem(await fetch(image.url), 404, 'not_found');
    await expectProblem(await fetch(`${image.url}/small`), 404, 'not_found');
  });

  it('sees an image made private through the API on the very next anonymous GET', async () => {
    const image = await uploadPublic('hidden.jpg');
    for (let i = 0; i < 2; i += 1) {
      assert.equal((await answer(await fetch(image.url))).status, 200);
      assert.equal((await answer(await fetch(`${image.url}/small`))).status, 200);
    }
    const res = await patch(image.id, { visibility: 'private' });
    assert.equal(res.status, 200, await res.clone().text());
    await expectProblem(await fetch(image.url), 404, 'not_found');
    await expectProblem(await fetch(`${image.url}/small`), 404, 'not_found');
    const owner = await fetch(image.url, { headers: t.auth });
    assert.equal(owner.status, 200);
    assert.equal(owner.headers.get('cache-control'), 'private, no-cache');
    await owner.arrayBuffer();
    // The owner's answer is private: it is never replayed to anyone else.
    await expectProblem(await fetch(image.url), 404, 'not_found');
  });

  it('sees a change made outside this server (another instance, the CLI) within a second', async () => {
    const image = await uploadPublic('elsewhere.jpg');
    for (let i = 0; i < 2; i += 1) assert.equal((await answer(await fetch(image.url))).status, 200);
    // Straight to the database, as another process sharing it would: this server is not told.
    await createCatalog(t.app.db, { groupCommits: false }).updateImage(image.id, { visibility: 'private' });
    await sleep(1100);
    await expectProblem(await fetch(image.url), 404, 'not_found');
  });

  it('reports the bytes the hot cache holds in /metrics', async () => {
    const image = await uploadPublic('cached.jpg');
    await (await fetch(image.url)).arrayBuffer();
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const hot = /^imgd_cache_bytes\{cache="hot"\} (\d+)$/m.exec(text);
    assert.ok(hot, 'a hot cache gauge');
    assert.ok(Number(hot[1]) >= bytes.length, `${hot[1]} bytes held after serving ${bytes.length}`);
    assert.match(text, /^imgd_cache_bytes\{cache="libvips"\} \d+$/m);
  });

  it('counts repeated GETs in the request metrics like any other request', async () => {
    const image = await uploadPublic('counted.jpg');
    await (await fetch(image.url)).arrayBuffer();
    const before = await requestCount(t, '/i/:key/:filename', '200');
    for (let i = 0; i < 5; i += 1) await (await fetch(image.url)).arrayBuffer();
    assert.equal(await requestCount(t, '/i/:key/:filename', '200'), before + 5);
  });
});

describe('the fast lane reading bytes that memory no longer holds', () => {
  const JPEG_BYTES = readFileSync(JPEG);
  let server: http.Server;
  let base: string;
  let fast: FastServe;
  /** What the router would have answered: counted, and marked so a test tells who answered. */
  let routed = 0;
  /** How a read of the store goes this time. */
  let read: () => Promise<Buffer | undefined> = async () => JPEG_BYTES;

  const bodies: FastBodies = { hot: () => undefined, whole: (size) => size < 1024 * 1024, load: () => read() };
  const remembered = (url: string): void => {
    const headers = ['content-type', 'image/jpeg', 'content-length', String(JPEG_BYTES.length), 'etag', '"e1"'];
    // fetch() asks with Accept: */*, and an answer is remembered per Accept header.
    const req = { method: 'GET', url, headers: { accept: '*/*' } } as unknown as http.IncomingMessage;
    fast.remember(req, { headers, etag: '"e1"', blobKey: 'originals/e1', size: JPEG_BYTES.length, contentType: 'image/jpeg', offloaded: false, route: '/i/:filename' }, fast.version);
  };

  before(async () => {
    fast = new FastServe(bodies, createMetrics(), pino({ level: 'silent' }), { lasting: () => true });
    server = http.createServer((req, res) =>
      fast.serve(req, res, () => {
        routed += 1;
        res.writeHead(200, { 'x-answered-by': 'router' }).end('router');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers a remembered public image with its bytes read from the store, without the router', async () => {
    remembered('/i/cold.jpg');
    routed = 0;
    for (let i = 0; i < 3; i += 1) {
      const res = await fetch(`${base}/i/cold.jpg`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('etag'), '"e1"');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), JPEG_BYTES);
    }
    assert.equal(routed, 0);
  });

  it('leaves the request to the router when the read fails, or when the image changed while it was read', async () => {
    remembered('/i/gone.jpg');
    routed = 0;
    read = () => Promise.reject(new Error('ENOENT'));
    assert.equal((await fetch(`${base}/i/gone.jpg`)).headers.get('x-answered-by'), 'router');
    read = async () => undefined;
    assert.equal((await fetch(`${base}/i/gone.jpg`)).headers.get('x-answered-by'), 'router', 'bytes of another size');

    remembered('/i/changing.jpg');
    read = async () => {
      // Made private (or deleted) through this process while the bytes were on their way.
      fast.forget();
      return JPEG_BYTES;
    };
    const res = await fetch(`${base}/i/changing.jpg`);
    assert.equal(res.headers.get('x-answered-by'), 'router');
    assert.equal(await res.text(), 'router');
    assert.equal(routed, 3);
    read = async () => JPEG_BYTES;
  });
});
