// PostgreSQL and the image store gone for 15 s while uploads run: every refused request says 503 with Retry-After,
// and every upload that was acknowledged ends `ready` once they are back, with nobody's help.
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fixture, makeDataDir, servicesFor, startApp } from '../helpers/app.js';
import { deleteRedisKeys, SCALE } from '../helpers/scale.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const OUTAGE_MS = 15_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Uploads before, during and after a cut of both services; returns once every acknowledged image is ready. */
async function uploadThroughOutage(env: Record<string, string>): Promise<void> {
  const photos = (await readdir(fixture('jpg/orientation'))).map((name) => fixture(path.join('jpg/orientation', name)));
  const dir = await makeDataDir();
  const settings = await servicesFor(dir);
  const database = await startTcpProxy(settings.DATABASE_URL!);
  const s3 = await startTcpProxy(settings.S3_ENDPOINT!);
  const t = await startApp({ DATABASE_URL: database.via(settings.DATABASE_URL!), S3_ENDPOINT: s3.via(settings.S3_ENDPOINT!), ...env }, dir);
  const acknowledged: string[] = [];
  const refused: string[] = [];
  try {
    let next = 0;
    const uploadOne = async (): Promise<void> => {
      const res = await t.upload([photos[next++ % photos.length]!]);
      const text = await res.text();
      if (res.status === 201) acknowledged.push((JSON.parse(text) as { id: string }).id);
      else refused.push(`${res.status} ${res.headers.get('retry-after') ?? '-'} ${res.headers.get('content-type') ?? '-'} ${text}`);
    };
    // A few at once, so their jobs are queued or running when the services go.
    await Promise.all(photos.slice(0, 6).map(() => uploadOne()));
    database.cut();
    s3.cut();
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      await uploadOne();
      await sleep(500);
    }
    database.restore();
    s3.restore();
    for (let i = 0; i < 4; i += 1) await uploadOne();

    assert.ok(acknowledged.length >= 8, `uploads acknowledged: ${acknowledged.length}`);
    assert.ok(refused.length > 0, 'uploads were refused during the outage');
    for (const answer of refused) assert.match(answer, /^503 [1-9]\d* application\/problem\+json.*"code":"unavailable"/, answer);

    const statuses = async (): Promise<Map<string, string>> => {
      const found = new Map<string, string>();
      for (const id of acknowledged) {
        const res = await fetch(`${t.url}/api/v1/images/${id}`, { headers: t.auth });
        found.set(id, res.status === 200 ? ((await res.json()) as { status: string }).status : `HTTP ${res.status}`);
      }
      return found;
    };
    let last = new Map<string, string>();
    await waitFor(
      'every acknowledged image to be ready',
      async () => {
        last = await statuses();
        return [...last.values()].every((status) => status === 'ready') ? true : undefined;
      },
      90_000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(Object.fromEntries(last))}`);
    });
  } finally {
    database.restore();
    s3.restore();
    await t.close();
    await Promise.all([database.close(), s3.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

describe('PostgreSQL and S3 cut for 15 s during an upload stream', { skip: !SCALE && 'scale profile only (PostgreSQL, S3)' }, () => {
  it('with jobs on Redis: answers 503 with Retry-After while they are away, and brings every acknowledged image to ready once they are back', async () => {
    await uploadThroughOutage({});
  });

  it('with jobs run from the database (no Redis): the same', async () => {
    await uploadThroughOutage({ REDIS_URL: '' });
  });
});

describe('Redis losing its data under queued jobs', { skip: !SCALE && 'scale profile only (Redis)' }, () => {
  it('puts a job back that the database says is queued but BullMQ no longer has, and its image ends ready', async () => {
    const dir = await makeDataDir();
    const settings = await servicesFor(dir);
    // An API instance only: the job is handed to Redis and waits there for a worker.
    const api = await startApp({ RUN_WORKERS: 'false' }, dir);
    let worker: Awaited<ReturnType<typeof startApp>> | undefined;
    try {
      const res = await api.upload([fixture('jpg/Canon_40D.jpg')]);
      assert.equal(res.status, 201);
      const { id } = (await res.json()) as { id: string };
      await waitFor('the job to be handed to Redis', async () => {
        const rows = await api.app.db.selectFrom('jobs').select('status').execute();
        return rows.length > 0 && rows.every((row) => row.status === 'queued') ? true : undefined;
      });
      // Redis restarts without its data: the queue forgets the job, the row still says queued.
      await deleteRedisKeys(settings.REDIS_PREFIX!);
      await api.close();
      worker = await startApp({ JOB_LOCK_MS: '1000' }, dir);
      await waitFor('the image to be ready', async () => {
        const image = await fetch(`${worker!.url}/api/v1/images/${id}`, { headers: worker!.auth });
        return ((await image.json()) as { status: string }).status === 'ready' ? true : undefined;
      });
    } finally {
      await worker?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
