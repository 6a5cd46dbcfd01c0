// A body over a limit is not read to its end: the answer goes out and the connection closes at the limit, for every
// route and framing. Measured on the server's side of the connection: the bytes it read in all.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, startCompatApp, TOKEN, type TestApp } from '../helpers/app.js';
import { send, watchReads, type Request, type Sent } from '../helpers/raw-body.js';
import { waitFor } from '../helpers/wait.js';

const LIMIT = 1024 * 1024;
/**
 * What a body may be read past the point where it is refused: the socket's, the parser's and each stream's buffer, one
 * read each (Node 22 and later buffer 64 KiB per stream where Node 20 buffered 16 KiB). Far below what is offered.
 */
const SLACK = 512 * 1024;
const BOUNDARY = 'imgd-limits-boundary';
const JPEG_START = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
const ADMIN = `Bearer ${TOKEN}`;

/** The answer is the problem expected, the connection was closed before the body ended, after at most `bound` bytes. */
function expectCutOff(sent: Sent, status: number, code: string, bound: number): void {
  assert.equal(sent.status, status, sent.body);
  assert.equal(sent.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal((JSON.parse(sent.body) as { code: string }).code, code);
  assert.equal(sent.headers.connection, 'close');
  assert.ok(sent.serverRead <= bound, `the server read ${sent.serverRead} bytes, at most ${bound} expected`);
  assert.equal(sent.sentAll, false, 'the connection closed before the body ended');
}

const part = (headers: string): Buffer => Buffer.from(`--${BOUNDARY}\r\n${headers}\r\n\r\n`);
const MULTIPART = { authorization: ADMIN, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

describe('bodies over a limit, on the native API (MAX_FILE_SIZE=1 MiB)', () => {
  let t: TestApp;
  let reads: Map<number, number>;
  before(async () => {
    t = await startApp({ MAX_FILE_SIZE: String(LIMIT), MAX_FILES: '2' });
    reads = watchReads(t);
  });
  after(() => t.close());

  const nothingStored = async (): Promise<void> => assert.deepEqual(await t.stored(), { images: 0, blobs: 0, temp: 0 });

  for (const framing of ['chunked', 'length'] as const) {
    it(`cuts a multipart file over the limit off at the limit (${framing === 'length' ? 'Content-Length within the form bound' : 'chunked'}) with 413 file_too_large`, async () => {
      // With a Content-Length, one that two files of the limit could fill: the file's own limit is what stops it.
      const request = { method: 'POST', path: '/api/v1/images', headers: MULTIPART, framing, start: Buffer.concat([part('Content-Disposition: form-data; name="file"; filename="big.jpg"'), JPEG_START]) };
      const sent = await send(t, reads, { ...request, declared: 2 * LIMIT });
      expectCutOff(sent, 413, 'file_too_large', LIMIT + SLACK);
      await nothingStored();
    });
  }

  it('answers a multipart Content-Length over what the form may hold (2 files of the limit and the fields) with 413 body_too_large before reading it', async () => {
    const sent = await send(t, reads, { method: 'POST', path: '/api/v1/images', headers: MULTIPART, framing: 'length', start: part('Content-Disposition: form-data; name="file"; filename="big.jpg"') });
    expectCutOff(sent, 413, 'body_too_large', SLACK / 2);
    await nothingStored();
  });

  for (const framing of ['chunked', 'length'] as const) {
    it(`cuts a multipart body with no part, only an endless preamble, off at 1 MiB with 413 body_too_large (${framing})`, async () => {
      const sent = await send(t, reads, { method: 'POST', path: '/api/v1/images', headers: MULTIPART, framing, declared: 2 * LIMIT, start: Buffer.from('preamble ') });
      expectCutOff(sent, 413, 'body_too_large', LIMIT + SLACK);
      await nothingStored();
    });
  }

  it('cuts a multipart body whose only part is an endless text field off at 1 MiB with 413 body_too_large', async () => {
    const sent = await send(t, reads, { method: 'POST', path: '/api/v1/images', headers: MULTIPART, framing: 'chunked', start: part('Content-Disposition: form-data; name="description"') });
    expectCutOff(sent, 413, 'body_too_large', LIMIT + SLACK);
    await nothingStored();
  });

  it('cuts a raw PUT over the limit off at the limit with 413 file_too_large (chunked)', async () => {
    const sent = await send(t, reads, { method: 'PUT', path: '/api/v1/images?filename=big.jpg', headers: { authorization: ADMIN }, framing: 'chunked', start: JPEG_START });
    expectCutOff(sent, 413, 'file_too_large', LIMIT + SLACK);
    await nothingStored();
  });

  it('answers a raw PUT whose Content-Length is over the limit with 413 file_too_large before reading it', async () => {
    const sent = await send(t, reads, { method: 'PUT', path: '/api/v1/images?filename=big.jpg', headers: { authorization: ADMIN }, framing: 'length', start: JPEG_START });
    expectCutOff(sent, 413, 'file_too_large', SLACK / 2);
    await nothingStored();
  });

  for (const framing of ['chunked', 'length'] as const) {
    it(`cuts a JSON body over 1 MiB off with 413 body_too_large (${framing})`, async () => {
      const upload = await t.upload([['small.jpg', await readFile(fixture('jpg/Canon_40D.jpg'))]]);
      assert.equal(upload.status, 201, await upload.clone().text());
      const { id } = (await upload.json()) as { id: string };
      const sent = await send(t, reads, {
        method: 'PATCH',
        path: `/api/v1/images/${id}`,
        headers: { authorization: ADMIN, 'content-type': 'application/json' },
        framing,
        start: Buffer.from('{"description":"'),
      });
      expectCutOff(sent, 413, 'body_too_large', (framing === 'length' ? 0 : LIMIT) + SLACK);
      assert.equal(((await (await fetch(`${t.url}/api/v1/images/${id}`, { headers: { authorization: ADMIN } })).json()) as { description: string | null }).description, null);
      assert.equal((await fetch(`${t.url}/api/v1/images/${id}?permanent=true`, { method: 'DELETE', headers: { authorization: ADMIN } })).status, 204);
    });
  }

  it('closes the connection of an upload refused before its body is read (401) instead of reading the body', async () => {
    const sent = await send(t, reads, { method: 'PUT', path: '/api/v1/images?filename=big.jpg', framing: 'chunked', start: JPEG_START });
    expectCutOff(sent, 401, 'unauthorized', SLACK / 2);
    await nothingStored();
  });

  it('keeps the connection of a body read whole, refused or not', async () => {
    const socket = net.connect(Number(new URL(t.url).port), new URL(t.url).hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    let text = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
    const body = '{"description":"x"}';
    socket.write(`PATCH /api/v1/images/nope HTTP/1.1\r\nHost: x\r\nAuthorization: ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await waitFor('the first answer', async () => (text.includes('"code":"not_found"') ? true : undefined));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the second answer on the same connection', async () => (text.includes('{"status":"ok"}') ? true : undefined));
    assert.doesNotMatch(text, /connection: close/i);
    socket.destroy();
  });
});


describe('bodies over a limit, on the compatibility profiles (MAX_FILE_SIZE=1 MiB)', () => {
  const SECRET = 'media-server-secret-for-the-limits-test';
  const apps: TestApp[] = [];
  let shared: TestApp;
  let apart: TestApp;
  const reads = new Map<TestApp, Map<number, number>>();
  before(async () => {
    // attachments and img_handler both serve GET /images/{name}, attachments and media_server POST /upload: two listeners.
    shared = await startCompatApp('img_handler,imgapi,media_server', { MAX_FILE_SIZE: String(LIMIT), MEDIA_SERVER_SECRET: SECRET });
    apart = await startCompatApp('attachments,s3_upload', { MAX_FILE_SIZE: String(LIMIT) });
    for (const t of [shared, apart]) {
      apps.push(t);
      reads.set(t, watchReads(t));
    }
  });
  after(() => Promise.all(apps.map((t) => t.close())));

  const token = (): string => {
    const ts = String(Math.floor(Date.now() / 1000));
    return `${ts}.${createHmac('sha256', SECRET).update(ts).digest('hex')}`;
  };
  const filePart = Buffer.concat([part('Content-Disposition: form-data; name="file"; filename="big.jpg"\r\nContent-Type: image/jpeg'), JPEG_START]);
  const multipart = (extra: Record<string, string> = {}) => ({ 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...extra });

  /** The seed's answer for a file over its limit, the connection closed before the body ended, after at most `bound` bytes. */
  async function expectSeedCutOff(t: TestApp, request: Request, status: number, bound = LIMIT + SLACK): Promise<void> {
    const before = await t.stored();
    const sent = await send(t, reads.get(t)!, request);
    assert.equal(sent.status, status, sent.body);
    assert.equal(sent.headers['content-type'], 'application/json');
    assert.match(sent.body, /File too large|larger than/);
    assert.equal(sent.headers.connection, 'close');
    assert.ok(sent.serverRead <= bound, `the server read ${sent.serverRead} bytes, at most ${bound} expected`);
    assert.equal(sent.sentAll, false, 'the connection closed before the body ended');
    assert.deepEqual(await t.stored(), before, 'nothing stored');
  }

  for (const framing of ['chunked', 'length'] as const) {
    const declared = framing === 'length' ? { declared: LIMIT + LIMIT / 2 } : {};
    it(`img_handler: POST /upload-image cuts a file over the limit off with 413 (${framing})`, async () => {
      await expectSeedCutOff(shared, { method: 'POST', path: '/upload-image', headers: multipart({ authorization: ADMIN }), framing, ...declared, start: filePart }, 413);
    });
    it(`imgapi: POST /api/images cuts a file over the limit off with its failed answer (${framing})`, async () => {
      await expectSeedCutOff(shared, { method: 'POST', path: '/api/images', headers: multipart(), framing, ...declared, start: filePart }, 200);
    });
    it(`media_server: POST /upload cuts a file over the limit off with 400 (${framing})`, async () => {
      await expectSeedCutOff(shared, { method: 'POST', path: `/upload?token=${token()}`, headers: multipart(), framing, ...declared, start: filePart }, 400);
    });
    it(`attachments: POST /upload cuts a file over the limit off with 400 (${framing})`, async () => {
      await expectSeedCutOff(apart, { method: 'POST', path: '/upload', headers: multipart({ authorization: ADMIN }), framing, ...declared, start: filePart }, 400);
    });
    it(`s3_upload: POST /upload/{id} cuts a file over the limit off with 413 (${framing})`, async () => {
      await expectSeedCutOff(apart, { method: 'POST', path: '/upload/user1', headers: multipart(), framing, ...declared, start: filePart }, 413);
    });
  }

  it('answers a Content-Length over the limit and the form bound at once (img_handler, 413)', async () => {
    await expectSeedCutOff(shared, { method: 'POST', path: '/upload-image', headers: multipart({ authorization: ADMIN }), framing: 'length', start: filePart }, 413, SLACK / 2);
  });

  it('cuts a form with no file part, only an endless preamble, off at the bound (s3_upload, 413)', async () => {
    await expectSeedCutOff(apart, { method: 'POST', path: '/upload/user1', headers: multipart(), framing: 'chunked', start: Buffer.from('preamble ') }, 413);
  });
});
