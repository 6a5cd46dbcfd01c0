// One try of a webhook delivery, as a job: sign the stored body, send it, record the try, and fail so the queue retries.
import type { DeliveryStatus } from './webhooks.js';
import { webhookSignature } from './webhook-signing.js';

/** Posts a body with headers; answers the HTTP status, rejects when no answer came. */
export type WebhookSender = (url: string, headers: Readonly<Record<string, string>>, body: string) => Promise<{ status: number }>;

/** The target is not allowed (a private address, a bad scheme): trying again would not change that. */
export class TargetRefusedError extends Error {
  override name = 'TargetRefusedError';
}

/** What a try needs: the delivery and its webhook's URL and secret. */
export interface PendingDelivery {
  readonly id: string;
  readonly status: DeliveryStatus;
  readonly body: string;
  readonly url: string;
  readonly secret: string;
}

export interface DeliveryTry {
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  readonly at: string;
}

export interface DeliveryRepo {
  /** The delivery with its webhook; undefined when either is gone (the webhook was deleted). */
  pending(id: string): Promise<PendingDelivery | undefined>;
  /** Records a try (numbered after the ones before) and the delivery's state after it, in one transaction. */
  recordTry(id: string, attempt: DeliveryTry, status: DeliveryStatus): Promise<void>;
  /** The queue gave up (its last try failed in a way the handler could not record): the delivery failed. */
  markFailed(id: string): Promise<void>;
}

export interface DeliveryJob {
  readonly deliveryId: string;
}

/** An error's one-line text for the deliveries list, with the cause a fetch-style error hides. */
function describe(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; cause?: unknown };
  const code = typeof e.code === 'string' ? ` (${e.code})` : '';
  const text = `${typeof e.message === 'string' && e.message !== '' ? e.message : String(err)}${code}`;
  return text.replace(/\s+/g, ' ').slice(0, 500);
}

export function createDeliveryHandler(repo: DeliveryRepo, send: WebhookSender) {
  return {
    /** One try. Throws (a plain Error, never a dependency outage) when it failed and the target may be tried again. */
    async deliver({ deliveryId }: DeliveryJob, context: { readonly attempt: number; readonly maxAttempts: number }): Promise<void> {
      const delivery = await repo.pending(deliveryId);
      if (!delivery || delivery.status !== 'pending') return;
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'imgd-webhooks/1',
        'webhook-id': delivery.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': webhookSignature(delivery.secret, delivery.id, timestamp, delivery.body),
      };
      const started = performance.now();
      let statusCode: number | null = null;
      let error: string | null = null;
      let refused = false;
      try {
        statusCode = (await send(delivery.url, headers, delivery.body)).status;
        if (statusCode < 200 || statusCode > 299) error = `the receiver answered HTTP ${statusCode}`;
      } catch (err) {
        error = describe(err);
        refused = err instanceof TargetRefusedError;
      }
      const last = error === null || refused || context.attempt >= context.maxAttempts;
      const status: DeliveryStatus = error === null ? 'succeeded' : last ? 'failed' : 'pending';
      await repo.recordTry(deliveryId, { statusCode, error, durationMs: Math.round(performance.now() - started), at: new Date().toISOString() }, status);
      // The queue retries (or, after the last try, counts the job failed). A new Error, not the socket's: the queue
      // would take ECONNREFUSED for its own outage and wait without counting tries. A refused target is not retried.
      if (error !== null && !refused) throw new Error(`webhook delivery ${deliveryId} failed: ${error}`);
    },

    async giveUp({ deliveryId }: DeliveryJob): Promise<void> {
      await repo.markFailed(deliveryId);
    },
  };
}
