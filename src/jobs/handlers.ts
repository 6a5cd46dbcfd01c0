// The product's background jobs on the queue: what each job type runs, how often it is tried, and what a last failure does.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { DiskSpace } from '../core/storage/disk-space.js';
import type { GcReport } from '../core/storage/gc.js';
import { CAPTION_JOB, GC_JOB, PROCESS_JOB, TRASH_PURGE_JOB, WEBHOOK_DELIVERY_JOB, type JobRequest } from '../core/jobs/jobs.js';
import { isDiskFull } from '../core/outages.js';
import type { Processing } from '../core/jobs/processing.js';
import type { Trash } from '../core/images/trash.js';
import type { DeliveryJob } from '../core/webhooks/webhook-delivery.js';
import type { WebhookDelivery } from '../webhooks/setup.js';
import type { JobQueue } from './queue.js';

type JobSettings = Pick<Config, 'jobs' | 'processing' | 'captions' | 'webhooks'>;

/** What the handlers call. */
export interface JobWork {
  readonly processing: Processing;
  readonly trash: Trash;
  readonly disk: DiskSpace;
  readonly delivery: WebhookDelivery;
  /** gc with the configured grace. */
  gc(): Promise<GcReport>;
  readonly logger: Logger;
}

/** A caption that cannot be made leaves the image as it is: fewer tries, and no failure handler. */
const captionAttempts = (config: JobSettings): number => Math.min(2, config.jobs.attempts);

/** A job that found no space waits it out (outage-policy.ts); readiness hears of it, and of the next job that wrote. */
function noticingDiskFull<T>(disk: DiskSpace, run: (payload: T) => Promise<void>): (payload: T) => Promise<void> {
  return async (payload) => {
    try {
      await run(payload);
      disk.noteWritten();
    } catch (err) {
      if (isDiskFull(err)) disk.noteFull();
      throw err;
    }
  };
}

/** Registers every job type (on either runner); the image jobs only when PROCESSING is on. */
export function registerJobHandlers(queue: JobQueue, config: JobSettings, work: JobWork): void {
  const { processing, disk, delivery, logger } = work;
  if (config.processing.enabled) {
    queue.register<{ imageId: string }>(PROCESS_JOB, noticingDiskFull(disk, ({ imageId }) => processing.process(imageId)), {
      maxAttempts: config.jobs.attempts,
      backoffMs: config.jobs.backoffMs,
      onFailed: ({ imageId }, error) => processing.markFailed(imageId, error.message),
    });
    queue.register<{ imageId: string }>(CAPTION_JOB, noticingDiskFull(disk, ({ imageId }) => processing.caption(imageId)), {
      maxAttempts: captionAttempts(config),
      backoffMs: config.jobs.backoffMs,
    });
  }
  queue.register<DeliveryJob>(WEBHOOK_DELIVERY_JOB, (payload, context) => delivery.deliver(payload, context), {
    maxAttempts: config.webhooks.maxAttempts,
    backoffMs: config.webhooks.backoffMs,
    concurrency: config.webhooks.concurrency,
    onFailed: (payload) => delivery.giveUp(payload),
  });
  queue.register(TRASH_PURGE_JOB, async () => {
    const purged = await work.trash.purgeExpired();
    if (purged > 0) logger.info({ purged }, 'purged expired trash');
  }, { maxAttempts: 1 });
  // The scheduled gc runs on whichever worker takes it: the shared store's blobs, and that machine's temp files.
  queue.register(GC_JOB, async () => {
    await work.gc();
  }, { maxAttempts: 1 });
}

/** The jobs an upload records in its own transaction: processing, and a caption when a provider is set. */
export function uploadJobs(config: JobSettings): (imageId: string) => JobRequest[] {
  return (imageId) => {
    if (!config.processing.enabled) return [];
    const jobs: JobRequest[] = [{ type: PROCESS_JOB, payload: { imageId }, maxAttempts: config.jobs.attempts }];
    if (config.captions.provider !== 'none') jobs.push({ type: CAPTION_JOB, payload: { imageId }, maxAttempts: captionAttempts(config) });
    return jobs;
  };
}
