import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logging.js';
import { fixture, makeDataDir, startApp, TOKEN, type TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/accounts.js';
import { deadEndpoint } from '../helpers/s3rver.js';
import { SCALE } from '../helpers/scale.js';
import { sample } from '../helpers/prometheus.js';
import { uploadOne, type Image } from '../helpers/images.js';

interface Stats {
  total: number;
  succeeded: number;
  failed: number;
  success_rate: number | null;
  average_processing_ms: number | null;
  per_day: { day: string; total: number; failed: number; bytes: number; average_processing_ms: number | null }[];
}

// Photos with nothing but the image in them: stored byte for byte.
const GOOD = ['jpg/Canon_40D.jpg', 'jpg/xmp/BlueSquare.jpg', 'tiff/Arbitro.tiff'].map(fixture);
const NOT_AN_IMAGE: [string, Uint8Array] = ['notes.png', Buffer.from('just some text, not a picture')];
/** A key of the keyed URL's form that no image has. */
const MISSING_KEY = 'A'.repeat(16);

describe('upload statistics and metrics', () => {
  let t: TestApp;
  let stored: Image[];

  before(async () => {
    t = await startApp();
    stored = [];
    for (const file of GOOD) stored.push(await uploadOne(t, file));
    // Two refusals: bytes that are no image, and an empty file.
    const notImage = await t.upload([NOT_AN_IMAGE]);
    await expectProblem(notImage, 415, 'unsupported_format');
    const empty = await t.upload([['empty.jpg', new Uint8Array(0)]]);
    await expectProblem(empty, 422, 'empty_file');
    assert.deepEqual((await t.stored()).images, 3, 'the refused uploads stored nothing');
  });
  after(() => t.close());

  it('counts attempts, successes, failures, the success rate and today in /api/v1/stats', async () => {
    const res = await fetch(`${t.url}/api/v1/stats`, { headers: t.auth });
    assert.equal(res.status, 200, await res.clone().text());
    const stats = (await res.json()) as Stats;
    assert.equal(stats.total, 5);
    assert.equal(stats.succeeded, 3);
    assert.equal(stats.failed, 2);
    assert.equal(stats.success_rate, 3 / 5);
    assert.ok(stats.average_processing_ms !== null && stats.average_processing_ms > 0, `average ${stats.average_processing_ms}`);
    const today = new Date().toISOString().slice(0, 10);
    const day = stats.per_day.find((d) => d.day === today);
    assert.deepEqual(
      day && { day: day.day, total: day.total, failed: day.failed, bytes: day.bytes },
      { day: today, total: 5, failed: 2, bytes: stored.reduce((n, image) => n + image.bytes, 0) },
      'bytes counts the stored uploads only',
    );
    assert.ok(day?.average_processing_ms != null && day.average_processing_ms > 0);
    assert.equal(
      stats.per_day.reduce((n, d) => n + d.total, 0),
      5,
    );
  });

  it('refuses /api/v1/stats without a credential', async () => {
    await expectProblem(await fetch(`${t.url}/api/v1/stats`), 401, 'unauthorized');
  });

  it('exposes request, upload, byte and rejection counters in Prometheus text at /metrics', async () => {
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^# HELP imgd_http_requests_total /m);
    assert.match(text, /^# TYPE imgd_uploads_total counter$/m);
    assert.equal(sample(text, 'imgd_http_requests_total', { method: 'POST', route: '/api/v1/images', status: '201' }), 3);
    assert.equal(sample(text, 'imgd_http_requests_total', { method: 'POST', route: '/api/v1/images', status: '415' }), 1);
    assert.equal(sample(text, 'imgd_uploads_total', { outcome: 'success' }), 3);
    assert.equal(sample(text, 'imgd_uploads_total', { outcome: 'failed' }), 2);
    const bytes = stored.reduce((n, i) => n + i.bytes, 0);
    assert.equal(sample(text, 'imgd_upload_bytes_total'), bytes);
    assert.equal(sample(text, 'imgd_upload_rejections_total', { code: 'unsupported_format' }), 1);
    assert.equal(sample(text, 'imgd_upload_rejections_total', { code: 'empty_file' }), 1);
  });
});

describe('health, readiness and API documentation', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('answers /healthz with 200 {status: ok}', async () => {
    const res = await fetch(`${t.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('answers /readyz with 200 when the database, storage and queue answer and the disk has room', async () => {
    const res = await fetch(`${t.url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ready', checks: { database: { ok: true }, storage: { ok: true }, queue: { ok: true }, disk: { ok: true } } });
  });

  it('serves the Swagger UI at /docs', async () => {
    const res = await fetch(`${t.url}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await res.text(), /swagger-ui/i);
  });

  it('serves an OpenAPI 3 document at /openapi.json and /docs/json listing the routes', async () => {
    const res = await fetch(`${t.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.match(doc.openapi, /^3\./);
    for (const route of ['/api/v1/images', '/api/v1/images/{id}', '/api/v1/stats', '/i/{key}/{filename}']) {
      assert.ok(doc.paths[route], `${route} is documented (paths: ${Object.keys(doc.paths).join(', ')})`);
    }
    assert.ok(doc.paths['/api/v1/images']?.get && doc.paths['/api/v1/images']?.post);
    assert.ok(doc.paths['/api/v1/images/{id}']?.get && doc.paths['/api/v1/images/{id}']?.patch && doc.paths['/api/v1/images/{id}']?.delete);
    assert.ok(doc.paths['/i/{key}/{filename}']?.get);

    const viaDocs = await fetch(`${t.url}/docs/json`);
    assert.equal(viaDocs.status, 200);
    assert.deepEqual(await viaDocs.json(), doc);
  });

  it('puts an X-Request-Id on every response', async () => {
    const image = await uploadOne(t, GOOD[0]!);
    const responses = await Promise.all([
      fetch(`${t.url}/healthz`),
      fetch(`${t.url}/metrics`),
      fetch(`${t.url}/api/v1/images`, { headers: t.auth }),
      fetch(`${t.url}/api/v1/images`),
      fetch(image.url),
      fetch(image.url, { headers: { 'if-none-match': `"${image.sha256}"` } }),
      fetch(`${t.url}/i/${MISSING_KEY}/no-such-image.jpg`),
      fetch(`${t.url}/no/such/route`),
    ]);
    const seen = new Set<string>();
    for (const res of responses) {
      await res.arrayBuffer();
      const id = res.headers.get('x-request-id');
      assert.ok(id, `${res.url} (${res.status}) has an X-Request-Id`);
      seen.add(id);
    }
    assert.equal(seen.size, responses.length, 'each request gets its own id');
  });

  it('echoes a given X-Request-Id, also in problem bodies', async () => {
    const ok = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'trace-abc.123' } });
    assert.equal(ok.headers.get('x-request-id'), 'trace-abc.123');
    const problem = await fetch(`${t.url}/i/${MISSING_KEY}/no-such-image.jpg`, { headers: { 'x-request-id': 'trace-def_456' } });
    assert.equal(problem.headers.get('x-request-id'), 'trace-def_456');
    const body = await expectProblem(problem, 404, 'not_found');
    assert.equal(body.request_id, 'trace-def_456');
  });

  it('replaces a given X-Request-Id that is not a plain token with its own', async () => {
    for (const given of ['x'.repeat(300), 'has space', 'quote"and;semicolon']) {
      const res = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': given } });
      await res.arrayBuffer();
      const id = res.headers.get('x-request-id');
      assert.ok(id, 'an id is still sent');
      assert.notEqual(id, given);
      assert.match(id, /^[A-Za-z0-9._-]{1,128}$/);
    }
  });
});

describe('readiness when storage is unusable', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    dir = await makeDataDir();
    if (SCALE) {
      // S3 that does not answer.
      t = await startApp({ S3_ENDPOINT: await deadEndpoint() }, dir);
      return;
    }
    // A regular file where a folder must go: mkdir fails even for root, unlike permission bits.
    const occupied = path.join(dir, 'occupied');
    await writeFile(occupied, 'not a folder');
    t = await startApp({ STORAGE_DIR: path.join(occupied, 'blobs') }, dir);
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers /readyz with 503 naming the storage check, while /healthz stays 200', async () => {
    const res = await fetch(`${t.url}/readyz`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    assert.equal(body.status, 'unavailable');
    assert.equal(body.checks.storage?.ok, false);
    assert.ok(body.checks.storage?.error, 'the failing check says why');
    assert.deepEqual(body.checks.database, { ok: true });
    assert.deepEqual(body.checks.queue, { ok: true });
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });
});

