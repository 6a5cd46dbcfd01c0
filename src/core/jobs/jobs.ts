// The background jobs the product runs, with the payload each one carries.

export const PROCESS_JOB = 'image.process';
export const CAPTION_JOB = 'image.caption';
/** The repeat job of GC_INTERVAL_SECONDS. */
export const GC_JOB = 'gc';
/** One try of a webhook delivery (the delivery row says what and where). */
export const WEBHOOK_DELIVERY_JOB = 'webhook.deliver';
/** The repeat job that purges what has been in the trash longer than TRASH_DAYS. */
export const TRASH_PURGE_JOB = 'trash.purge';

export interface JobPayloads {
  readonly [PROCESS_JOB]: { readonly imageId: string };
  readonly [CAPTION_JOB]: { readonly imageId: string };
  readonly [GC_JOB]: Record<string, never>;
  readonly [WEBHOOK_DELIVERY_JOB]: { readonly deliveryId: string };
  readonly [TRASH_PURGE_JOB]: Record<string, never>;
}

export type JobType = keyof JobPayloads;

/** A job to record, in the same transaction as whatever it is about. */
export interface JobRequest<T extends JobType = JobType> {
  readonly type: T;
  readonly payload: JobPayloads[T];
  readonly maxAttempts: number;
}
