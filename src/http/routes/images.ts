// The image routes of the JSON API: upload (multipart and raw), list, get, change, delete.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { canUpload, principalOf } from '../../core/access/policy.js';
import { ImgdError } from '../../core/errors.js';
import { statusOf } from '../error-codes.js';
import { checkDescription, checkKey } from '../../core/upload/fields.js';
import type { UploadBatch } from '../../core/upload/upload-api.js';
import { fingerprinting, fingerprintOnly, idempotencyKeyOf, replay } from '../idempotency.js';
import type { HttpContext } from '../context.js';
import { imageUrl, pageUrl } from '../image-view.js';
import { IdParams, ImageRef, imageViews, PageOf, pageOf, shareUntil } from '../route-parts.js';
import { clientFileName, readMultipart } from '../multipart.js';
import { problemBody } from '../problem.js';
import { bytesOf, problems } from '../openapi.js';
import { ListQuery, PatchBody, UploadForm, UploadQuery } from './image-schemas.js';
import { rateLimited } from '../rate-limits.js';

/** What an Idempotency-Key's fingerprint names as the request's target. */
const UPLOAD_ROUTE = 'POST /api/v1/images';

/** The upload routes read their bodies themselves; their schemas are for the docs only. */
const documentationOnly = () => () => true;

const toIso = (value: string | undefined): string | undefined => (value === undefined ? undefined : new Date(value).toISOString());

