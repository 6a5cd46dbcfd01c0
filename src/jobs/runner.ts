// The configured job runner: BullMQ when Redis is set (loaded only then), else the database-backed local queue.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { GC_JOB, TRASH_PURGE_JOB } from '../core/jobs/jobs.js';
import type { JobsRepo } from '../db/jobs.js';
import { createLocalQueue } from './local.js';
import type { JobQueue } from './queue.js';

/**
 * The runner with its repeat jobs: the trash purge everywhere; with Redis, gc every GC_INTERVAL_SECONDS as one job
 * scheduler shared by every instance. `worker` runs handlers whatever RUN_WORKERS says (`imgd worker`).
 */
export async function openJobRunner(config: Config, jobsRepo: JobsRepo, logger: Logger, worker: boolean | undefined): Promise<JobQueue> {
  const trashPurge = { type: TRASH_PURGE_JOB, everyMs: config.trash.purgeIntervalSeconds * 1000 };
  if (config.jobs.redisUrl) {
    const { createBullQueue } = await import('./bullmq.js');
    return createBullQueue(jobsRepo, logger, {
      redisUrl: config.jobs.redisUrl,
      prefix: config.jobs.redisPrefix,
      concurrency: config.jobs.concurrency,
      runWorkers: worker ?? config.jobs.runWorkers,
      relayMs: config.jobs.pollMs,
      lockMs: config.jobs.lockMs,
      repeats: [...(config.gcIntervalSeconds > 0 ? [{ type: GC_JOB, everyMs: config.gcIntervalSeconds * 1000 }] : []), trashPurge],
    });
  }
  return createLocalQueue(jobsRepo, logger, {
    pollMs: config.jobs.pollMs,
    concurrency: config.jobs.concurrency,
    reclaimOnStart: config.database.kind === 'sqlite',
    repeats: [trashPurge],
  });
}
