// One problem+json shape for every error the server sends, those made before a route runs included (HTTP parser, router, shutdown).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { expectProblem, PROBLEM_TYPE } from '../helpers/accounts.js';
import { rawExchange } from '../helpers/raw-http.js';

const SHAPE = ['code', 'detail', 'instance', 'request_id', 'status', 'title', 'type'];

interface RawAnswer {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: Record<string, unknown>;
}

/** Sends bytes on a fresh connection (then `trickle`, a byte every 200 ms) and reads the answer up to the connection's end. */
async function raw(t: TestApp, bytes: string, trickle = false): Promise<RawAnswer> {
  const answer = await rawExchange(t.url, bytes, trickle);
  return { ...answer, body: JSON.parse(answer.body) as Record<string, unknown> };
}

function expectRawProblem(answer: RawAnswer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer));
  assert.equal(answer.headers['content-type'], PROBLEM_TYPE);
  assert.equal(answer.headers['x-content-type-options'], 'nosniff');
  assert.deepEqual(Object.keys(answer.body).sort(), SHAPE);
  assert.equal(answer.body.code, code);
  assert.equal(answer.body.status, status);
  assert.equal(answer.body.type, `urn:imgd:problem:${code}`);
  assert.equal(answer.body.request_id, answer.headers['x-request-id']);
}

describe('errors before the route', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ REQUEST_TIMEOUT_MS: '1000', CONNECTION_TIMEOUT_MS: '10000' });
  });
  after(() => t.close());

  it('answers headers over 16 KiB with 431 headers_too_large as problem+json and closes the connection', async () => {
    expectRawProblem(await raw(t, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'headers_too_large');
    expectRawProblem(await raw(t, `GET /api/v1/images?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 431, 'headers_too_large');
  });

  it('answers a path segment over 256 characters with 414 uri_too_long as problem+json', async () => {
    const res = await fetch(`${t.url}/i/${'a'.repeat(300)}.jpg`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const problem = await expectProblem(res, 414, 'uri_too_long');
    assert.deepEqual(Object.keys(problem).sort(), SHAPE);
    assert.equal(problem.request_id, res.headers.get('x-request-id'));
  });

  it('answers bad framing (Content-Length with chunked, or no HTTP at all) with 400 bad_request as problem+json', async () => {
    expectRawProblem(await raw(t, 'POST /api/v1/images HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'), 400, 'bad_request');
    expectRawProblem(await raw(t, 'HELLO\r\n\r\n'), 400, 'bad_request');
  });

  it('answers a broken %-escape in the path with 400 bad_request as problem+json', async () => {
    const answer = await raw(t, 'GET /i/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expectRawProblem(answer, 400, 'bad_request');
    assert.equal(answer.body.instance, '/i/%E0%A4%A');
  });

  it('answers a request still unread after REQUEST_TIMEOUT_MS with 408 request_timeout as problem+json', async () => {
    const started = Date.now();
    expectRawProblem(await raw(t, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', true), 408, 'request_timeout');
    assert.ok(Date.now() - started < 3000, `answered after ${Date.now() - started} ms`);
  });

  it('serves a stored name of the longest kind (80-character stem and a collision stamp)', async () => {
    const name = `${'b'.repeat(80)}.jpg`;
    const image = fixture('jpg/Canon_40D.jpg');
    const bytes = new Uint8Array(await readFile(image));
    assert.equal((await t.upload([[name, bytes]])).status, 201);
    const second = await t.upload([[name, bytes]]);
    assert.equal(second.status, 201);
    const { url } = (await second.json()) as { url: string };
    assert.ok(new URL(url).pathname.length > 100, url);
    assert.equal((await fetch(url)).status, 200);
  });
});

describe('form fields that name Object.prototype properties', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  // A field collector on a plain object took these for fields given twice (validation_failed), or dropped __proto__.
  for (const name of ['__proto__', 'constructor', 'toString']) {
    it(`refuses a field named ${name} with 400 unknown_field and stores nothing`, async () => {
      const problem = await expectProblem(await t.upload([fixture('jpg/Canon_40D.jpg')], { [name]: 'x' }), 400, 'unknown_field');
      assert.deepEqual(problem.fields, [name]);
      const put = await fetch(`${t.url}/api/v1/images?${name}=x`, { method: 'PUT', body: await readFile(fixture('jpg/Canon_40D.jpg')), headers: t.auth });
      assert.deepEqual((await expectProblem(put, 400, 'unknown_field')).fields, [name], 'the same as a query parameter of a raw upload');
      assert.deepEqual(await t.stored(), { images: 0, blobs: 0, temp: 0 });
    });
  }
});

describe('a server shutting down', () => {
  it('answers requests that still arrive with 503 unavailable, Retry-After, as problem+json', async () => {
    const t = await startApp();
    const agent = net.connect(Number(new URL(t.url).port), new URL(t.url).hostname);
    await new Promise((resolve) => agent.once('connect', resolve));
    const closing = t.close();
    let out = '';
    agent.setEncoding('latin1').on('data', (chunk: string) => (out += chunk));
    agent.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => agent.once('close', resolve));
    await closing;
    const [head = '', body = ''] = out.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 503 /);
    assert.match(head, /\r\nretry-after: \d+\r\n/i);
    assert.equal((JSON.parse(body) as { code: string }).code, 'unavailable');
  });
});
