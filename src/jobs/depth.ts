// Queue depth read from the jobs table, which both runners keep current: the same answer on every instance.
import type { JobsRepo } from '../db/jobs.js';
import type { JobDepth, JobStatus } from './queue.js';

/** Row states that are not a JobStatus of their own (the BullMQ outbox's 'queued': handed to Redis, not yet run). */
const PENDING_ALIASES = new Set(['queued']);
const SHOWN: readonly JobStatus[] = ['pending', 'running', 'failed'];
const asStatus = (row: string): JobStatus => (PENDING_ALIASES.has(row) ? 'pending' : row) as JobStatus;

/** Jobs by state, every instance's. */
export async function countByStatus(jobs: JobsRepo): Promise<Record<JobStatus, number>> {
  const counts: Record<JobStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const [status, n] of await jobs.countsByStatus()) counts[asStatus(status)] += n;
  return counts;
}

/** Pending, running and failed jobs by type: every type registered or seen gets all three states, zeros included. */
export async function jobDepth(jobs: JobsRepo, registered: Iterable<string> = []): Promise<JobDepth[]> {
  // A type with nothing waiting still shows its zeros, so a dashboard sees the queue drain rather than vanish.
  const byType = new Map<string, Map<JobStatus, number>>([...registered].map((type) => [type, new Map<JobStatus, number>()]));
  for (const row of await jobs.openByType()) {
    const status = asStatus(row.status);
    if (!SHOWN.includes(status)) continue;
    const counts = byType.get(row.type) ?? new Map<JobStatus, number>();
    counts.set(status, (counts.get(status) ?? 0) + row.count);
    byType.set(row.type, counts);
  }
  return [...byType].flatMap(([type, counts]) => SHOWN.map((status) => ({ type, status, count: counts.get(status) ?? 0 })));
}
