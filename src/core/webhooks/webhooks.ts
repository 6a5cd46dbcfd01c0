// Webhooks as the API offers them: who may subscribe to which images' events, and what they see of their webhooks.
import { isAdmin, requireScope, userIdOf } from '../access/policy.js';
import { ImgdError } from '../errors.js';
import { newId } from '../ids.js';
import type { Actor } from '../access/actor.js';
import { checkWebhookUrl } from './webhook-targets.js';
import { newWebhookSecret } from './webhook-signing.js';

export const IMAGE_EVENTS = ['image.created', 'image.processed', 'image.failed', 'image.deleted'] as const;
export type ImageEventType = (typeof IMAGE_EVENTS)[number];

/** A subscription, as listed: never its secret. */
export interface WebhookRecord {
  readonly id: string;
  /** The user whose images' events it receives; null for one made with the admin token. */
  readonly ownerId: string | null;
  readonly url: string;
  readonly events: readonly ImageEventType[];
  /** Every image's events, not only the owner's (admins only). */
  readonly allImages: boolean;
  readonly createdAt: string;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface DeliveryAttempt {
  readonly attempt: number;
  /** The receiver's HTTP status; null when no answer came (refused, timed out, connection failed). */
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  readonly at: string;
}

export interface DeliveryRecord {
  /** The webhook-id header of every try. */
  readonly id: string;
  readonly webhookId: string;
  readonly event: ImageEventType;
  readonly imageId: string;
  readonly status: DeliveryStatus;
  readonly attempts: readonly DeliveryAttempt[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface WebhooksRepo {
  insert(webhook: WebhookRecord & { readonly secret: string }): Promise<void>;
  get(id: string): Promise<WebhookRecord | undefined>;
  /** Every webhook, or those of one owner (null: the admin token's). */
  list(ownerId?: string | null): Promise<WebhookRecord[]>;
  countOwned(ownerId: string | null): Promise<number>;
  /** Removes the webhook with its deliveries and their attempts; a pending delivery's job then finds nothing to do. */
  remove(id: string): Promise<void>;
  /** Newest first, `limit` at most, older than the cursor (created_at and id) when one is given. */
  deliveries(webhookId: string, limit: number, before: readonly [string, string] | undefined): Promise<DeliveryRecord[]>;
}

/** How many webhooks one owner may have: each event fans out to all of them. */
export const MAX_WEBHOOKS_PER_OWNER = 25;

export interface CreateWebhook {
  readonly url: string;
  readonly events: readonly ImageEventType[];
  readonly allImages?: boolean | undefined;
}

export interface Webhooks {
  /** Answers the webhook and its secret, which is shown this once. */
  create(actor: Actor, input: CreateWebhook): Promise<{ webhook: WebhookRecord; secret: string }>;
  list(actor: Actor): Promise<WebhookRecord[]>;
  remove(actor: Actor, id: string): Promise<void>;
  deliveries(actor: Actor, id: string, limit: number, cursor: string | undefined): Promise<{ items: DeliveryRecord[]; nextCursor: string | null }>;
}

const encodeCursor = (d: DeliveryRecord): string => Buffer.from(JSON.stringify([d.createdAt, d.id])).toString('base64url');

function decodeCursor(cursor: string): [string, string] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every((v) => typeof v === 'string')) return parsed as [string, string];
  } catch {
    // any undecodable cursor is the client's mistake: the error below
  }
  throw new ImgdError('invalid_cursor', 'The cursor is not one this server handed out.');
}

/**
 * Webhooks are per user: a user's webhooks hear of that user's images. Admins see and remove every webhook, and
 * may subscribe to every image's events (`all_images`); webhooks made with the admin token always do. Events carry
 * what `read` shows of an image, so every route needs the `read` scope (upload tokens have none).
 */
export function createWebhooks(repo: WebhooksRepo, options: { readonly allowPrivate: boolean }): Webhooks {
  /** A webhook the actor may see; any other is reported as absent, so ids cannot be probed. */
  async function visible(actor: Actor, id: string): Promise<WebhookRecord> {
    requireScope(actor, 'read');
    const webhook = await repo.get(id);
    if (!webhook || !(isAdmin(actor) || (webhook.ownerId !== null && webhook.ownerId === userIdOf(actor)))) {
      throw new ImgdError('not_found', `No webhook ${JSON.stringify(id)}.`);
    }
    return webhook;
  }

  return {
    async create(actor, input) {
      requireScope(actor, 'read');
      const ownerId = userIdOf(actor);
      const allImages = ownerId === null || input.allImages === true;
      if (allImages && !isAdmin(actor)) throw new ImgdError('forbidden', 'Only an admin may subscribe to every image\'s events (all_images).');
      const url = checkWebhookUrl(input.url, options.allowPrivate);
      if ((await repo.countOwned(ownerId)) >= MAX_WEBHOOKS_PER_OWNER) {
        throw new ImgdError('too_many_webhooks', `One owner may have ${MAX_WEBHOOKS_PER_OWNER} webhooks; delete one first.`, { limit: MAX_WEBHOOKS_PER_OWNER });
      }
      const events = IMAGE_EVENTS.filter((e) => input.events.includes(e));
      const webhook: WebhookRecord = { id: newId(), ownerId, url, events, allImages, createdAt: new Date().toISOString() };
      const secret = newWebhookSecret();
      await repo.insert({ ...webhook, secret });
      return { webhook, secret };
    },

    async list(actor) {
      requireScope(actor, 'read');
      return isAdmin(actor) ? repo.list() : repo.list(userIdOf(actor));
    },

    async remove(actor, id) {
      await visible(actor, id);
      await repo.remove(id);
    },

    async deliveries(actor, id, limit, cursor) {
      await visible(actor, id);
      const items = await repo.deliveries(id, limit + 1, cursor === undefined ? undefined : decodeCursor(cursor));
      const page = items.slice(0, limit);
      return { items: page, nextCursor: items.length > limit ? encodeCursor(page.at(-1)!) : null };
    },
  };
}
