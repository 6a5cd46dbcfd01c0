// The database-backed job queue on a real SQLite file: runs, retries, failures, restarts, concurrency, stop.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { openDatabase, type Db } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createJobsRepo } from '../../src/db/jobs.js';
import { createLocalQueue, type LocalQueueOptions } from '../../src/jobs/local.js';
import type { JobContext, JobQueue, JobStatus } from '../../src/jobs/queue.js';
import { waitFor } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
const FAST: LocalQueueOptions = { pollMs: 20, concurrency: 2 };
const WAIT_MS = 10_000;

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Bounds a wait on something a handler resolves, so a broken queue fails the test rather than hanging it. */
function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const noCounts: Record<JobStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };

describe('the database-backed job queue', () => {
  let dir: string;
  let file: string;
  const opened: Db[] = [];
  const queues: JobQueue[] = [];
  /** Gates of handlers that a test left waiting; opened in afterEach so stop() can finish. */
  const gates: Deferred<void>[] = [];

  async function open(): Promise<Db> {
    const db = openDatabase({ kind: 'sqlite', file });
    await migrateToLatest(db);
    opened.push(db);
    return db;
  }

  function queue(db: Db, options: Partial<LocalQueueOptions> = {}): JobQueue {
    const q = createLocalQueue(createJobsRepo(db), logger, { ...FAST, ...options });
    queues.push(q);
    return q;
  }

  /** What a process killed mid-job leaves: the row claimed (one attempt spent), its lease ending `leaseMs` from now; a new queue must run it again. */
  async function expectRerunOfCrashedJob(leaseMs: number, options: Partial<LocalQueueOptions>): Promise<void> {
    const first = await open();
    const id = await queue(first).enqueue('crashy', { lease: leaseMs });
    await first
      .updateTable('jobs')
      .set({ status: 'running', attempts: 1, locked_until: new Date(Date.now() + leaseMs).toISOString() })
      .where('id', '=', id)
      .execute();
    await first.destroy();
    opened.splice(opened.indexOf(first), 1);

    const q = queue(await open(), options);
    const seen = deferred<JobContext>();
    q.register('crashy', async (_payload, context) => seen.resolve(context));
    await q.start();
    const context = await within(seen.promise, 'the reclaimed job');
    assert.equal(context.jobId, id);
    assert.equal(context.attempt, 2);
    await settled(q, { done: 1 });
  }

  /** Polls counts() until the queue has settled into the expected state. */
  async function settled(q: JobQueue, expected: Partial<Record<JobStatus, number>>): Promise<void> {
    const want = { ...noCounts, ...expected };
    let last: Record<JobStatus, number> = noCounts;
    await waitFor(
      `job counts ${JSON.stringify(want)}`,
      async () => {
        last = await q.counts();
        return JSON.stringify(last) === JSON.stringify(want) ? true : undefined;
      },
      WAIT_MS,
      10,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
    });
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imgd-jobs-'));
    file = path.join(dir, 'imgd.sqlite');
  });

  afterEach(async () => {
    for (const gate of gates.splice(0)) gate.resolve();
    await Promise.all(queues.splice(0).map((q) => q.stop()));
    await Promise.all(opened.splice(0).map((db) => db.destroy()));
    await rm(dir, { recursive: true, force: true });
  });

  it('runs an enqueued job with its payload and marks it done', async () => {
    const q = queue(await open());
    const seen = deferred<{ payload: unknown; context: JobContext }>();
    q.register<{ imageId: string; sizes: number[] }>('resize', async (payload, context) => seen.resolve({ payload, context }));
    await q.start();
    const id = await q.enqueue('resize', { imageId: 'img-1', sizes: [256, 1024] });
    const { payload, context } = await within(seen.promise, 'the handler');
    assert.deepEqual(payload, { imageId: 'img-1', sizes: [256, 1024] });
    assert.equal(context.jobId, id);
    assert.equal(context.attempt, 1);
    await settled(q, { done: 1 });
  });

  it('retries a failing handler with backoff until it succeeds', async () => {
    const db = await open();
    const q = queue(db, { pollMs: 20 });
    const attempts: number[] = [];
    const maxAttempts: number[] = [];
    const failedAt: number[] = [];
    const rows: { run_at: string; updated_at: string; last_error: string | null }[] = [];
    const succeeded = deferred();
    q.register<{ n: number }>(
      'flaky',
      async (_payload, context) => {
        attempts.push(context.attempt);
        maxAttempts.push(context.maxAttempts);
        const row = await db.selectFrom('jobs').select(['run_at', 'updated_at', 'last_error']).where('id', '=', context.jobId).executeTakeFirstOrThrow();
        rows.push(row);
        if (context.attempt < 3) {
          failedAt.push(Date.now());
          throw new Error(`boom ${context.attempt}`);
        }
        succeeded.resolve();
      },
      { maxAttempts: 5, backoffMs: 20 },
    );
    await q.start();
    await q.enqueue('flaky', { n: 1 });
    await within(succeeded.promise, 'the third attempt');
    await settled(q, { done: 1 });
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(maxAttempts, [5, 5, 5]);
    // Each retry was put off by the backoff, doubling: 20 ms after the first failure, 40 ms after the second.
    assert.equal(rows[1]?.last_error, 'boom 1');
    assert.equal(rows[2]?.last_error, 'boom 2');
    assert.ok(Date.parse(rows[1]!.run_at) >= failedAt[0]! + 20, 'the second try was scheduled one backoff later');
    assert.ok(Date.parse(rows[2]!.run_at) >= failedAt[1]! + 40, 'the third try two backoffs later');
    for (const row of rows.slice(1)) assert.ok(row.updated_at >= row.run_at, 'no retry ran before it was due');
    const done = await db.selectFrom('jobs').select(['status', 'attempts', 'last_error']).executeTakeFirstOrThrow();
    assert.deepEqual(done, { status: 'done', attempts: 3, last_error: null });
  });

  it('marks a job failed after maxAttempts and calls onFailed once with the last error', async () => {
    const db = await open();
    const q = queue(db);
    const attempts: number[] = [];
    const failures: { payload: unknown; error: Error }[] = [];
    const failed = deferred();
    q.register<{ imageId: string }>(
      'doomed',
      async (_payload, context) => {
        attempts.push(context.attempt);
        throw new Error(`boom ${context.attempt}`);
      },
      {
        maxAttempts: 3,
        backoffMs: 5,
        onFailed: async (payload, error) => {
          failures.push({ payload, error });
          failed.resolve();
        },
      },
    );
    await q.start();
    await q.enqueue('doomed', { imageId: 'img-2' });
    await within(failed.promise, 'onFailed');
    await settled(q, { failed: 1 });
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.equal(failures.length, 1);
    assert.deepEqual(failures[0]!.payload, { imageId: 'img-2' });
    assert.equal(failures[0]!.error.message, 'boom 3');
    const row = await db.selectFrom('jobs').select(['status', 'attempts', 'last_error']).executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: 'failed', attempts: 3, last_error: 'boom 3' });
    // A failed job is not picked up again: stopping leaves the same picture.
    await q.stop();
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.equal(failures.length, 1);
  });

  it('keeps a job enqueued while no runner runs, across closing the database, and runs it on the next start', async () => {
    const first = await open();
    const q1 = queue(first);
    await q1.enqueue('later', { note: 'survives' });
    assert.deepEqual(await q1.counts(), { ...noCounts, pending: 1 });
    await q1.stop();
    await first.destroy();
    opened.splice(opened.indexOf(first), 1);

    const q2 = queue(await open());
    const seen = deferred<unknown>();
    q2.register('later', async (payload) => seen.resolve(payload));
    await q2.start();
    assert.deepEqual(await within(seen.promise, 'the job after the restart'), { note: 'survives' });
    await settled(q2, { done: 1 });
  });

  it('runs again a job a crashed process left running once its lease has expired', async () => {
    await expectRerunOfCrashedJob(-60_000, {});
  });

  it('with reclaimOnStart, runs again a job left running whose lease has not expired yet', async () => {
    await expectRerunOfCrashedJob(3_600_000, { reclaimOnStart: true });
  });

  it('never runs more handlers at once than its concurrency', async () => {
    const limit = 3;
    const jobs = 8;
    const q = queue(await open(), { concurrency: limit });
    let runningNow = 0;
    let most = 0;
    const started: Deferred<void>[] = [];
    const startedCount = new Map<number, Deferred<void>>();
    const reached = (n: number): Promise<void> => {
      if (!startedCount.has(n)) startedCount.set(n, deferred());
      if (started.length >= n) startedCount.get(n)!.resolve();
      return startedCount.get(n)!.promise;
    };
    q.register<{ i: number }>('work', async () => {
      runningNow += 1;
      most = Math.max(most, runningNow);
      const gate = deferred();
      gates.push(gate);
      started.push(gate);
      startedCount.get(started.length)?.resolve();
      await gate.promise;
      runningNow -= 1;
    });
    for (let i = 0; i < jobs; i += 1) await q.enqueue('work', { i });
    await q.start();
    // Release the handlers one by one as they start; at every point at most `limit` are inside.
    for (let n = limit; n <= jobs; n += 1) {
      await within(reached(n), `handler ${n} to start`);
      assert.ok(runningNow <= limit, `${runningNow} handlers running at once`);
      started[n - limit]!.resolve();
    }
    for (const gate of started) gate.resolve();
    await settled(q, { done: jobs });
    assert.equal(most, limit, 'the queue used its concurrency, and no more');
  });

  it('stop() waits for running handlers and takes no new jobs', async () => {
    const q = queue(await open());
    const entered = deferred();
    const gate = deferred();
    gates.push(gate);
    let finished = false;
    q.register('slow', async () => {
      entered.resolve();
      await gate.promise;
      finished = true;
    });
    await q.start();
    await q.enqueue('slow', {});
    await within(entered.promise, 'the handler to start');
    let stopped = false;
    const stopping = q.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false, 'stop() is still waiting for the handler');
    gate.resolve();
    await within(stopping, 'stop()');
    assert.equal(finished, true, 'the handler had finished when stop() resolved');
    assert.deepEqual(await q.counts(), { ...noCounts, done: 1 }, 'and its result was recorded');

    await q.enqueue('slow', {});
    assert.deepEqual(await q.counts(), { ...noCounts, done: 1, pending: 1 }, 'a stopped queue leaves new jobs pending');
  });

  it('stop() right after start() waits for a job it had already claimed', async () => {
    const q = queue(await open());
    let stopReturned = false;
    const ran: string[] = [];
    q.register('quick', async () => {
      ran.push(stopReturned ? 'after stop() returned' : 'before stop() returned');
    });
    await q.enqueue('quick', {});
    await q.start();
    await q.stop();
    stopReturned = true;
    const atStop = await q.counts();
    assert.equal(atStop.running, 0, 'no job left claimed');
    assert.deepEqual(ran, atStop.done === 1 ? ['before stop() returned'] : []);
    // Nothing to wait on for "nothing happens": give a late claim a few poll intervals to show itself.
    await new Promise((resolve) => setTimeout(resolve, 5 * FAST.pollMs));
    assert.deepEqual(ran, atStop.done === 1 ? ['before stop() returned'] : [], 'no handler ran after stop() returned');
    assert.deepEqual(await q.counts(), atStop);
  });
});
