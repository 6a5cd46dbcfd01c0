// What both queue runners share: registered handlers with their retry settings, and the job row written on enqueue.
import { newId } from '../core/ids.js';
import type { Db } from '../db/database.js';
import type { EnqueueOptions, HandlerOptions, JobHandler } from './queue.js';

export interface Registered {
  readonly handler: JobHandler<unknown>;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly onFailed: ((payload: unknown, error: Error) => Promise<void>) | undefined;
}

export const iso = (ms: number = Date.now()): string => new Date(ms).toISOString();

export function registered<P>(handler: JobHandler<P>, opts: HandlerOptions<P>): Registered {
  return {
    handler: handler as JobHandler<unknown>,
    maxAttempts: opts.maxAttempts ?? 3,
    backoffMs: opts.backoffMs ?? 1000,
    onFailed: opts.onFailed as Registered['onFailed'],
  };
}

/** Records a job durably, in the state a runner picks it up from; returns its id. */
export async function insertJob(db: Db, handlers: ReadonlyMap<string, Registered>, type: string, payload: unknown, status: string, opts: EnqueueOptions): Promise<string> {
  const id = newId();
  const now = Date.now();
  await db
    .insertInto('jobs')
    .values({
      id,
      type,
      payload: JSON.stringify(payload),
      status,
      max_attempts: handlers.get(type)?.maxAttempts ?? 3,
      run_at: iso(now + (opts.delayMs ?? 0)),
      locked_until: null,
      last_error: null,
      created_at: iso(now),
      updated_at: iso(now),
    })
    .execute();
  return id;
}
