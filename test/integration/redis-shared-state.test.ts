// With REDIS_URL set, instances share their rate limits through Redis, and /readyz checks that Redis answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectProblem } from '../helpers/accounts.js';
import { fixture, startApp, type TestApp } from '../helpers/app.js';
import { REDIS_URL, redisMissing, redisPrefix } from '../helpers/live-services.js';
import { deadEndpoint } from '../helpers/s3rver.js';

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
