// Jobs on Redis with BullMQ, behind a database outbox: a job is a row first, so an upload never waits on Redis.
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { JobRequest } from '../core/jobs/jobs.js';
import type { JobRowStatus, JobsRepo } from '../db/jobs.js';
import { countByStatus, jobDepth } from './depth.js';
import { laneOf, registered, SHARED_LANE, type Registered } from './registered.js';
import type { EnqueueOptions, HandlerOptions, JobHandler, JobQueue } from './queue.js';
import { outageRetryMs, pastOutageDeadline, waitsOut } from './outage-policy.js';
import { connected, oneAtATime, redactedUrl, withTimeout } from './redis-client.js';

export interface BullQueueOptions {
  readonly redisUrl: string;
  /** Redis key prefix, so several deployments (or test runs) can share one server. */
  readonly prefix: string;
  readonly concurrency: number;
  /** Run handlers in this process (`imgd worker`, or `serve` with in-process workers). */
  readonly runWorkers: boolean;
  /** How often the outbox is retried while Redis does not answer. */
  readonly relayMs: number;
  /**
   * How long a job stays locked to a worker that stopped answering (killed, hung) before another takes it over; also
   * how often (and after how long unchanged) rows that say queued or running are checked against Redis.
   */
  readonly lockMs: number;
  /** Jobs that run every everyMs: one BullMQ job scheduler per type, shared by every instance on the prefix. */
  readonly repeats?: ReadonlyArray<{ readonly type: string; readonly everyMs: number }>;
}

const QUEUE = 'imgd';
/** The BullMQ queue of a lane: the shared one, or one per type that runs in a lane of its own. */
const queueName = (lane: string): string => (lane === SHARED_LANE ? QUEUE : `${QUEUE}-${lane}`);
const OUTBOX: JobRowStatus = 'pending';
const RELAYED: JobRowStatus = 'queued';
/** A handoff to Redis that takes longer than this is treated as Redis being down. */
const ADD_TIMEOUT_MS = 2000;

