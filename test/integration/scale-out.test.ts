// Scale-out: two `imgd serve` (no workers) and `imgd worker` processes sharing one PostgreSQL database, one Redis
// prefix and one S3 bucket; and the faults: Redis down during uploads, S3 failing an upload, a worker killed mid-job.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, readdir, rm } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import pg from 'pg';
import { createS3Store, type S3Store } from '../../src/store/s3.js';
import { originalKey } from '../../src/core/storage/blob-keys.js';
import { fixture, makeDataDir } from '../helpers/app.js';
import { PROBLEM_TYPE } from '../helpers/accounts.js';
import { freePort, spawnCli, startServer, within, type Proc, type Server } from '../helpers/processes.js';
import { deadEndpoint, S3RVER_KEY } from '../helpers/s3rver.js';
import { createBucket, createDatabase, deleteRedisKeys, missingServices, s3Settings, SCALE, sharedS3rver } from '../helpers/scale.js';
import { waitFor } from '../helpers/wait.js';
import type { Image } from '../helpers/images.js';

const TOKEN = 'scale-out-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
/** Processing on a loaded machine, plus BullMQ handing a dead worker's job over. */
const SETTLE_MS = 90_000;
const LOCK_MS = 3000;

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
const missing = SCALE ? [...(await missingServices()), ...(hasRedisServer ? [] : ['the redis-server binary (to start and stop a private Redis)'])] : [];
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`scale-out tests need: ${missing.join('; ')} (CI=true)`);
const skip = !SCALE
  ? 'scale profile only (IMGD_TEST_PROFILE=scale; npm test runs it)'
  : missing.length > 0
    ? `services missing: ${missing.join('; ')}`
    : false;

