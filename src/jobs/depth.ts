// Queue depth read from the jobs table, which both runners keep current: the same answer on every instance.
import type { Db } from '../db/database.js';
import type { JobDepth, JobStatus } from './queue.js';

/** Row states that are not a JobStatus of their own (the BullMQ outbox's 'queued': handed to Redis, not yet run). */
const PENDING_ALIASES = new Set(['queued']);
const SHOWN: readonly JobStatus[] = ['pending', 'running', 'failed'];

/** Pending, running and failed jobs by type: every type registered or seen gets all three states, zeros included. */
export async function jobDepth(db: Db, registered: Iterable<string> = []): Promise<JobDepth[]> {
  const rows = await db
    .selectFrom('jobs')
    .select(['type', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '!=', 'done')
    .groupBy(['type', 'status'])
    .execute();
  // A type with nothing waiting still shows its zeros, so a dashboard sees the queue drain rather than vanish.
  const byType = new Map<string, Map<JobStatus, number>>([...registered].map((type) => [type, new Map<JobStatus, number>()]));
  for (const row of rows) {
    const status = (PENDING_ALIASES.has(row.status) ? 'pending' : row.status) as JobStatus;
    if (!SHOWN.includes(status)) continue;
    const counts = byType.get(row.type) ?? new Map<JobStatus, number>();
    counts.set(status, (counts.get(status) ?? 0) + Number(row.n));
    byType.set(row.type, counts);
  }
  return [...byType].flatMap(([type, counts]) => SHOWN.map((status) => ({ type, status, count: counts.get(status) ?? 0 })));
}