export function createBullQueue(jobs: JobsRepo, logger: Logger, options: BullQueueOptions): JobQueue {
  const handlers = new Map<string, Registered>();
  // Producer commands fail at once while Redis is away instead of piling up in memory.
  const producer = new Redis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  producer.on('error', (err) => logger.debug({ err: err.message }, 'redis (producer) unavailable'));
  const queues = new Map<string, Queue>();
  function queueFor(lane: string): Queue {
    let queue = queues.get(lane);
    if (!queue) {
      queue = new Queue(queueName(lane), { connection: producer, prefix: options.prefix });
      // Without a listener BullMQ prints every failed reconnect to stderr; the outbox already reports Redis being away.
      queue.on('error', (err) => logger.debug({ err: err.message }, 'redis (queue) unavailable'));
      queues.set(lane, queue);
    }
    return queue;
  }
  const queueOf = (type: string): Queue => queueFor(laneOf(type, handlers.get(type)));
  queueFor(SHARED_LANE);
  const workers: Worker[] = [];
  const workerConnections: Redis[] = [];
  let running = false;
  let repeatsScheduled = false;
  producer.on('ready', () => {
    repeatsScheduled = false;
  });
  let timer: NodeJS.Timeout | undefined;
  let reconcileTimer: NodeJS.Timeout | undefined;

  async function markRow(id: string, status: JobRowStatus, error?: string | null): Promise<void> {
    await jobs.mark(id, status, error === undefined ? {} : { error });
  }

  /**
   * Every instance upserts the same scheduler ids, so a repeat job runs once per period whatever the
   * number of instances. Done again after each reconnect, in case Redis came back without its data.
   */
  async function scheduleRepeats(): Promise<void> {
    if (repeatsScheduled) return;
    for (const { type, everyMs } of options.repeats ?? []) {
      await withTimeout(
        queueFor(SHARED_LANE).upsertJobScheduler(`repeat:${type}`, { every: everyMs }, { name: type, data: {}, opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 } }),
        ADD_TIMEOUT_MS,
      );
    }
    repeatsScheduled = true;
  }

  /** Hands outbox rows to Redis; the row id is the BullMQ job id, so a second handoff is a no-op. */
  async function relayOnce(): Promise<void> {
    await scheduleRepeats();
    for (;;) {
      const rows = await jobs.outbox(100);
      if (rows.length === 0) return;
      for (const row of rows) {
        const registered = handlers.get(row.type);
        const delay = Math.max(0, Date.parse(row.runAt) - Date.now());
        await withTimeout(
          queueOf(row.type).add(row.type, row.payload, {
            jobId: row.id,
            delay,
            attempts: row.maxAttempts,
            backoff: { type: 'exponential', delay: registered?.backoffMs ?? 1000 },
            removeOnComplete: 1000,
            removeOnFail: 5000,
          }),
          ADD_TIMEOUT_MS,
        );
        // Only a row still in the outbox: every instance relays, and a worker may already have run this job
        // (a late relayer would otherwise set a running or done job back to queued, and it would look pending for good).
        await jobs.mark(row.id, RELAYED, { onlyFrom: OUTBOX });
      }
    }
  }

  const relay = oneAtATime(relayOnce, (err) => logger.warn({ err: err.message }, 'job outbox: Redis unavailable, will retry'));

  function scheduleRelay(): void {
    if (!running) return;
    timer = setTimeout(() => {
      void relay().finally(scheduleRelay);
    }, options.relayMs);
    timer.unref();
  }

  async function runJob(job: Job, token?: string): Promise<void> {
    const registered = handlers.get(job.name);
    if (!registered || job.id === undefined) throw new Error(`no handler for job type ${job.name}`);
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? registered.maxAttempts;
    let error: Error;
    try {
      await markRow(job.id, 'running');
      await registered.handler(job.data, { jobId: job.id, attempt, maxAttempts });
      await markRow(job.id, 'done', null);
      return;
    } catch (caught) {
      error = caught instanceof Error ? caught : new Error(String(caught));
    }
    const last = attempt >= maxAttempts;
    try {
      if (waitsOut(error, job.timestamp)) throw error;
      await markRow(job.id, last ? 'failed' : RELAYED, error.message.slice(0, 2000));
    } catch (outcome) {
      // The job's dependency (or the database its outcome goes to) is away: not the job's fault. It goes back to
      // BullMQ's delayed set without spending an attempt. Should Redis be away too, the job stalls instead, and the
      // reconciler puts it back if BullMQ gives up on it.
      if (!waitsOut(outcome, job.timestamp)) throw outcome;
      logger.warn({ job: job.id, type: job.name, err: (outcome as Error).message }, 'job waits for a dependency that is unavailable');
      await markRow(job.id, RELAYED, (outcome as Error).message).catch(() => undefined);
      await job.moveToDelayed(Date.now() + outageRetryMs(registered.backoffMs), token);
      throw new DelayedError();
    }
    logger.warn({ job: job.id, type: job.name, attempt, last, err: error.message }, 'job failed');
    if (last && registered.onFailed) {
      await registered.onFailed(job.data, error).catch((err: unknown) => logger.error({ err, job: job.id }, 'job failure handler failed'));
    }
    throw error;
  }

  /**
   * Makes the database and Redis agree again about rows that say queued or running but have not changed for lockMs:
   * a job BullMQ no longer has (Redis lost or trimmed it) goes back to the outbox; one BullMQ gave up on (it stalled
   * past its limit: its worker killed, or Redis away when it had to be put back) is retried with its attempts reset;
   * one BullMQ completed is marked done. Past the outage deadline such a job fails for good instead.
   */
  async function reconcileOnce(): Promise<void> {
    const rows = await jobs.unsettled(Date.now() - options.lockMs, 100);
    for (const row of rows) {
      const job = await withTimeout(queueOf(row.type).getJob(row.id), ADD_TIMEOUT_MS);
      const state = job ? await withTimeout(job.getState(), ADD_TIMEOUT_MS) : 'unknown';
      if (state === 'completed') {
        await jobs.mark(row.id, 'done', { error: null, onlyFrom: row.status });
      } else if (state === 'unknown' || state === 'failed') {
        const reason = job?.failedReason || 'the queue lost the job';
        if (pastOutageDeadline(Date.parse(row.createdAt))) {
          await jobs.mark(row.id, 'failed', { error: reason, onlyFrom: row.status });
          await handlers.get(row.type)?.onFailed?.(row.payload, new Error(reason));
        } else if (job) {
          await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
          await jobs.mark(row.id, RELAYED, { onlyFrom: row.status });
        } else {
          await jobs.mark(row.id, OUTBOX, { onlyFrom: row.status });
        }
        logger.warn({ job: row.id, type: row.type, state, reason }, 'job queue: the database and Redis disagreed; job put back');
      }
    }
  }

  const reconcile = oneAtATime(reconcileOnce, (err) => logger.warn({ err: err.message }, 'job reconciler: will try again'));


  return {
    register<P>(type: string, handler: JobHandler<P>, opts: HandlerOptions<P> = {}) {
      handlers.set(type, registered(handler, opts));
    },

    async enqueue<P>(type: string, payload: P, opts: EnqueueOptions = {}) {
      const [id] = await jobs.insert([{ type, payload, maxAttempts: handlers.get(type)?.maxAttempts ?? 3 } as JobRequest], undefined, opts.delayMs);
      if (running) void relay();
      return id!;
    },

    wake() {
      if (running) void relay();
    },

    async start() {
      if (running) return;
      running = true;
      await connected(producer).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'Redis unavailable at start; jobs wait in the outbox'));
      if (options.runWorkers) {
        // One worker per lane: the shared one at JOB_CONCURRENCY, and one for each type with a concurrency of its own.
        const lanes = new Map<string, number>([[SHARED_LANE, options.concurrency]]);
        for (const [type, handler] of handlers) if (handler.concurrency !== undefined) lanes.set(type, handler.concurrency);
        for (const [lane, concurrency] of lanes) {
          const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
          connection.on('error', (err) => logger.debug({ err: err.message }, 'redis (worker) unavailable'));
          const worker = new Worker(queueName(lane), runJob, {
            connection,
            prefix: options.prefix,
            concurrency,
            lockDuration: options.lockMs,
            stalledInterval: options.lockMs,
          });
          worker.on('error', (err) => logger.warn({ err: err.message }, 'job worker error'));
          workerConnections.push(connection);
          workers.push(worker);
        }
        // Where jobs run, rows and Redis are checked against each other.
        reconcileTimer = setInterval(() => void reconcile(), options.lockMs);
        reconcileTimer.unref();
      }
      void relay();
      scheduleRelay();
    },

    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      if (reconcileTimer) clearInterval(reconcileTimer);
      await relay.current;
      await reconcile.current;
      await Promise.all(workers.splice(0).map((worker) => worker.close()));
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      queues.clear();
      producer.disconnect();
      for (const connection of workerConnections.splice(0)) connection.disconnect();
    },

    counts: () => countByStatus(jobs),
    depth: () => jobDepth(jobs, handlers.keys()),

    async check() {
      await jobs.check();
      // The producer fails at once while Redis is away (no offline queue), so this is a real round trip.
      const answer = await withTimeout(producer.ping(), ADD_TIMEOUT_MS).catch((err: unknown) => {
        throw new Error(`Redis at ${redactedUrl(options.redisUrl)} does not answer: ${(err as Error).message}`);
      });
      if (answer !== 'PONG') throw new Error(`Redis answered PING with ${JSON.stringify(answer)}`);
    },
  };
}
