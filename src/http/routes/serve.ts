// Serving original bytes and variants by their stable URL: the HTTP side (ETag, Last-Modified, 304, HEAD, ranges,
// Cache-Control, CSP, negotiation, offload to nginx) of the core's serve use case.
import accepts from '@fastify/accepts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ImageUrlShape } from '../../config.js';
import { ImgdError } from '../../core/errors.js';
import type { Served, VariantAsk } from '../../core/images/serving.js';
import type { ImageRecord } from '../../core/images/image.js';
import type { HttpContext } from '../context.js';
import type { FastServe } from '../fast-serve.js';
import { formatChooser } from '../negotiation.js';
import { offloadExpires, offloadHeaders } from '../offload.js';
import { decideServe, type ServeDecision } from '../serve-rules.js';
import { securityHeadersFor } from '../security-headers.js';
import { bytesOf, problems } from '../openapi.js';
import { inline } from '../content-disposition.js';

/**
 * A 416 is an error like any other, so it is answered as problem+json with the code range_not_satisfiable
 * (sent with an empty image/* body before); Content-Range still tells the client the size, as RFC 9110 asks.
 */
function refuseUnsatisfiable(reply: FastifyReply, decision: ServeDecision): void {
  if (decision.status !== 416) return;
  reply.header('content-range', decision.headers['content-range'] ?? '');
  throw new ImgdError('range_not_satisfiable', 'The requested range lies outside the file; Content-Range gives its size.');
}

/** Every header of a full answer, as the fast lane replays it: the decision's, the route's own, the security ones. */
function replayedHeaders(decision: ServeDecision, reply: FastifyReply, url: string, offloaded: boolean): string[] {
  const all: Record<string, string> = { ...securityHeadersFor(url), ...decision.headers };
  // The body is nginx's to send: imgd's answer itself has none.
  if (offloaded) all['content-length'] = '0';
  for (const name of ['content-disposition', 'vary', 'x-accel-redirect', 'x-accel-expires']) {
    const value = reply.getHeader(name);
    if (typeof value === 'string') all[name] = value;
  }
  return Object.entries(all).flat();
}

/**
 * An anonymous GET that finds no image it may see (none, private, trashed, deleted) is told 404 for as long as nginx's
 * micro-cache keeps a 200 (X-Accel-Expires: SENDFILE_CACHE_SECONDS). nginx sends an expired answer to others while one
 * request refreshes it (proxy_cache_use_stale updating), and only a cacheable answer replaces it: without this, the 200
 * of an image made private would go on being sent beside each refresh's uncached 404.
 */
function keepNotFound(err: unknown, request: FastifyRequest, reply: FastifyReply, sendfile: HttpContext['config']['sendfile'], signed: boolean): unknown {
  if (err instanceof ImgdError && err.code === 'not_found' && request.method === 'GET' && request.actor.kind === 'anonymous' && !signed) {
    const expires = offloadExpires(sendfile, true);
    if (expires !== undefined) reply.header('x-accel-expires', expires);
  }
  return err;
}

/** What only imgd's own routes on the main listener do: the fast lane (and its version when access was decided), offload. */
export interface Lanes {
  readonly fast?: FastServe | undefined;
  readonly decidedAt?: number;
  /** SENDFILE: the profiles' own routes keep sending bytes themselves (their listeners may not sit behind nginx). */
  readonly sendfile?: HttpContext['config']['sendfile'];
  /** The URL carries a share signature: its answer is for whoever holds the link, never for nginx's cache. */
  readonly signed?: boolean;
}

/**
 * Answers with what the serve use case found, to a request whose access was decided: ETag, Last-Modified, 304, HEAD,
 * ranges, Cache-Control by visibility, and with SENDFILE=x-accel the body left to nginx (on imgd's own routes). COMPAT
 * profiles serve originals through this too (§2.6).
 */
export async function sendServed(ctx: HttpContext, request: FastifyRequest, reply: FastifyReply, served: Served, lanes: Lanes = {}): Promise<FastifyReply> {
  const decision = decideServe(request, {
    etag: served.etag,
    lastModified: served.lastModified,
    size: served.size,
    contentType: served.contentType,
    cacheControl: served.isPublic ? `public, max-age=${ctx.config.cacheMaxAge}` : 'private, no-cache',
  });
  refuseUnsatisfiable(reply, decision);
  reply.code(decision.status).headers(decision.headers);
  if (served.negotiated) reply.header('vary', served.isPublic ? 'Accept' : 'Accept, Authorization');
  else if (!served.isPublic) reply.header('vary', 'Authorization');
  const sendfile = lanes.sendfile ?? { mode: 'off' };
  const full = decision.status === 200 && request.method === 'GET';
  const expires = offloadExpires(sendfile, full && served.isPublic && request.actor.kind === 'anonymous' && lanes.signed !== true);
  if (expires !== undefined) reply.header('x-accel-expires', expires);
  if (!decision.sendBody) return reply.send();
  const offload = full ? offloadHeaders(sendfile, served.blobKey) : undefined;
  if (offload) {
    reply.headers(offload);
    remember(lanes, request, reply, decision, served, true);
    return reply.send();
  }
  const body = await served.body(decision.range);
  if (Buffer.isBuffer(body)) remember(lanes, request, reply, decision, served, false);
  return reply.send(body);
}

