// The in-process job runner: jobs are rows in the metadata database, so they survive restarts.
import type { Logger } from 'pino';
import type { JobRow, JobsRepo } from '../db/jobs.js';
import { countByStatus, jobDepth } from './depth.js';
import { laneOf, registered, SHARED_LANE, type Registered } from './registered.js';
import type { JobRequest } from '../core/jobs/jobs.js';
import type { EnqueueOptions, HandlerOptions, JobHandler, JobQueue } from './queue.js';
import { isOutage } from '../core/outages.js';
import { outageRetryMs, untilRecorded, waitsOut } from './outage-policy.js';

export interface LocalQueueOptions {
  readonly pollMs: number;
  readonly concurrency: number;
  /** How long a claimed job is ours before another runner may take it over. */
  readonly leaseMs?: number;
  /** Hand back jobs a crashed process was running (safe when one process owns the database). */
  readonly reclaimOnStart?: boolean;
  /**
   * Handlers run every everyMs while the queue runs (the trash purge), in this process; a run still going when the
   * next is due is not doubled. Not rows in the database: a periodic run missed while stopped is simply the next one.
   */
  readonly repeats?: ReadonlyArray<{ readonly type: string; readonly everyMs: number }>;
}

/**
 * A claimed job's lease, renewed every third of it while the job runs. Short, so that a claim whose answer was lost
 * (the connection cut after the database took the update) is taken over within this time rather than after minutes.
 */
const DEFAULT_LEASE_MS = 30_000;

