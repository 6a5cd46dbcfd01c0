// The webhook tables: subscriptions, deliveries and their tries, and the event recorder that writes deliveries in the transaction of what happened.
import { sql, type ExpressionBuilder } from 'kysely';
import type { DeliveryRepo } from '../core/webhooks/webhook-delivery.js';
import { WEBHOOK_DELIVERY_JOB } from '../core/jobs/jobs.js';
import { deliveryIdFrom } from '../core/webhooks/webhook-signing.js';
import type { DeliveryAttempt, DeliveryRecord, DeliveryStatus, ImageEventType, WebhookRecord, WebhooksRepo } from '../core/webhooks/webhooks.js';
import type { ImageRecord } from '../core/images/image.js';
import { newRecordId } from '../core/ids.js';
import type { Db } from './database.js';
import { createJobsRepo } from './jobs.js';
import type { Database, WebhooksTable } from './schema.js';
import { compiledOnce } from './compiled-once.js';
import type { Writer } from './writer.js';

type WebhookRow = Omit<WebhooksTable, 'secret'>;
const PUBLIC_COLUMNS = ['id', 'owner_id', 'url', 'events', 'all_images', 'created_at'] as const;

const toWebhook = (r: WebhookRow): WebhookRecord => ({
  id: r.id,
  ownerId: r.owner_id,
  url: r.url,
  events: JSON.parse(r.events) as ImageEventType[],
  allImages: Boolean(r.all_images),
  createdAt: r.created_at,
});

/** Writes an event's deliveries (one per webhook that hears of it) and their jobs, inside the writer's transaction. */
export type ImageEventRecorder = (into: Writer, type: ImageEventType, image: ImageRecord) => Promise<void>;

export interface EventRecorderOptions {
  /** The body every try of a delivery sends: the event with the image as the API shows it. */
  readonly body: (type: ImageEventType, image: ImageRecord, at: string) => string;
  readonly maxAttempts: number;
}

/**
 * A webhook hears of an image's events when it subscribes to all images (and was made with the admin token or by a
 * user who is still an admin), or when its owner, still a user, owns the image.
 */
export function createEventRecorder(db: Db, options: EventRecorderOptions): ImageEventRecorder {
  const jobs = createJobsRepo(db);
  const subscribed = db
    .selectFrom('webhooks')
    .leftJoin('users', 'users.id', 'webhooks.owner_id')
    .select(['webhooks.id', 'webhooks.events']);
  const forAllImages = (eb: ExpressionBuilder<Database, 'webhooks' | 'users'>) =>
    eb.and([eb('webhooks.all_images', '=', 1), eb.or([eb('webhooks.owner_id', 'is', null), eb('users.role', '=', 'admin')])]);
  // Compiled once for each shape: an image with no owner is heard of by the all-images webhooks only.
  const withoutOwner = compiledOnce(() => subscribed.where(forAllImages));
  const withOwner = compiledOnce((ownerId: string) =>
    subscribed.where((eb) => eb.or([forAllImages(eb), eb.and([eb('webhooks.owner_id', '=', ownerId), eb('users.id', 'is not', null)])])),
  );
  return async (into, type, image) => {
    const hooks = await into.runCompiled(image.ownerId === null ? withoutOwner() : withOwner(image.ownerId));
    const hearing = hooks.filter((h) => (JSON.parse(h.events) as string[]).includes(type));
    if (hearing.length === 0) return;
    const at = new Date().toISOString();
    const body = options.body(type, image, at);
    const rows = hearing.map((h) => ({
      id: deliveryIdFrom(newRecordId()),
      webhook_id: h.id,
      event: type,
      image_id: image.id,
      body,
      status: 'pending',
      attempts: 0,
      created_at: at,
      updated_at: at,
    }));
    await into.insert('webhook_deliveries', rows);
    await jobs.insert(rows.map((r) => ({ type: WEBHOOK_DELIVERY_JOB, payload: { deliveryId: r.id }, maxAttempts: options.maxAttempts })), into);
  };
}

