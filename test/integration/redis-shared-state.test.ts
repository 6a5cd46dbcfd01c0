// With REDIS_URL set, instances share their rate limits through Redis, and /readyz checks that Redis answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/logging.js';
import { expectProblem } from '../helpers/accounts.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { REDIS_URL, redisMissing, redisPrefix } from '../helpers/scale.js';
import { deadEndpoint } from '../helpers/s3rver.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const skip = await redisMissing();
const PHOTO = fixture('jpg/Canon_40D.jpg');

/** A redis:// URL on a loopback port nothing listens on. */
const closedRedisUrl = async (): Promise<string> => (await deadEndpoint()).replace(/^http:/, 'redis:');

interface Readiness {
  status: string;
  checks: Record<'database' | 'storage' | 'queue', { ok: boolean; error?: string }>;
}

describe('rate limits shared through Redis', { skip }, () => {
  const keys = redisPrefix('ratelimit');
  const apps: TestApp[] = [];
  const settings = { REDIS_URL, REDIS_PREFIX: keys.prefix, RATE_LIMIT_UPLOAD: '3', PROCESSING: 'false' };
  let a: TestApp;
  let b: TestApp;

  before(async () => {
    a = await startApp(settings);
    b = await startApp(settings);
    apps.push(a, b);
  });
  after(async () => {
    await Promise.all(apps.map((t) => t.close()));
    await keys.cleanup();
  });

  it('counts uploads by one credential on two instances against one limit', async () => {
    assert.equal((await a.upload([PHOTO])).status, 201);
    assert.equal((await b.upload([PHOTO])).status, 201);
    assert.equal((await a.upload([PHOTO])).status, 201);
    // The 4th in the window, on either instance, is over the limit of 3.
    await expectProblem(await b.upload([PHOTO]), 429, 'rate_limited');
    await expectProblem(await a.upload([PHOTO]), 429, 'rate_limited');
  });

  it('keeps the counts of a deployment with another REDIS_PREFIX apart', async () => {
    const other = redisPrefix('ratelimit-other');
    const c = await startApp({ ...settings, REDIS_PREFIX: other.prefix });
    try {
      assert.equal((await c.upload([PHOTO])).status, 201);
    } finally {
      await c.close();
      await other.cleanup();
    }
  });

  it('reports the queue ready when Redis answers', async () => {
    const res = await fetch(`${a.url}/readyz`);
    const body = (await res.json()) as Readiness;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.checks.queue, { ok: true });
  });
});

describe('Redis hanging, then gone, under rate-limited requests', { skip }, () => {
  const keys = redisPrefix('ratelimit-local');
  let redis: TcpProxy;
  let t: TestApp;

  before(async () => {
    redis = await startTcpProxy(REDIS_URL);
    t = await startApp({ REDIS_URL: redis.via(REDIS_URL), REDIS_PREFIX: keys.prefix, RATE_LIMIT_UPLOAD: '3', PROCESSING: 'false', RUN_WORKERS: 'false' });
  });
  after(async () => {
    redis.resume();
    redis.restore();
    await t.close();
    await redis.close();
    await keys.cleanup();
  });

  /** An upload and how long its answer took. */
  const timedUpload = async (): Promise<[Response, number]> => {
    const started = performance.now();
    const res = await t.upload([PHOTO]);
    return [res, performance.now() - started];
  };

  it('counts in this process instead of waiting on Redis: no request waits, and the one over the limit is refused', async () => {
    // Redis stops answering on a connection that stays open: the worst case, no error until a timeout.
    redis.pause();
    const times: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const [res, ms] = await timedUpload();
      assert.equal(res.status, 201, await res.clone().text());
      times.push(ms);
    }
    const [over, overMs] = await timedUpload();
    const retryAfter = over.headers.get('retry-after');
    await expectProblem(over, 429, 'rate_limited');
    assert.match(retryAfter ?? '', /^[1-9]\d*$/);
    // Then Redis is gone (connections reset, reconnecting): still counted here, at once.
    redis.cut();
    const [gone, goneMs] = await timedUpload();
    await expectProblem(gone, 429, 'rate_limited');
    times.push(overMs, goneMs);
    // Waiting on the counter cost about 1 s a request before; now at most one short command timeout (250 ms), once.
    assert.ok(Math.max(...times) < 900, `answer times ${times.map((ms) => Math.round(ms)).join(', ')} ms`);
    assert.equal((await t.stored()).images, 3, 'the refused uploads stored nothing');
  });
});

describe('Redis unreachable', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ REDIS_URL: await closedRedisUrl(), RUN_WORKERS: 'false', RATE_LIMIT_UPLOAD: '3' });
  });
  after(() => t.close());

  it('answers /readyz with 503 naming the queue, while the database and storage are fine', async () => {
    const res = await fetch(`${t.url}/readyz`);
    const body = (await res.json()) as Readiness;
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.status, 'unavailable');
    assert.equal(body.checks.queue.ok, false);
    assert.match(body.checks.queue.error ?? '', /Redis at redis:\/\/127\.0\.0\.1:\d+\/? does not answer/);
    assert.equal(body.checks.database.ok, true);
    assert.equal(body.checks.storage.ok, true);
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
  });

  it('still takes uploads, rate-limited or not, and keeps their jobs for later', async () => {
    const started = Date.now();
    const res = await t.upload([PHOTO]);
    assert.equal(res.status, 201, await res.clone().text());
    assert.ok(Date.now() - started < 5000, 'the upload does not wait on Redis');
    const counts = await t.app.queue.counts();
    assert.ok(counts.pending >= 1, 'the processing job waits in the database');
  });
});

describe('the "Redis unavailable at start" warning', { skip }, () => {
  const WARNING = 'Redis unavailable at start';
  async function startLines(redisUrl: string, prefix: string): Promise<string[]> {
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => void lines.push(line) });
    // No workers: a BullMQ worker on a Redis that never answers holds close() (as in 'Redis unreachable' above).
    const t = await startApp({ REDIS_URL: redisUrl, REDIS_PREFIX: prefix, PROCESSING: 'false', RUN_WORKERS: 'false' }, undefined, { logger });
    await t.close();
    return lines;
  }

  it('is not logged when Redis answers', async () => {
    const keys = redisPrefix('startwarn');
    try {
      const lines = await startLines(REDIS_URL, keys.prefix);
      assert.ok(!lines.some((l) => l.includes(WARNING)), lines.join(''));
    } finally {
      await keys.cleanup();
    }
  });

  it('is logged when Redis does not answer', async () => {
    const lines = await startLines(await closedRedisUrl(), 'imgdt-closed');
    assert.ok(lines.some((l) => l.includes(WARNING)), lines.join(''));
  });
});