describe('restarting on the same data dir', () => {
  let dir: string;
  before(async () => {
    dir = await makeDataDir();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('still lists and serves every image after a restart', async () => {
    const first = await startApp({}, dir);
    const images: Image[] = [];
    try {
      images.push(await uploadOne(first, GOOD[0]!, { key: 'restart/a' }));
      images.push(await uploadOne(first, GOOD[1]!, { visibility: 'private' }));
      images.push(await uploadOne(first, GOOD[2]!));
      images.push(await uploadOne(first, GOOD[0]!)); // same bytes as the first, stored once
    } finally {
      await first.close();
    }

    const second = await startApp({}, dir);
    try {
      const res = await fetch(`${second.url}/api/v1/images?limit=100`, { headers: second.auth });
      assert.equal(res.status, 200);
      const listed = ((await res.json()) as { items: Image[] }).items;
      assert.deepEqual(listed.map((i) => i.id).sort(), images.map((i) => i.id).sort());
      const files = [GOOD[0]!, GOOD[1]!, GOOD[2]!, GOOD[0]!];
      for (const [n, image] of images.entries()) {
        const url = image.url.replace(first.url, second.url);
        const served = await fetch(url, { headers: image.visibility === 'private' ? second.auth : {} });
        assert.equal(served.status, 200, url);
        assert.equal(served.headers.get('etag'), `"${image.sha256}"`);
        assert.deepEqual(Buffer.from(await served.arrayBuffer()), await readFile(files[n]!));
      }
      await expectProblem(await fetch(images[1]!.url.replace(first.url, second.url)), 404, 'not_found');
    } finally {
      await second.close();
    }
  });
});

describe('starting on a data dir with staged files left by a crash', () => {
  it('removes those older than GC_GRACE_SECONDS and keeps younger ones (an upload of another process may own them)', async () => {
    const dir = await makeDataDir();
    try {
      await mkdir(path.join(dir, 'tmp'), { recursive: true });
      const stale = path.join(dir, 'tmp', 'crashed-upload');
      const young = path.join(dir, 'tmp', 'upload-in-flight');
      await writeFile(stale, 'partial bytes');
      await writeFile(young, 'partial bytes');
      const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
      await utimes(stale, twoHoursAgo, twoHoursAgo);
      const t = await startApp({ GC_GRACE_SECONDS: '3600' }, dir);
      await t.close();
      assert.deepEqual(await readdir(path.join(dir, 'tmp')), ['upload-in-flight']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('secrets in the logs', () => {
  let t: TestApp;
  const lines: string[] = [];
  let pending = '';
  const SECRET = 'secret-value';
  const WRONG = 'wrong-token-0123456789-nope';

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        const parts = (pending + chunk.toString()).split('\n');
        pending = parts.pop() ?? '';
        lines.push(...parts.filter((l) => l !== ''));
        callback();
      },
    });
    t = await startApp({}, undefined, { logger: createLogger('debug', sink) });
  });
  after(() => t.close());

  it('logs requests but never the admin token, query tokens or a wrong token', async () => {
    const requests: [string, RequestInit, number, string | null][] = [
      ['/api/v1/images', { headers: t.auth }, 200, null],
      [`/api/v1/images?token=${SECRET}`, {}, 401, 'unauthorized'],
      [`/i/${MISSING_KEY}/no-such-image.jpg?token=${SECRET}`, {}, 401, 'unauthorized'],
      [`/api/v1/images?%74oken=${SECRET}-encoded`, {}, 401, 'unauthorized'],
      ['/api/v1/images', { headers: { authorization: `Bearer ${WRONG}` } }, 401, 'unauthorized'],
      [`/i/${MISSING_KEY}/no-such-image.jpg?access_token=${SECRET}-access`, {}, 404, 'not_found'],
    ];
    for (const [route, init, status, code] of requests) {
      const res = await fetch(`${t.url}${route}`, init);
      if (code === null) {
        assert.equal(res.status, status, route);
        await res.arrayBuffer();
      } else {
        await expectProblem(res, status, code);
      }
    }
    const upload = await t.upload([GOOD[0]!]);
    assert.equal(upload.status, 201);
    await upload.arrayBuffer();
    await t.close();

    const all = [...lines, pending].join('\n');
    assert.ok(lines.length > 0, 'something was logged');
    assert.ok(lines.some((l) => l.includes('/api/v1/images?token=[redacted]')), 'the request with ?token= was logged, redacted');
    assert.ok(!all.includes(TOKEN), 'the admin token is not logged');
    assert.ok(!all.includes(SECRET), 'query-string secrets are not logged');
    assert.ok(!all.includes(WRONG), 'a wrong token is not logged');
    for (const line of lines) JSON.parse(line); // every line is one JSON object
  });
});
