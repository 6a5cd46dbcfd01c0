// How both runners treat a job that failed because a dependency was away: not the job's fault, so it waits and tries again without spending an attempt.
import { setTimeout as sleep } from 'node:timers/promises';
import { isDiskFull, isOutage } from '../core/outages.js';

/** A job waits out outages until it is this old; after that an outage counts as any other failure. */
export const OUTAGE_DEADLINE_MS = 24 * 3600_000;

/** True when `err` is an outage (database, store, Redis) or a full disk and the job, created at `createdAtMs`, may still wait. */
export function waitsOut(err: unknown, createdAtMs: number, now: number = Date.now()): boolean {
  return (isOutage(err) || isDiskFull(err)) && !pastOutageDeadline(createdAtMs, now);
}

/** True once a job created at `createdAtMs` has waited out outages long enough: it fails like any other. */
export function pastOutageDeadline(createdAtMs: number, now: number = Date.now()): boolean {
  return now - createdAtMs >= OUTAGE_DEADLINE_MS;
}

/** The delay before the next try while a dependency is away: soon enough to notice it back, without hammering it. */
export function outageRetryMs(backoffMs: number): number {
  return Math.min(Math.max(backoffMs, 1000), 10_000);
}

/**
 * Runs a bookkeeping write (a job row's new state) until the database takes it, while `keepTrying()` holds: a job's
 * outcome is not lost to an outage that began while it ran. Other errors, and any once keepTrying() turns false, are thrown.
 */
export async function untilRecorded(write: () => Promise<void>, keepTrying: () => boolean): Promise<void> {
  for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 5000)) {
    try {
      await write();
      return;
    } catch (err) {
      if (!keepTrying() || !(isOutage(err) || isDiskFull(err))) throw err;
    }
    await sleep(waitMs);
  }
}