export function createLocalQueue(jobs: JobsRepo, logger: Logger, options: LocalQueueOptions): JobQueue {
  const handlers = new Map<string, Registered>();
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const active = new Set<Promise<void>>();
  /** The registered types by lane, and jobs running per lane (see HandlerOptions.concurrency). */
  const lanes = new Map<string, string[]>();
  const busy = new Map<string, number>();
  /** Jobs this runner holds: their leases are renewed while they run, so a short lease covers long jobs. */
  const held = new Set<string>();
  let renewer: NodeJS.Timeout | undefined;
  const repeaters: NodeJS.Timeout[] = [];
  const repeating = new Set<string>();
  const repeatRuns = new Set<Promise<void>>();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let pumping = false;
  let again = false;
  /** The pump pass under way: it may hold a job it has claimed but not yet started, which stop() must wait for. */
  let pass: Promise<void> | undefined;

  async function runOne(job: JobRow): Promise<void> {
    const registered = handlers.get(job.type);
    if (!registered) return;
    const { payload } = job;
    const started = Date.now();
    held.add(job.id);
    // While the queue runs, an outcome is kept until the database takes it; after stop() the lease hands the job back.
    const record = (write: () => Promise<void>): Promise<void> => untilRecorded(write, () => running);
    try {
      await registered.handler(payload, { jobId: job.id, attempt: job.attempts, maxAttempts: job.maxAttempts });
      await record(() => jobs.mark(job.id, 'done', { error: null }));
      logger.debug({ job: job.id, type: job.type, ms: Date.now() - started }, 'job done');
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      if (waitsOut(error, Date.parse(job.createdAt))) {
        // The database, the store or the disk is away: the job waits for it with its attempts intact.
        const retryAt = Date.now() + outageRetryMs(registered.backoffMs);
        await record(() => jobs.mark(job.id, 'pending', { runAt: retryAt, error: error.message, refundAttempt: true }));
        logger.warn({ job: job.id, type: job.type, err: error.message }, 'job waits for a dependency that is unavailable');
        schedule(retryAt - Date.now());
        return;
      }
      const last = job.attempts >= job.maxAttempts;
      const retryAt = Date.now() + registered.backoffMs * 2 ** (job.attempts - 1);
      await record(() => jobs.mark(job.id, last ? 'failed' : 'pending', { runAt: last ? Date.now() : retryAt, error: error.message }));
      logger.warn({ job: job.id, type: job.type, attempt: job.attempts, last, err: error.message }, 'job failed');
      if (last && registered.onFailed) {
        await registered.onFailed(payload, error).catch((err: unknown) =>
          logger.error({ job: job.id, err }, 'job failure handler failed'),
        );
      }
      if (!last) schedule(retryAt - Date.now());
    }
  }

  /** One periodic run of a handler, unless the previous one is still going. */
  async function runRepeat(type: string): Promise<void> {
    const registered = handlers.get(type);
    if (!running || !registered || repeating.has(type)) return;
    repeating.add(type);
    const run = registered
      .handler({}, { jobId: `repeat:${type}`, attempt: 1, maxAttempts: 1 })
      .catch((err: unknown) => logger.warn({ type, err: (err as Error).message }, 'periodic job failed'))
      .finally(() => repeating.delete(type));
    repeatRuns.add(run);
    await run;
    repeatRuns.delete(run);
  }

  /** Claims due jobs until each lane's concurrency is used up or none is due. */
  async function pump(): Promise<void> {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    const current = drain();
    pass = current;
    await current;
    if (pass === current) pass = undefined;
  }

  async function drain(): Promise<void> {
    try {
      do {
        again = false;
        for (const [lane, types] of lanes) {
          const limit = lane === SHARED_LANE ? options.concurrency : handlers.get(lane)!.concurrency!;
          while (running && (busy.get(lane) ?? 0) < limit) {
            const job = await jobs.claim(types, leaseMs);
            if (!job) break;
            busy.set(lane, (busy.get(lane) ?? 0) + 1);
            const task = runOne(job)
              .catch((err: unknown) => logger.error({ err, job: job.id }, 'job bookkeeping failed'))
              .finally(() => {
                active.delete(task);
                held.delete(job.id);
                busy.set(lane, busy.get(lane)! - 1);
                if (running) void pump();
              });
            active.add(task);
          }
        }
      } while (again && running);
    } catch (err) {
      // The next poll tries again; an outage is expected to pass, anything else is a bug.
      if (isOutage(err)) logger.warn({ err: (err as Error).message }, 'job queue poll failed: the database is unavailable');
      else logger.error({ err }, 'job queue poll failed');
    } finally {
      pumping = false;
    }
  }

  function schedule(delayMs: number = options.pollMs): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(
      () => {
        timer = undefined;
        void pump().finally(() => schedule());
      },
      Math.max(0, Math.min(delayMs, options.pollMs)),
    );
    timer.unref();
  }

  return {
    register<P>(type: string, handler: JobHandler<P>, opts: HandlerOptions<P> = {}) {
      const handled = registered(handler, opts);
      handlers.set(type, handled);
      for (const [lane, types] of lanes) lanes.set(lane, types.filter((t) => t !== type));
      const lane = laneOf(type, handled);
      lanes.set(lane, [...(lanes.get(lane) ?? []), type]);
    },

    async enqueue<P>(type: string, payload: P, opts: EnqueueOptions = {}) {
      const [id] = await jobs.insert([{ type, payload, maxAttempts: handlers.get(type)?.maxAttempts ?? 3 } as JobRequest], undefined, opts.delayMs);
      if (running && !opts.delayMs) void pump();
      return id!;
    },

    wake() {
      if (running) void pump();
    },

    async start() {
      if (running) return;
      if (options.reclaimOnStart) await jobs.reclaimRunning();
      running = true;
      renewer = setInterval(() => {
        if (held.size === 0) return;
        jobs.renew([...held], leaseMs).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'job leases could not be renewed'));
      }, leaseMs / 3);
      renewer.unref();
      for (const { type, everyMs } of options.repeats ?? []) {
        const repeater = setInterval(() => void runRepeat(type), everyMs);
        repeater.unref();
        repeaters.push(repeater);
      }
      void pump();
      schedule();
    },

    async stop() {
      running = false;
      clearInterval(renewer);
      for (const repeater of repeaters.splice(0)) clearInterval(repeater);
      if (timer) clearTimeout(timer);
      timer = undefined;
      // A claim that was under way when stop() began still starts its job (the row is already ours):
      // wait for that pass first, or the job would run after stop() returned, against a closed database.
      await pass;
      await Promise.allSettled([...active, ...repeatRuns]);
    },

    counts: () => countByStatus(jobs),
    depth: () => jobDepth(jobs, handlers.keys()),
    check: () => jobs.check(),
  };
}