const toAttempt = (r: { attempt: number; status_code: number | null; error: string | null; duration_ms: number; at: string }): DeliveryAttempt => ({
  attempt: r.attempt,
  statusCode: r.status_code,
  error: r.error,
  durationMs: Number(r.duration_ms),
  at: r.at,
});

export function createWebhooksRepo(db: Db): WebhooksRepo & DeliveryRepo {
  return {
    async insert(w) {
      await db
        .insertInto('webhooks')
        .values({ id: w.id, owner_id: w.ownerId, url: w.url, events: JSON.stringify(w.events), all_images: w.allImages ? 1 : 0, secret: w.secret, created_at: w.createdAt })
        .execute();
    },

    async get(id) {
      const row = await db.selectFrom('webhooks').select(PUBLIC_COLUMNS).where('id', '=', id).executeTakeFirst();
      return row && toWebhook(row);
    },

    async list(ownerId) {
      let query = db.selectFrom('webhooks').select(PUBLIC_COLUMNS).orderBy('created_at').orderBy('id');
      if (ownerId !== undefined) query = ownerId === null ? query.where('owner_id', 'is', null) : query.where('owner_id', '=', ownerId);
      return (await query.execute()).map(toWebhook);
    },

    async countOwned(ownerId) {
      const row = await db
        .selectFrom('webhooks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('owner_id', ownerId === null ? 'is' : '=', ownerId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async remove(id) {
      await db.transaction().execute(async (trx) => {
        const deliveries = trx.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', id);
        await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
        await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
        await trx.deleteFrom('webhooks').where('id', '=', id).execute();
      });
    },

    async deliveries(webhookId, limit, before) {
      let query = db.selectFrom('webhook_deliveries').select(['id', 'webhook_id', 'event', 'image_id', 'status', 'created_at', 'updated_at']).where('webhook_id', '=', webhookId);
      if (before) {
        const [createdAt, id] = before;
        query = query.where((eb) => eb.or([eb('created_at', '<', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)])]));
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      if (rows.length === 0) return [];
      const tries = await db
        .selectFrom('webhook_attempts')
        .select(['delivery_id', 'attempt', 'status_code', 'error', 'duration_ms', 'at'])
        .where('delivery_id', 'in', rows.map((r) => r.id))
        .orderBy('attempt')
        .execute();
      return rows.map(
        (r): DeliveryRecord => ({
          id: r.id,
          webhookId: r.webhook_id,
          event: r.event as ImageEventType,
          imageId: r.image_id,
          status: r.status as DeliveryStatus,
          attempts: tries.filter((t) => t.delivery_id === r.id).map(toAttempt),
          createdAt: r.created_at,
          updatedAt: r.updated_at,
        }),
      );
    },

    async pending(id) {
      const row = await db
        .selectFrom('webhook_deliveries')
        .innerJoin('webhooks', 'webhooks.id', 'webhook_deliveries.webhook_id')
        .select(['webhook_deliveries.id', 'webhook_deliveries.status', 'webhook_deliveries.body', 'webhooks.url', 'webhooks.secret'])
        .where('webhook_deliveries.id', '=', id)
        .executeTakeFirst();
      return row && { ...row, status: row.status as DeliveryStatus };
    },

    async recordTry(id, attempt, status) {
      await db.transaction().execute(async (trx) => {
        const updated = await trx
          .updateTable('webhook_deliveries')
          .set({ attempts: sql`attempts + 1`, status, updated_at: attempt.at })
          .where('id', '=', id)
          .returning('attempts')
          .executeTakeFirst();
        if (!updated) return;
        await trx
          .insertInto('webhook_attempts')
          .values({ id: newRecordId(), delivery_id: id, attempt: updated.attempts, status_code: attempt.statusCode, error: attempt.error, duration_ms: attempt.durationMs, at: attempt.at })
          .execute();
      });
    },

    async markFailed(id) {
      await db.updateTable('webhook_deliveries').set({ status: 'failed', updated_at: new Date().toISOString() }).where('id', '=', id).where('status', '=', 'pending').execute();
    },
  };
}
