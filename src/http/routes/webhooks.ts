// Webhook routes: subscribe to image events, list and delete subscriptions, and see each delivery's tries.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { IMAGE_EVENTS, type DeliveryRecord, type ImageEventType, type WebhookRecord } from '../../core/webhooks/webhooks.js';
import { MAX_URL_LENGTH } from '../../core/webhooks/webhook-targets.js';
import type { HttpContext } from '../context.js';
import { Nullable } from '../image-view.js';
import { problems } from '../openapi.js';
import { PageOf, pageOf } from '../route-parts.js';


const EventSchema = Type.Unsafe<ImageEventType>({ type: 'string', enum: [...IMAGE_EVENTS] });
const WebhookSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(EventSchema),
  all_images: Type.Boolean({ description: "Receives every image's events, not only its owner's (admins only)" }),
  owner_id: Nullable(Type.String({ description: 'The user whose images it hears of; null when made with the admin token' })),
  created_at: Type.String({ format: 'date-time' }),
});
const AttemptSchema = Type.Object({
  attempt: Type.Integer(),
  status_code: Nullable(Type.Integer({ description: "The receiver's HTTP status; null when none came (refused target, timeout, connection error)" })),
  error: Nullable(Type.String()),
  duration_ms: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
});
const DeliverySchema = Type.Object({
  id: Type.String({ description: 'The webhook-id header, the same on every try' }),
  webhook_id: Type.String(),
  event: EventSchema,
  image_id: Type.String(),
  status: Type.Unsafe<'pending' | 'succeeded' | 'failed'>({ type: 'string', enum: ['pending', 'succeeded', 'failed'] }),
  attempts: Type.Array(AttemptSchema),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const webhookView = (w: WebhookRecord) => ({ id: w.id, url: w.url, events: [...w.events], all_images: w.allImages, owner_id: w.ownerId, created_at: w.createdAt });
const deliveryView = (d: DeliveryRecord) => ({
  id: d.id,
  webhook_id: d.webhookId,
  event: d.event,
  image_id: d.imageId,
  status: d.status,
  attempts: d.attempts.map((a) => ({ attempt: a.attempt, status_code: a.statusCode, error: a.error, duration_ms: a.durationMs, at: a.at })),
  created_at: d.createdAt,
  updated_at: d.updatedAt,
});

export function webhookRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { webhooks } = ctx;
  return async (app) => {
    app.post(
      '/api/v1/webhooks',
      {
        schema: {
          operationId: 'createWebhook',
          summary: "Subscribe a URL to image events (your images'; every image's with all_images, admins only); the signing secret is shown only in this answer",
          tags: ['webhooks'],
          body: Type.Object(
            {
              url: Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH, description: 'http(s) URL of the receiver; private, loopback and link-local targets are refused unless WEBHOOK_ALLOW_PRIVATE=true' }),
              events: Type.Array(EventSchema, { minItems: 1, maxItems: IMAGE_EVENTS.length, uniqueItems: true }),
              all_images: Type.Optional(Type.Boolean({ description: "Every image's events (admins only; always so with the admin token)" })),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Intersect([WebhookSchema, Type.Object({ secret: Type.String({ description: 'whsec_<base64>: verifies the webhook-signature of every delivery; shown only here' }) })]),
            ...problems(400, 401, 403, 409, 422),
          },
        },
      },
      async (request, reply) => {
        const { url, events, all_images: allImages } = request.body;
        const { webhook, secret } = await webhooks.create(request.actor, { url, events, allImages });
        return reply.code(201).send({ ...webhookView(webhook), secret });
      },
    );

    app.get(
      '/api/v1/webhooks',
      {
        schema: {
          operationId: 'listWebhooks',
          summary: 'Your webhooks (admins: every webhook); secrets are never shown again',
          tags: ['webhooks'],
          response: { 200: Type.Object({ items: Type.Array(WebhookSchema) }), ...problems(401, 403) },
        },
      },
      async (request) => ({ items: (await webhooks.list(request.actor)).map(webhookView) }),
    );

    app.delete(
      '/api/v1/webhooks/:id',
      {
        schema: {
          operationId: 'deleteWebhook',
          summary: 'Delete a webhook with its delivery history; deliveries still pending are not sent',
          tags: ['webhooks'],
          params: IdParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        await webhooks.remove(request.actor, request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/webhooks/:id/deliveries',
      {
        schema: {
          operationId: 'listWebhookDeliveries',
          summary: "A webhook's deliveries, newest first, each with every try's status code or error and time",
          tags: ['webhooks'],
          params: IdParams,
          querystring: Type.Object(
            { limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }), cursor: Type.Optional(Type.String({ maxLength: 200 })) },
            { additionalProperties: false },
          ),
          response: { 200: PageOf(DeliverySchema), ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const page = await webhooks.deliveries(request.actor, request.params.id, request.query.limit, request.query.cursor);
        return pageOf(page, deliveryView);
      },
    );
  };
}
