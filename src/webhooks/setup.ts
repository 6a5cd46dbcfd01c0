// Webhooks put together for the composition root: the event bodies, the recorder the catalog writes deliveries with, and the delivery job.
import type { Config } from '../config.js';
import { WEBHOOK_DELIVERY_JOB } from '../core/jobs/jobs.js';
import { createDeliveryHandler, type DeliveryJob } from '../core/webhooks/webhook-delivery.js';
import { createWebhooks, type Webhooks } from '../core/webhooks/webhooks.js';
import type { Db } from '../db/database.js';
import { createEventRecorder, createWebhooksRepo, type ImageEventRecorder } from '../db/webhooks.js';
import { imageView } from '../http/image-view.js';
import type { JobQueue } from '../jobs/queue.js';
import { createSender } from './sender.js';

/** Where the image URLs in event bodies point, and which variants they list; known once the server listens. */
export interface EventViewSettings {
  publicUrl(): string;
  readonly presets: readonly string[];
}

/**
 * The recorder the catalog calls in the transaction of each image event. The body is made then, once: every try
 * of a delivery sends the same bytes. The image is shown as its owner sees it through the API (location included).
 */
export function webhookEventRecorder(db: Db, config: Config, view: EventViewSettings): ImageEventRecorder {
  return createEventRecorder(db, {
    maxAttempts: config.webhooks.maxAttempts,
    body: (type, image, at) =>
      JSON.stringify({ type, timestamp: at, data: imageView(image, view.publicUrl(), { urls: config.imageUrls, presets: view.presets, showLocation: true }) }),
  });
}

/** The webhooks API, with the delivery job registered on the queue (both runners). */
export function setUpWebhooks(db: Db, config: Config, queue: JobQueue): Webhooks {
  const repo = createWebhooksRepo(db);
  const handler = createDeliveryHandler(repo, createSender({ allowPrivate: config.webhooks.allowPrivate, timeoutMs: config.webhooks.timeoutMs }));
  queue.register<DeliveryJob>(WEBHOOK_DELIVERY_JOB, (payload, context) => handler.deliver(payload, context), {
    maxAttempts: config.webhooks.maxAttempts,
    backoffMs: config.webhooks.backoffMs,
    concurrency: config.webhooks.concurrency,
    onFailed: (payload) => handler.giveUp(payload),
  });
  return createWebhooks(repo, { allowPrivate: config.webhooks.allowPrivate });
}
