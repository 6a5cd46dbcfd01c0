// Webhooks put together for the composition root: the event bodies, the recorder the catalog writes deliveries with, and the delivery handler (jobs/handlers.ts registers it).
import type { Config } from '../config.js';
import { createDeliveryHandler } from '../core/webhooks/webhook-delivery.js';
import { createWebhooks, type Webhooks } from '../core/webhooks/webhooks.js';
import type { Db } from '../db/database.js';
import { createEventRecorder, createWebhooksRepo, type ImageEventRecorder } from '../db/webhooks.js';
import { imageView } from '../http/image-view.js';
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

export type WebhookDelivery = ReturnType<typeof createDeliveryHandler>;

/** The webhooks API, and what runs one try of a delivery (the job's handler). */
export function setUpWebhooks(db: Db, config: Config): { webhooks: Webhooks; delivery: WebhookDelivery } {
  const repo = createWebhooksRepo(db);
  const delivery = createDeliveryHandler(repo, createSender({ allowPrivate: config.webhooks.allowPrivate, timeoutMs: config.webhooks.timeoutMs }));
  return { webhooks: createWebhooks(repo, { allowPrivate: config.webhooks.allowPrivate }), delivery };
}