export function imageRoutes(ctx: HttpContext): FastifyPluginAsyncTypebox {
  const { config, uploads, images, accounts } = ctx;
  const urls = config.imageUrls;
  const viewFor = imageViews(ctx);

  /** Reads a multipart upload through the batch; the answer's body (201), or the refusal thrown. */
  async function receiveForm(request: FastifyRequest, batch: UploadBatch): Promise<unknown> {
    const fields = await readMultipart(request, batch, config.limits.files);
    const { items, errors } = await batch.finish(fields);
    const [first] = items;
    if (items.length + errors.length === 1 && first) return viewFor(request.actor)(first);
    const errorViews = errors.map((e) => ({
      original_name: e.originalName,
      ...problemBody(request, e.error.code, statusOf(e.error.code), e.error.message, e.error.extra),
    }));
    const [failure] = errors;
    if (items.length === 0 && failure) {
      if (errors.length === 1) throw failure.error;
      throw new ImgdError(failure.error.code, failure.error.message, { ...failure.error.extra, errors: errorViews });
    }
    return { items: items.map(viewFor(request.actor)), errors: errorViews };
  }

  /** The 201 answer serialized by the route's schema: the text a replay sends again. */
  function send(reply: FastifyReply, body: unknown): string {
    reply.code(201).type('application/json; charset=utf-8');
    return String(reply.serialize(body));
  }

  return async (app) => {
    // Upload bodies stay streams: the routes below read them part by part.
    app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));
    app.addContentTypeParser('*', (_request, _payload, done) => done(null));

    app.post(
      '/api/v1/images',
      {
        config: rateLimited(config.rateLimits.upload, config.rateLimits.windowSeconds),
        validatorCompiler: documentationOnly,
        schema: {
          operationId: 'uploadImages',
          summary: 'Upload one or several images (multipart/form-data)',
          description:
            'Form fields: `file` (repeatable), optional `description`, `key`, `visibility` (public|private). ' +
            'One file answers the image object; several answer `{ items, errors }`. With an Idempotency-Key, a retry with the ' +
            'same files and fields within 24 hours gets the first answer again (Idempotent-Replayed: true) and stores nothing; ' +
            'other content with the key is 422, a retry while the first request runs 409.',
          tags: ['images'],
          consumes: ['multipart/form-data'],
          headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ description: '1 to 255 printable ASCII characters, quoted or not' })) }),
          body: UploadForm,
          response: {
            201: Type.Union([ImageRef, Type.Object({ items: Type.Array(ImageRef), errors: Type.Array(Type.Unknown({ description: 'A problem with the original_name of the file it refuses' })) })], {
              description: 'One file: the image. Several: the images stored and the refusals',
            }),
            ...problems(400, 401, 409, 413, 415, 422),
          },
        },
      },
      async (request, reply) => {
        const upload = { actor: request.actor, ip: request.ip };
        if (!request.headers['content-type']?.toLowerCase().startsWith('multipart/form-data')) {
          canUpload(request.actor);
          // Refused before any part is read, but still an attempt that /api/v1/stats counts.
          throw await uploads.refuse(upload, new ImgdError('unsupported_media_type', 'Send the images as multipart/form-data, or use PUT with the raw bytes.'));
        }
        const key = idempotencyKeyOf(request);
        if (key === undefined) return send(reply, await receiveForm(request, await uploads.begin(upload)));
        canUpload(request.actor);
        const held = await ctx.idempotency.open(principalOf(request.actor), key);
        if (held.state === 'done') {
          // Read to tell whether it is the same request; nothing of it is kept.
          const probe = fingerprintOnly(config.limits.fileSize);
          const fields = await readMultipart(request, probe, config.limits.files);
          return replay(reply, held.replay(await probe.settled(UPLOAD_ROUTE, fields)));
        }
        try {
          const batch = fingerprinting(await uploads.begin(upload));
          const answer = await receiveForm(request, batch);
          const body = send(reply, answer);
          await held.finish(await batch.settled(UPLOAD_ROUTE), { status: 201, headers: { 'content-type': 'application/json; charset=utf-8' }, body });
          return reply.send(body);
        } catch (err) {
          // Only a success is kept: a retry of a refused or failed request runs again.
          await held.abandon();
          throw err;
        }
      },
    );

    app.put(
      '/api/v1/images',
      {
        config: rateLimited(config.rateLimits.upload, config.rateLimits.windowSeconds),
        validatorCompiler: documentationOnly,
        schema: {
          operationId: 'putImage',
          summary: 'Upload one image as the raw request body',
          description: 'The body is the image bytes; the format is detected from them, whatever the Content-Type says.',
          tags: ['images'],
          querystring: UploadQuery,
          body: bytesOf('The image bytes, whatever the Content-Type says', ['application/octet-stream', 'image/*']),
          response: { 201: ImageRef, ...problems(400, 401, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        const { filename, ...fields } = request.query as Record<string, string>;
        const originalName = clientFileName(filename);
        const upload = { actor: request.actor, ip: request.ip };
        const batch = await uploads.begin(upload);
        const declared = Number(request.headers['content-length'] ?? NaN);
        const { limit } = batch;
        // Refused before a byte is read; the connection closes with the answer (unread-body.ts).
        if (declared > limit) throw await batch.abort(new ImgdError('file_too_large', `The file is larger than the limit of ${limit} bytes.`, { limit }), originalName);
        try {
          await batch.receive(request.raw, originalName);
        } catch (err) {
          throw await batch.abort(err instanceof ImgdError ? err : new ImgdError('malformed_multipart', 'The upload was cut short.'), originalName);
        }
        const { items, errors } = await batch.finish(fields);
        const [image] = items;
        if (!image) throw errors[0]!.error;
        return reply.code(201).send(viewFor(request.actor)(image));
      },
    );

    app.get(
      '/api/v1/images',
      {
        schema: {
          operationId: 'listImages',
          summary: 'List images (newest first unless `sort` says otherwise), with cursor pagination; trashed images are not listed',
          tags: ['images'],
          querystring: ListQuery,
          response: { 200: PageOf(ImageRef), ...problems(400, 401) },
        },
      },
      async (request) => {
        const q = request.query;
        const page = await images.list(
          request.actor,
          { key: q.key, status: q.status, ownerId: q.owner, createdAfter: toIso(q.created_after), createdBefore: toIso(q.created_before), search: q.q, sort: q.sort },
          q.limit,
          q.cursor,
        );
        return pageOf(page, viewFor(request.actor));
      },
    );

    app.get(
      '/api/v1/images/:id',
      { schema: { operationId: 'getImage', summary: 'One image', tags: ['images'], params: IdParams, response: { 200: ImageRef, ...problems(401, 404) } } },
      async (request) => viewFor(request.actor)(await images.get(request.actor, request.params.id)),
    );

    app.patch(
      '/api/v1/images/:id',
      {
        schema: {
          operationId: 'updateImage',
          summary: 'Change the description, key or visibility of an image',
          tags: ['images'],
          params: IdParams,
          body: PatchBody,
          response: { 200: ImageRef, ...problems(400, 401, 404) },
        },
      },
      async (request) => {
        const b = request.body;
        const image = await images.update(request.actor, request.params.id, {
          ...(b.description !== undefined && { description: b.description === null ? null : checkDescription(b.description) }),
          ...(b.key !== undefined && { key: b.key === null ? null : checkKey(b.key) }),
          ...(b.visibility !== undefined && { visibility: b.visibility }),
        });
        return viewFor(request.actor)(image);
      },
    );

    app.post(
      '/api/v1/images/:id/share',
      {
        schema: {
          operationId: 'shareImage',
          summary: 'A signed URL that serves the image (private ones too) until it expires',
          tags: ['images'],
          params: IdParams,
          body: Type.Object({ expires_in: Type.Integer({ minimum: 1, default: 3600 }) }, { additionalProperties: false, examples: [{ expires_in: 600 }] }),
          response: {
            200: Type.Object({
              url: Type.String(),
              page_url: Type.String({ description: 'The viewer page (Open Graph preview) under the same signature' }),
              expires_at: Type.String({ format: 'date-time' }),
            }),
            ...problems(400, 401, 403, 404),
          },
        },
      },
      async (request) => {
        const { expires_in: expiresIn } = request.body;
        const until = shareUntil(expiresIn, config.auth.shareMaxSeconds);
        const image = await images.shareable(request.actor, request.params.id);
        const { expires, sig } = ctx.shares.sign(image.id, until);
        await accounts.audit.record(request.actor, 'image.share', image.id, request.ip, { expires_in: expiresIn });
        const signed = `?expires=${expires}&sig=${sig}`;
        return { url: `${imageUrl(ctx.publicUrl(), image, urls)}${signed}`, page_url: `${pageUrl(ctx.publicUrl(), image)}${signed}`, expires_at: new Date(expires * 1000).toISOString() };
      },
    );

    app.post(
      '/api/v1/images/:id/variant-url',
      {
        schema: {
          operationId: 'signVariantUrl',
          summary: 'A signed on-the-fly variant URL: any size up to VARIANT_MAX_DIMENSION, not only the allowlisted ones',
          tags: ['images'],
          params: IdParams,
          body: Type.Object(
            {
              w: Type.Optional(Type.Integer({ minimum: 1 })),
              h: Type.Optional(Type.Integer({ minimum: 1 })),
              fit: Type.Optional(Type.String()),
              format: Type.Optional(Type.String()),
              q: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ url: Type.String() }), ...problems(400, 401, 404) },
        },
      },
      async (request) => {
        const image = await images.get(request.actor, request.params.id);
        const { w, h, fit, format, q } = request.body;
        const query = ctx.variants.signedQuery(image, { w: w?.toString(), h: h?.toString(), fit, format, q: q?.toString() });
        return { url: `${imageUrl(ctx.publicUrl(), image, urls)}/custom?${query}` };
      },
    );

    app.delete(
      '/api/v1/images/:id',
      {
        schema: {
          operationId: 'deleteImage',
          summary: 'Delete an image: into the trash for TRASH_DAYS (restore it from there), or for good with `permanent=true`',
          description:
            'From this moment the image is served nowhere (its URL, variants, share links and viewer page answer 404). ' +
            'In the trash it keeps its bytes; they go when it is purged (emptied, or TRASH_DAYS later) and no other image refers to them.',
          tags: ['images'],
          params: IdParams,
          querystring: Type.Object({ permanent: Type.Optional(Type.Boolean({ default: false, description: 'Skip the trash' })) }, { additionalProperties: false }),
          response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        if (request.query.permanent) {
          await images.remove(request.actor, id);
          await accounts.audit.record(request.actor, 'image.delete', id, request.ip);
        } else {
          const { purged } = await ctx.trash.moveToTrash(request.actor, id);
          await accounts.audit.record(request.actor, 'image.delete', id, request.ip, purged ? undefined : { to: 'trash' });
        }
        return reply.code(204).send(null);
      },
    );
  };
}