/** Hands a full 200 of a public image to the fast lane, when it would keep it. */
function remember(lanes: Lanes, request: FastifyRequest, reply: FastifyReply, decision: ServeDecision, served: Served, offloaded: boolean): void {
  const { fast, decidedAt = 0 } = lanes;
  if (!fast || !served.isPublic || decision.status !== 200 || !fast.accepts(request.raw, decidedAt)) return;
  // A signed-in request's answer tells nginx not to keep it (X-Accel-Expires: 0): replayed, it would keep anonymous ones out of nginx's cache.
  if (lanes.sendfile?.mode === 'x-accel' && request.actor.kind !== 'anonymous') return;
  // Counted under the route pattern the router counts the same request under.
  const route = request.routeOptions.url ?? 'unmatched';
  const headers = replayedHeaders(decision, reply, request.url, offloaded);
  const { etag, blobKey, size, contentType } = served;
  fast.remember(request.raw, { etag, blobKey, size, contentType, offloaded, route, headers }, decidedAt);
}

/** An original whose access the caller decided (the COMPAT profiles' own routes). */
export function sendOriginal(ctx: HttpContext, request: FastifyRequest, reply: FastifyReply, image: ImageRecord): Promise<FastifyReply> {
  return sendServed(ctx, request, reply, ctx.serving.original(image));
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

/** The answers of a serving route for the OpenAPI document: the bytes (whole or a range), 304 and the problems (untyped: handlers send bytes). */
const serveAnswers = (...statuses: number[]): unknown => ({
  200: bytesOf('The bytes, with ETag, Last-Modified and Cache-Control (none on HEAD)', ['image/*']),
  206: bytesOf('The byte range asked for (Range), with Content-Range', ['image/*']),
  304: Type.Null({ description: 'Not modified (If-None-Match or If-Modified-Since)' }),
  ...problems(...statuses),
});

/**
 * GET and HEAD are two operations of the document, each with its own operationId. (A route whose method is the string
 * 'HEAD' is left out of the document by @fastify/swagger, one whose methods are a list is not.)
 */
const SERVE_METHODS = [
  [['GET'], 'get'],
  [['HEAD'], 'head'],
] as const;

const shareQuery = {
  expires: Type.Optional(Type.String({ description: 'Share links: expiry (Unix seconds)' })),
  sig: Type.Optional(Type.String({ description: 'Share links: signature' })),
};

export function serveRoutes(ctx: HttpContext, fast?: FastServe): FastifyPluginAsyncTypebox {
  const routes = shapeRoutes(ctx.config.imageUrls);
  const { sendfile } = ctx.config;
  /**
   * Runs the serve use case for one of these routes and sends what it found: the original (named inline) or, with
   * `variant`, a variant. A not-found of an anonymous GET without a share signature is kept by nginx's micro-cache.
   */
  async function answer(request: FastifyRequest, reply: FastifyReply, params: { filename: string; key?: string }, share: { expires?: string; sig?: string }, variant?: VariantAsk): Promise<FastifyReply> {
    const { expires, sig } = share;
    const signed = sig !== undefined;
    // The index's version when access was decided: the fast lane remembers the answer only if nothing changed since.
    const decidedAt = fast?.version ?? 0;
    const served = await ctx.serving
      .serve({
        actor: request.actor,
        address: { filename: params.filename, urlKey: params.key },
        shared: sig === undefined ? undefined : (image) => ctx.shares.verify(image.id, expires, sig),
        variant,
      })
      .catch((err: unknown) => {
        throw keepNotFound(err, request, reply, sendfile, signed);
      });
    if (!variant) reply.header('content-disposition', inline(served.image.filename));
    return sendServed(ctx, request, reply, served, { fast, decidedAt, sendfile, signed });
  }
  return async (app) => {
    await app.register(accepts);

    for (const [method, verb] of SERVE_METHODS) app.route({
      method: [...method],
      url: `${routes.original}/:variant`,
      exposeHeadRoute: false,
      schema: {
        operationId: `${verb}Variant`,
        summary: 'A variant: a preset (`small`, `medium`, …) or `custom` with w, h, fit, format, q (and s when signed)',
        description:
          'The format follows the Accept header and its q-values (AVIF, then WebP, when named with q > 0; else JPEG, or PNG ' +
          'for transparency) unless `format` pins it. Unsigned custom sizes and qualities must come from the configured allowlists.',
        tags: ['serving'],
        params: routes.variantParams,
        querystring: Type.Object({
          w: Type.Optional(Type.String()),
          h: Type.Optional(Type.String()),
          fit: Type.Optional(Type.String()),
          format: Type.Optional(Type.String()),
          q: Type.Optional(Type.String()),
          s: Type.Optional(Type.String({ description: 'Transform signature' })),
          ...shareQuery,
        }),
        response: serveAnswers(400, 401, 403, 404, 416),
      },
      handler: async (request, reply) => {
        if (!ctx.config.processing.enabled) throw new ImgdError('not_found', 'Variants are off on this server (PROCESSING=false).');
        const { expires, sig, ...query } = request.query;
        const { variant: name } = request.params;
        return answer(request, reply, request.params, { expires, sig }, { preset: name === 'custom' ? undefined : name, query, choose: formatChooser(request) });
      },
    });

    for (const [method, verb] of SERVE_METHODS) app.route({
      method: [...method],
      url: routes.original,
      exposeHeadRoute: false,
      schema: {
        operationId: `${verb}Original`,
        summary: 'The original bytes of an image',
        description: 'Public images to anyone; private ones only with a credential that may see them.',
        tags: ['serving'],
        params: routes.params,
        querystring: Type.Object(shareQuery),
        response: serveAnswers(401, 403, 404, 416),
      },
      handler: async (request, reply) => answer(request, reply, request.params, request.query),
    });
  };
}
