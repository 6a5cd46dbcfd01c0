// The in-process job runner: jobs are rows in the metadata database, so they survive restarts.
import { sql, type ExpressionBuilder } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { jobDepth } from './depth.js';
import { insertJob, iso, registered, type Registered } from './job-rows.js';
import type { EnqueueOptions, HandlerOptions, JobHandler, JobQueue, JobStatus } from './queue.js';

export interface LocalQueueOptions {
  readonly pollMs: number;
  readonly concurrency: number;
  /** How long a claimed job is ours before another runner may take it over. */
  readonly leaseMs?: number;
  /** Hand back jobs a crashed process was running (safe when one process owns the database). */
  readonly reclaimOnStart?: boolean;
}

export function createLocalQueue(db: Db, logger: Logger, options: LocalQueueOptions): JobQueue {
  const handlers = new Map<string, Registered>();
  const leaseMs = options.leaseMs ?? 5 * 60_000;
  const active = new Set<Promise<void>>();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let pumping = false;
  let again = false;
  /** The pump pass under way: it may hold a job it has claimed but not yet started, which stop() must wait for. */
  let pass: Promise<void> | undefined;

  async function claim(): Promise<{ id: string; type: string; payload: string; attempts: number; max_attempts: number } | undefined> {
    const now = iso(Date.now());
    const types = [...handlers.keys()];
    if (types.length === 0) return undefined;
    const due = (eb: ExpressionBuilder<Database, 'jobs'>) =>
      eb.and([
        eb('type', 'in', types),
        eb.or([
          eb.and([eb('status', '=', 'pending'), eb('run_at', '<=', now)]),
          eb.and([eb('status', '=', 'running'), eb('locked_until', '<', now)]),
        ]),
      ]);
    const next = await db.selectFrom('jobs').select('id').where(due).orderBy('run_at').limit(1).executeTakeFirst();
    if (!next) return undefined;
    return db
      .updateTable('jobs')
      .set({ status: 'running', attempts: sql`attempts + 1`, locked_until: iso(Date.now() + leaseMs), updated_at: now })
      .where('id', '=', next.id)
      .where(due)
      .returning(['id', 'type', 'payload', 'attempts', 'max_attempts'])
      .executeTakeFirst();
  }

  async function runOne(job: NonNullable<Awaited<ReturnType<typeof claim>>>): Promise<void> {
    const registered = handlers.get(job.type);
    if (!registered) return;
    const payload: unknown = JSON.parse(job.payload);
    const started = Date.now();
    try {
      await registered.handler(payload, { jobId: job.id, attempt: job.attempts, maxAttempts: job.max_attempts });
      await db
        .updateTable('jobs')
        .set({ status: 'done', locked_until: null, last_error: null, updated_at: iso(Date.now()) })
        .where('id', '=', job.id)
        .execute();
      logger.debug({ job: job.id, type: job.type, ms: Date.now() - started }, 'job done');
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      const last = job.attempts >= job.max_attempts;
      const retryAt = Date.now() + registered.backoffMs * 2 ** (job.attempts - 1);
      await db
        .updateTable('jobs')
        .set({
          status: last ? 'failed' : 'pending',
          run_at: last ? iso(Date.now()) : iso(retryAt),
          locked_until: null,
          last_error: error.message.slice(0, 2000),
          updated_at: iso(Date.now()),
        })
        .where('id', '=', job.id)
        .execute();
      logger.warn({ job: job.id, type: job.type, attempt: job.attempts, last, err: error.message }, 'job failed');
      if (last && registered.onFailed) {
        await registered.onFailed(payload, error).catch((err: unknown) =>
          logger.error({ job: job.id, err }, 'job failure handler failed'),
        );
      }
      if (!last) schedule(retryAt - Date.now());
    }
  }

  /** Claims due jobs until the concurrency is used up or none is due. */
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
        while (running && active.size < options.concurrency) {
          const job = await claim();
          if (!job) break;
          const task = runOne(job)
            .catch((err: unknown) => logger.error({ err, job: job.id }, 'job bookkeeping failed'))
            .finally(() => {
              active.delete(task);
              if (running) void pump();
            });
          active.add(task);
        }
      } while (again && running);
    } catch (err) {
      logger.error({ err }, 'job queue poll failed');
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
      handlers.set(type, registered(handler, opts));
    },

    async enqueue<P>(type: string, payload: P, opts: EnqueueOptions = {}) {
      const id = await insertJob(db, handlers, type, payload, 'pending', opts);
      if (running && !opts.delayMs) void pump();
      return id;
    },

    async start() {
      if (running) return;
      if (options.reclaimOnStart) {
        await db
          .updateTable('jobs')
          .set({ status: 'pending', locked_until: null, run_at: iso(Date.now()) })
          .where('status', '=', 'running')
          .execute();
      }
      running = true;
      void pump();
      schedule();
    },

    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      // A claim that was under way when stop() began still starts its job (the row is already ours):
      // wait for that pass first, or the job would run after stop() returned, against a closed database.
      await pass;
      await Promise.allSettled([...active]);
    },

    async counts() {
      const rows = await db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
      const counts: Record<JobStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
      for (const row of rows) counts[row.status as JobStatus] = Number(row.n);
      return counts;
    },

    depth: () => jobDepth(db, handlers.keys()),

    async check() {
      await db.selectFrom('jobs').select('id').limit(1).execute();
    },
  };
}