/** A Redis of the test's own, so it can be stopped and started again without touching anyone else's. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.child = child;
    await waitFor('the private redis-server to answer', async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      return spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG' ? true : undefined;
    });
  }
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

/** An Ollama-like caption model; while `hang` is set it takes requests and never answers them. */
async function captionModel(): Promise<{ url: string; hang: boolean; requests: number; close(): void }> {
  const held: ServerResponse[] = [];
  const model = {
    url: '',
    hang: false,
    requests: 0,
    close: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      model.requests += 1;
      if (model.hang) {
        held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ response: `caption ${model.requests}`, done: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  model.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return model;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function upload(server: Server, name: string, bytes: Uint8Array): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  return fetch(`${server.url}/api/v1/images`, { method: 'POST', body: form, headers: auth });
}

async function imageOn(server: Server, id: string): Promise<Image | undefined> {
  const res = await fetch(`${server.url}/api/v1/images/${id}`, { headers: auth });
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Image;
}

async function settled(server: Server, id: string, what: (image: Image) => boolean = (i) => i.status !== 'processing'): Promise<Image> {
  return waitFor(`image ${id} to settle`, async () => {
    const image = await imageOn(server, id);
    return image && what(image) ? image : undefined;
  }, SETTLE_MS, 200);
}

async function keys(store: S3Store, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const blob of store.list(prefix)) found.push(blob.key);
  return found;
}

describe('scale-out: API instances and workers on PostgreSQL, Redis and S3', { skip }, () => {
  const dirs: string[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  let redis: PrivateRedis;
  let model: Awaited<ReturnType<typeof captionModel>>;
  let db: pg.Pool;
  let store: S3Store;
  let shared: Record<string, string>;
  let a: Server;
  let b: Server;
  let worker: Proc;

  const dataDir = async (): Promise<string> => {
    const dir = await makeDataDir();
    dirs.push(dir);
    return dir;
  };
  const startWorker = async (): Promise<Proc> => {
    const proc = spawnCli(['worker'], { ...shared, DATA_DIR: await dataDir() });
    await proc.waitForStdout(/imgd worker is running jobs \(BullMQ on Redis\)/, 'the worker banner');
    return proc;
  };
  const jobRows = async (imageId: string): Promise<Array<{ type: string; status: string }>> =>
    (await db.query<{ type: string; status: string }>('SELECT type, status FROM jobs WHERE payload = $1 ORDER BY created_at', [JSON.stringify({ imageId })])).rows;

  before(async () => {
    const database = await createDatabase();
    cleanups.push(() => database.drop());
    db = new pg.Pool({ connectionString: database.url, max: 2 });
    // The database is dropped WITH (FORCE) at the end: an idle client cut off then must not end the test process.
    db.on('error', () => undefined);
    cleanups.push(() => db.end());
    const s3 = await sharedS3rver();
    const bucket = await createBucket(s3);
    store = createS3Store({ bucket, endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY, forcePathStyle: true });
    redis = new PrivateRedis(await freePort());
    await redis.start();
    cleanups.push(() => redis.kill());
    const prefix = `imgdt-scaleout-${randomBytes(4).toString('hex')}`;
    cleanups.push(() => deleteRedisKeys(prefix, redis.url).catch(() => undefined));
    model = await captionModel();
    cleanups.push(async () => model.close());
    shared = {
      AUTH_TOKEN: TOKEN,
      JWT_SECRET: randomBytes(32).toString('hex'),
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      ...s3Settings(s3, bucket),
      JOB_POLL_MS: '100',
      JOB_BACKOFF_MS: '200',
      JOB_LOCK_MS: String(LOCK_MS),
      GC_INTERVAL_SECONDS: '2',
      GC_GRACE_SECONDS: '5',
      CAPTION_PROVIDER: 'ollama',
      CAPTION_URL: model.url,
      CAPTION_MODEL: 'llava',
      LOG_LEVEL: 'warn',
    };
    // All three at once on a fresh database: their migrations race, as a rolling deploy's would.
    [a, b, worker] = await Promise.all([
      startServer(await dataDir(), { ...shared, RUN_WORKERS: 'false' }),
      startServer(await dataDir(), { ...shared, RUN_WORKERS: 'false' }),
      startWorker(),
    ]);
  });

  after(async () => {
    for (const proc of [a, b, worker]) proc?.child.kill('SIGKILL');
    for (const cleanup of cleanups.reverse()) await cleanup();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('takes an upload on one instance, has the worker make its variants, and serves and deletes it on the other', async () => {
    const bytes = await readFile(fixture('jpg/orientation/landscape_3.jpg'));
    const res = await upload(a, 'bridge.jpg', bytes);
    assert.equal(res.status, 201, await res.clone().text());
    const created = (await res.json()) as Image;
    assert.equal(created.status, 'processing', 'the API instances run no jobs');

    const ready = await settled(b, created.id);
    assert.equal(ready.status, 'ready');
    const variants = await keys(store, `variants/${created.sha256.slice(0, 2)}/${created.sha256.slice(2, 4)}/${created.sha256}/`);
    assert.ok(variants.length >= 2, `the worker put the preset variants in the bucket: ${variants.join(', ')}`);

    // The URL the first instance answered, asked of the second.
    const urlPath = new URL(created.url).pathname;
    const served = await fetch(`${b.url}${urlPath}`);
    assert.equal(served.status, 200);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);
    const small = await fetch(`${b.url}${urlPath}/small`);
    assert.equal(small.status, 200, 'a variant the worker made is served by another instance');
    await small.arrayBuffer();

    assert.equal((await fetch(`${b.url}/api/v1/images/${created.id}?permanent=true`, { method: 'DELETE', headers: auth })).status, 204);
    assert.equal(await imageOn(a, created.id), undefined, 'gone on the first instance too');
    assert.equal((await fetch(`${a.url}${urlPath}`)).status, 404);
    assert.equal(await store.exists(originalKey(created.sha256)), false, 'the bytes left the bucket');
  });

  it('keeps taking uploads while Redis is down and runs their jobs once it is back', async () => {
    await redis.kill();
    const files = ['jpg/orientation/portrait_2.jpg', 'jpg/orientation/portrait_3.jpg', 'jpg/orientation/landscape_4.jpg'];
    const ids: string[] = [];
    for (const [i, file] of files.entries()) {
      const started = Date.now();
      const res = await upload(i % 2 === 0 ? a : b, `offline-${i}.jpg`, await readFile(fixture(file)));
      assert.equal(res.status, 201, await res.clone().text());
      assert.ok(Date.now() - started < 15_000, 'the upload did not wait for Redis');
      ids.push(((await res.json()) as Image).id);
    }
    for (const id of ids) {
      assert.equal((await imageOn(a, id))?.status, 'processing');
      assert.ok((await jobRows(id)).every((job) => job.status === 'pending'), 'the jobs wait in the database outbox');
    }

    await redis.start();
    for (const id of ids) assert.equal((await settled(b, id)).status, 'ready');
  });

  it('answers 503 problem+json when S3 fails during an upload, and leaves no row, no object and no temp file', async () => {
    const dir = await dataDir();
    const broken = await startServer(dir, { ...shared, RUN_WORKERS: 'false', S3_ENDPOINT: await deadEndpoint() });
    try {
      const bytes = await readFile(fixture('jpg/orientation/portrait_4.jpg'));
      const res = await upload(broken, 'no-storage.jpg', bytes);
      const text = await res.text();
      assert.equal(res.status, 503, text);
      assert.equal(res.headers.get('content-type'), PROBLEM_TYPE);
      const problem = JSON.parse(text) as { status: number; code: string; detail: string };
      assert.equal(problem.status, 503);
      assert.equal(problem.code, 'unavailable');
      assert.doesNotMatch(problem.detail, /127\.0\.0\.1|ECONNREFUSED/, 'the address of the store stays in the log');
      assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, 'a 503 says when to try again');

      const rows = await db.query('SELECT id FROM images WHERE original_name = $1', ['no-storage.jpg']);
      assert.equal(rows.rowCount, 0, 'no image row');
      assert.equal((await db.query('SELECT sha256 FROM blobs WHERE sha256 = $1', [sha256(bytes)])).rowCount, 0, 'no blob row');
      assert.equal(await store.exists(originalKey(sha256(bytes))), false, 'no object in the bucket');
      assert.deepEqual(await readdir(`${dir}/tmp`).catch(() => []), [], 'no staged file left');
    } finally {
      await broken.stop('SIGKILL');
    }
  });

  it('hands a job of a worker killed mid-job to another worker', async (t) => {
    const started = Date.now();
    const mark = (what: string): void => t.diagnostic(`${what} after ${Date.now() - started} ms`);
    // Earlier tests' jobs done first, so the one request the model holds is this test's.
    await waitFor('earlier jobs to finish', async () =>
      (await db.query("SELECT id FROM jobs WHERE status NOT IN ('done', 'failed')")).rowCount === 0 ? true : undefined, SETTLE_MS, 200);
    model.hang = true;
    const before = model.requests;
    const res = await upload(a, 'takeover.jpg', await readFile(fixture('jpg/orientation/landscape_7.jpg')));
    assert.equal(res.status, 201, await res.clone().text());
    const { id } = (await res.json()) as Image;
    // The caption request is in flight on the worker (the model holds it): the job is mid-run.
    await waitFor('the caption job to run', async () =>
      (await jobRows(id)).some((job) => job.type === 'image.caption' && job.status === 'running') ? true : undefined, SETTLE_MS);
    await waitFor('the caption request to reach the model', async () => (model.requests > before ? true : undefined), SETTLE_MS);
    mark('the caption job is running');
    worker.child.kill('SIGKILL');
    await within(worker.exited, 10_000, 'the killed worker to exit');
    model.hang = false;

    worker = await startWorker();
    mark('a new worker is up');
    const image = await settled(a, id, (i) => i.status !== 'processing' && i.caption !== null);
    mark('the image has its caption');
    assert.equal(image.status, 'ready');
    assert.match(String(image.caption), /^caption \d+$/, 'the caption came from a second try');
    assert.ok(model.requests >= before + 2);
    await waitFor('the caption job row to be done', async () => ((await jobRows(id)).every((job) => job.status === 'done') ? true : undefined), SETTLE_MS);
  });

  it('runs gc on one schedule across all instances, removing a stray object once its grace is over', async () => {
    const queue = new Queue('imgd', { connection: { url: redis.url }, prefix: shared.REDIS_PREFIX! });
    try {
      await waitFor('the gc scheduler', async () => ((await queue.getJobSchedulersCount()) > 0 ? true : undefined));
      const schedulers = await queue.getJobSchedulers();
      // Sorted by name: gc's, and the trash purge's (TRASH_PURGE_INTERVAL_SECONDS, default an hour).
      const found = schedulers.map((s) => [s.key, s.name, Number(s.every)]).sort((x, y) => String(x[1]).localeCompare(String(y[1])));
      assert.deepEqual(found, [['repeat:gc', 'gc', 2000], ['repeat:trash.purge', 'trash.purge', 3_600_000]], 'one scheduler each, however many processes upserted them');

      const stray = originalKey(sha256(randomBytes(16)));
      await store.put(stray, Readable.from([Buffer.from('bytes no image refers to')]));
      await waitFor('gc to remove the stray object', async () => ((await store.exists(stray)) ? undefined : true), SETTLE_MS, 500);
    } finally {
      await queue.close();
    }
  });
});
