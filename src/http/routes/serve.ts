// Serving original bytes by their stable URL, with ETag, Last-Modified, 304, HEAD and ranges.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ImageUrlShape } from '../../config.js';
import { ImgdError } from '../../core/errors.js';
import type { ImageAddress } from '../../core/images.js';
import { decideServe, type ServeDecision } from '../../core/serve-rules.js';
import { originalKey, readBlob } from '../../store/blob-store.js';
import type { HttpContext } from '../context.js';
import { HotCache, type HotBlob } from '../hot-cache.js';
import type { ImageRecord } from '../../core/types.js';
import type { FastAnswer, FastServe } from '../fast-serve.js';
import { SECURITY_HEADERS, resourcePolicyFor } from '../security-headers.js';

/**
 * A 416 is an error like any other, so it is answered as problem+json with the code range_not_satisfiable
 * (sent with an empty image/* body before); Content-Range still tells the client the size, as RFC 9110 asks.
 */
function refuseUnsatisfiable(reply: FastifyReply, decision: ServeDecision): void {
  if (decision.status !== 416) return;
  reply.header('content-range', decision.headers['content-range'] ?? '');
  throw new ImgdError('range_not_satisfiable', 'The requested range lies outside the file; Content-Range gives its size.');
}

/** The bytes a decision asks for, out of a blob held in memory. */
const bodyOf = (blob: HotBlob, decision: ServeDecision): Buffer =>
  decision.range ? blob.body.subarray(decision.range.start, decision.range.end + 1) : blob.body;

/** Every header of a full answer, as the fast lane replays it: the decision's, the route's own, the security ones. */
function replayedHeaders(decision: ServeDecision, reply: FastifyReply, url: string): string[] {
  const all: Record<string, string> = { ...SECURITY_HEADERS, 'cross-origin-resource-policy': resourcePolicyFor(url), ...decision.headers };
  for (const name of ['content-disposition', 'vary']) {
    const value = reply.getHeader(name);
    if (typeof value === 'string') all[name] = value;
  }
  return Object.entries(all).flat();
}

/** Hands a full 200 of a public image to the fast lane, when it would keep it. */
function offerToFastLane(
  fast: FastServe | undefined,
  request: FastifyRequest,
  reply: FastifyReply,
  decision: ServeDecision,
  answer: Omit<FastAnswer, 'headers' | 'route'>,
  decidedAt: number,
): void {
  if (!fast || decision.status !== 200 || !fast.accepts(request.raw, decidedAt)) return;
  // Counted under the route pattern the router counts the same request under.
  const route = request.routeOptions.url ?? 'unmatched';
  fast.remember(request.raw, { ...answer, route, headers: replayedHeaders(decision, reply, request.url) }, decidedAt);
}

export interface OriginalLanes {
  readonly hot?: HotCache;
  readonly fast?: FastServe | undefined;
  /** The fast lane's version when the access decision was taken. */
  readonly decidedAt?: number;
}

/**
 * The routes of one URL shape (IMAGE_URLS; only the configured one is mounted). Keyed: `/i/<key>/<filename>`, the key
 * found by its unique index and the name checked against the image's; name: seed 000's `/i/<filename>`.
 */
function shapeRoutes(shape: ImageUrlShape) {
  const filename = Type.String({ maxLength: 255, description: 'The image\'s `filename`' });
  const variant = Type.String({ maxLength: 32 });
  if (shape === 'name') {
    return { original: '/i/:filename', params: Type.Object({ filename }), variantParams: Type.Object({ filename, variant }) };
  }
  // No pattern on the key: a malformed one is an unknown image (404), as a well-formed wrong one is.
  const key = Type.String({ description: 'The random part of the image\'s URL, 16 base64url characters' });
  return { original: '/i/:key/:filename', params: Type.Object({ key, filename }), variantParams: Type.Object({ key, filename, variant }) };
}

const addressOf = (params: { filename: string; key?: string }): ImageAddress => ({ filename: params.filename, urlKey: params.key });

/**
 * Answers with an image's stored bytes, the way /i/<key>/<filename> does: ETag, Last-Modified, 304, HEAD, ranges,
 * Cache-Control by visibility. The caller has decided access; COMPAT profiles serve through this too (§2.6).
 */
export async function sendOriginal(ctx: HttpContext, request: FastifyRequest, reply: FastifyReply, image: ImageRecord, lanes: OriginalLanes = {}): Promise<FastifyReply> {
  const { hot, fast, decidedAt = 0 } = lanes;
  const etag = `"${image.sha256}"`;
  const decision = decideServe(request, {
    etag,
    lastModified: new Date(image.createdAt),
    size: image.bytes,
    contentType: image.contentType,
    cacheControl: image.visibility === 'public' ? `public, max-age=${ctx.config.cacheMaxAge}` : 'private, no-cache',
  });
  refuseUnsatisfiable(reply, decision);
  reply.code(decision.status).headers(decision.headers);
  if (image.visibility === 'private') reply.header('vary', 'Authorization');
  if (!decision.sendBody) return reply.send();
  if (hot && image.visibility === 'public' && hot.admits(image.bytes)) {
    const key = originalKey(image.sha256);
    const blob = await hot.load(key, { contentType: image.contentType, etag }, () => readBlob(ctx.store, key));
    offerToFastLane(fast, request, reply, decision, { etag, blobKey: key }, decidedAt);
    return reply.send(bodyOf(blob, decision));
  }
  return reply.send(await ctx.images.openOriginal(image, decision.range));
}

