// The jobs table: the durable outbox both runners work from. Every statement on it lives here.
import { sql, type ExpressionBuilder } from 'kysely';
import { newRecordId } from '../core/ids.js';
import type { JobRequest } from '../core/jobs/jobs.js';
import type { Db } from './database.js';
import type { Database } from './schema.js';
import { kyselyWriter, type Writer } from './writer.js';

/** Row states: 'queued' is the BullMQ runner's "handed to Redis, not yet run". */
export type JobRowStatus = 'pending' | 'queued' | 'running' | 'done' | 'failed';

export interface JobRow {
  readonly id: string;
  readonly type: string;
  readonly payload: unknown;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly runAt: string;
  readonly createdAt: string;
}

/** A job the database says is queued or running, for the BullMQ runner's reconciler to check against Redis. */
export interface UnsettledJob extends JobRow {
  readonly status: 'queued' | 'running';
}

export interface JobsRepo {
  /** Records jobs as pending; `into` is a transaction when they belong with other writes (an image and its jobs). */
  insert(jobs: readonly JobRequest[], into?: Writer, delayMs?: number): Promise<string[]>;
  /** Takes the next due job of these types (pending, or running with a lapsed lease) for leaseMs. */
  claim(types: readonly string[], leaseMs: number): Promise<JobRow | undefined>;
  /** Sets a job's state; `runAt` reschedules it, `error` records (or with null clears) its last error. */
  mark(id: string, status: JobRowStatus, change?: { runAt?: number; error?: string | null; onlyFrom?: JobRowStatus; refundAttempt?: boolean }): Promise<void>;
  /** Jobs queued or running whose row has not changed since `beforeMs`, oldest first. */
  unsettled(beforeMs: number, limit: number): Promise<UnsettledJob[]>;
  /** Extends the leases of running jobs this runner holds. */
  renew(ids: readonly string[], leaseMs: number): Promise<void>;
  /** Jobs a crashed process was running, handed back (safe only when one process owns the database). */
  reclaimRunning(): Promise<void>;
  /** The oldest jobs not yet handed to Redis. */
  outbox(limit: number): Promise<JobRow[]>;
  countsByStatus(): Promise<Map<string, number>>;
  /** Counts of jobs not done, by type and row state. */
  openByType(): Promise<Array<{ type: string; status: string; count: number }>>;
  check(): Promise<void>;
}

const iso = (ms: number = Date.now()): string => new Date(ms).toISOString();

type Selected = { id: string; type: string; payload: string; attempts: number; max_attempts: number; run_at: string; created_at: string };
const toRow = (r: Selected): JobRow => ({
  id: r.id,
  type: r.type,
  payload: JSON.parse(r.payload) as unknown,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  runAt: r.run_at,
  createdAt: r.created_at,
});
const COLUMNS = ['id', 'type', 'payload', 'attempts', 'max_attempts', 'run_at', 'created_at'] as const;

export function createJobsRepo(db: Db): JobsRepo {
  return {
    async insert(jobs, into = kyselyWriter(db), delayMs = 0) {
      if (jobs.length === 0) return [];
      const now = Date.now();
      const rows = jobs.map((job) => ({
        id: newRecordId(),
        type: job.type,
        payload: JSON.stringify(job.payload),
        status: 'pending',
        max_attempts: job.maxAttempts,
        run_at: iso(now + delayMs),
        locked_until: null,
        last_error: null,
        created_at: iso(now),
        updated_at: iso(now),
      }));
      await into.insert('jobs', rows);
      return rows.map((r) => r.id);
    },

    async claim(types, leaseMs) {
      if (types.length === 0) return undefined;
      const now = iso();
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
      const row = await db
        .updateTable('jobs')
        .set({ status: 'running', attempts: sql`attempts + 1`, locked_until: iso(Date.now() + leaseMs), updated_at: now })
        .where('id', '=', next.id)
        .where(due)
        .returning(COLUMNS)
        .executeTakeFirst();
      return row && toRow(row);
    },

    async mark(id, status, change = {}) {
      let query = db
        .updateTable('jobs')
        .set({
          status,
          updated_at: iso(),
          ...(status !== 'running' && { locked_until: null }),
          ...(change.runAt !== undefined && { run_at: iso(change.runAt) }),
          ...(change.error !== undefined && { last_error: change.error === null ? null : change.error.slice(0, 2000) }),
          // A try that an outage ended does not count against the job's attempts.
          ...(change.refundAttempt && { attempts: sql<number>`CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END` }),
        })
        .where('id', '=', id);
      if (change.onlyFrom) query = query.where('status', '=', change.onlyFrom);
      await query.execute();
    },

    async unsettled(beforeMs, limit) {
      const rows = await db
        .selectFrom('jobs')
        .select([...COLUMNS, 'status'])
        .where('status', 'in', ['queued', 'running'])
        .where('updated_at', '<', iso(beforeMs))
        .orderBy('updated_at')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ ...toRow(r), status: r.status as UnsettledJob['status'] }));
    },

    async renew(ids, leaseMs) {
      if (ids.length === 0) return;
      await db.updateTable('jobs').set({ locked_until: iso(Date.now() + leaseMs) }).where('id', 'in', ids).where('status', '=', 'running').execute();
    },

    async reclaimRunning() {
      await db.updateTable('jobs').set({ status: 'pending', locked_until: null, run_at: iso() }).where('status', '=', 'running').execute();
    },

    async outbox(limit) {
      const rows = await db.selectFrom('jobs').select(COLUMNS).where('status', '=', 'pending').orderBy('created_at').limit(limit).execute();
      return rows.map(toRow);
    },

    async countsByStatus() {
      const rows = await db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
      return new Map(rows.map((r) => [r.status, Number(r.n)]));
    },

    async openByType() {
      const rows = await db
        .selectFrom('jobs')
        .select(['type', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', '!=', 'done')
        .groupBy(['type', 'status'])
        .execute();
      return rows.map((r) => ({ type: r.type, status: r.status, count: Number(r.n) }));
    },

    async check() {
      await db.selectFrom('jobs').select('id').limit(1).execute();
    },
  };
}