export function serveRoutes(ctx: HttpContext, hot = new HotCache(), fast?: FastServe): FastifyPluginAsyncTypebox {
  const publicCache = `public, max-age=${ctx.config.cacheMaxAge}`;
  const routes = shapeRoutes(ctx.config.imageUrls);
  return async (app) => {
    app.route({
      method: ['GET', 'HEAD'],
      url: `${routes.original}/:variant`,
      exposeHeadRoute: false,
      schema: {
        summary: 'A variant: a preset (`small`, `medium`, …) or `custom` with w, h, fit, format, q (and s when signed)',
        description:
          'The format follows the Accept header (AVIF, WebP, then JPEG, or PNG for transparency) unless `format` pins it. ' +
          'Unsigned custom sizes and qualities must come from the configured allowlists.',
        tags: ['serving'],
        params: routes.variantParams,
        querystring: Type.Object({
          w: Type.Optional(Type.String()),
          h: Type.Optional(Type.String()),
          fit: Type.Optional(Type.String()),
          format: Type.Optional(Type.String()),
          q: Type.Optional(Type.String()),
          s: Type.Optional(Type.String({ description: 'Transform signature' })),
          expires: Type.Optional(Type.String({ description: 'Share links: expiry (Unix seconds)' })),
          sig: Type.Optional(Type.String({ description: 'Share links: signature' })),
        }),
      },
      handler: async (request, reply) => {
        if (!ctx.config.processing.enabled) throw new ImgdError('not_found', 'Variants are off on this server (PROCESSING=false).');
        const { expires, sig, ...transform } = request.query;
        const shared = sig === undefined ? undefined : (image: { id: string }) => ctx.shares.verify(image.id, expires, sig);
        const decidedAt = fast?.version ?? 0;
        const image = await ctx.images.findServable(request.actor, addressOf(request.params), shared);
        const { variant: name } = request.params;
        const plan = ctx.variants.plan(image, name === 'custom' ? undefined : name, transform, request.headers.accept);
        // Only public bytes are kept in memory; the access check above runs on every request either way.
        const isPublic = image.visibility === 'public';
        const cached = isPublic ? hot.get(plan.key) : undefined;
        const variant = cached ? undefined : await ctx.variants.get(image, plan);
        const facts = variant ?? { etag: cached!.etag, size: cached!.body.length, contentType: cached!.contentType };
        const decision = decideServe(request, {
          etag: facts.etag,
          lastModified: new Date(image.createdAt),
          size: facts.size,
          contentType: facts.contentType,
          cacheControl: image.visibility === 'public' ? publicCache : 'private, no-cache',
        });
        refuseUnsatisfiable(reply, decision);
        reply.code(decision.status).headers(decision.headers);
        if (plan.negotiated) reply.header('vary', image.visibility === 'private' ? 'Accept, Authorization' : 'Accept');
        else if (image.visibility === 'private') reply.header('vary', 'Authorization');
        const replay = (): void => {
          if (isPublic) offerToFastLane(fast, request, reply, decision, { etag: facts.etag, blobKey: plan.key }, decidedAt);
        };
        if (!decision.sendBody) return reply.send();
        if (!variant) {
          replay();
          return reply.send(bodyOf(cached!, decision));
        }
        if (isPublic && hot.admits(variant.size)) {
          const blob = await hot.load(variant.key, variant, async () => variant.bytes ?? readBlob(ctx.store, variant.key));
          replay();
          return reply.send(bodyOf(blob, decision));
        }
        return reply.send(await variant.open(decision.range));
      },
    });

    app.route({
      method: ['GET', 'HEAD'],
      url: routes.original,
      exposeHeadRoute: false,
      schema: {
        summary: 'The original bytes of an image',
        description: 'Public images to anyone; private ones only with a credential that may see them.',
        tags: ['serving'],
        params: routes.params,
        querystring: Type.Object({
          expires: Type.Optional(Type.String({ description: 'Share links: expiry (Unix seconds)' })),
          sig: Type.Optional(Type.String({ description: 'Share links: signature' })),
        }),
      },
      handler: async (request, reply) => {
        const { expires, sig } = request.query;
        const shared = sig === undefined ? undefined : (image: { id: string }) => ctx.shares.verify(image.id, expires, sig);
        const decidedAt = fast?.version ?? 0;
        const image = await ctx.images.findServable(request.actor, addressOf(request.params), shared);
        reply.header('content-disposition', `inline; filename="${image.filename}"`);
        return sendOriginal(ctx, request, reply, image, { hot, fast, decidedAt });
      },
    });
  };
}
