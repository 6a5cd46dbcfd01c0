// The Fastify app: logging, request ids, errors, credentials, OpenAPI docs, metrics and the routes.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { HttpContext } from './context.js';
import { registerActorResolution } from './actor.js';
import { ImageSchema } from './image-view.js';
import { documentOptions, ProblemSchema } from './openapi.js';
import { registerProblemHandlers } from './problem.js';
import { answerUnavailableWhileClosing, clientErrorAnswer, frameworkErrorAnswer, writeProblem, type EarlyErrorWriter } from './early-errors.js';
import { healthRoutes } from './routes/health.js';
import { imageRoutes } from './routes/images.js';
import { uploadRoutes } from './routes/uploads.js';
import { serveRoutes } from './routes/serve.js';
import { statsRoutes } from './routes/stats.js';
import { accountRoutes } from './routes/accounts.js';
import { sessionRoutes } from './routes/sessions.js';
import { userRoutes } from './routes/users.js';
import { integrationRoutes } from './routes/integrations.js';
import { webRoutes } from './routes/web.js';
import { webhookRoutes } from './routes/webhooks.js';
import { trashRoutes } from './routes/trash.js';
import { libraryRoutes } from './routes/library.js';
import { albumRoutes } from './routes/albums.js';
import { viewerRoutes } from './routes/viewer.js';
import { registerRateLimits } from './rate-limits.js';
import cors from '@fastify/cors';
import { closeFastLaneWithServer, FastServe, fastLaneServer } from './fast-serve.js';
import { requestIdOf } from './request-id.js';
import { securityHeadersFor } from './security-headers.js';
import formbody from '@fastify/formbody';
import cookie from '@fastify/cookie';
import { acceptConstraint } from './compat/accept.js';
import { ClosingResponse } from './unread-body.js';
import { lazySchemaCompilers } from './lazy-schema-compilers.js';
import { SERVING_WATCH_MS } from '../core/images/servable-index.js';

/**
 * A Fastify instance with what every listener shares (the main one and each COMPAT profile's own): logger,
 * request ids, timeouts, proxy trust, rate limits, form bodies, security headers and request metrics. `earlyErrors`
 * writes the errors made before any route ran (a profile's own listener answers them in its seed's style).
 */
export async function baseHttp(ctx: HttpContext, logger: Logger, earlyErrors: EarlyErrorWriter = writeProblem, fast?: FastServe): Promise<FastifyInstance> {
  const { config } = ctx;
  const schemas = lazySchemaCompilers();
  const app = Fastify({
    // The main listener asks its fast lane before Fastify's own request handler.
    ...(fast && { serverFactory: fastLaneServer(fast) }),
    loggerInstance: logger as FastifyBaseLogger,
    // Not 'x-request-id': with a header name set, Fastify takes any value of that header as the id and never calls
    // genReqId, so the check below did not run (300-character or spaced ids were echoed and logged as given).
    requestIdHeader: false,
    genReqId: requestIdOf,
    requestTimeout: config.http.requestTimeoutMs,
    // Node checks request deadlines every 30 s by default: a request over REQUEST_TIMEOUT_MS got its 408 up to 30 s late.
    http: {
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(config.http.requestTimeoutMs / 4))),
      // An answer sent before the body ended closes the connection instead of reading the rest of the body.
      ServerResponse: ClosingResponse,
    },
    connectionTimeout: config.http.connectionTimeoutMs,
    trustProxy: config.http.trustProxy,
    bodyLimit: 1024 * 1024,
    // Answered by answerUnavailableWhileClosing instead, as problem+json with Retry-After.
    return503OnClosing: false,
    clientErrorHandler: clientErrorAnswer(earlyErrors),
    frameworkErrors: frameworkErrorAnswer(earlyErrors),
    forceCloseConnections: 'idle',
    // Unknown JSON properties are refused, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    schemaController: { compilersFactory: schemas.compilersFactory },
    // Stored names reach 108 characters (an 80-character stem, a collision stamp, the extension); Fastify's default is 100.
    routerOptions: { constraints: { accept: acceptConstraint }, maxParamLength: 256 },
  }).withTypeProvider<TypeBoxTypeProvider>();
  schemas.bind(app);
  answerUnavailableWhileClosing(app);
  await registerRateLimits(app, config.jobs.redisUrl ? { redisUrl: config.jobs.redisUrl, prefix: config.jobs.redisPrefix } : undefined);
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const corp = reply.getHeader('cross-origin-resource-policy');
    reply.headers(securityHeadersFor(request.url));
    if (corp !== undefined) reply.header('cross-origin-resource-policy', corp);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.http.record(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  return app;
}

/** What a browser on another origin (CORS_ORIGINS) needs to send and read for tus. */
const TUS_REQUEST_HEADERS = ['tus-resumable', 'upload-length', 'upload-metadata', 'upload-offset', 'upload-checksum', 'x-http-method-override'];
const TUS_RESPONSE_HEADERS = ['location', 'tus-resumable', 'tus-version', 'tus-extension', 'tus-max-size', 'tus-checksum-algorithm', 'upload-offset', 'upload-length', 'upload-metadata', 'upload-expires', 'x-image-id', 'x-image-url'];

/** What COMPAT adds to the main listener: its bare profiles, and how unknown paths outside /api/v1 answer there. */
export interface MainListenerExtras {
  mount(app: FastifyInstance): Promise<void>;
  readonly notFound: ((request: FastifyRequest, reply: FastifyReply) => unknown) | undefined;
}

export async function buildHttp(ctx: HttpContext, logger: Logger, extras?: MainListenerExtras): Promise<FastifyInstance> {
  const { config } = ctx;
  // Its answers last as the servable index's records do: until a change, while the index watches the database for them.
  const fast = new FastServe(ctx.serving, ctx.metrics, logger, { corsEnabled: config.corsOrigins.length > 0, lasting: () => ctx.servable.lasting });
  // Every change to an image made through this process drops the answers remembered for it.
  ctx.servable.onChange(() => fast.forget());
  // While a server listens, what serving holds of images is kept until a process changes one, not read again every second.
  const stopWatching = ctx.servable.watch(() => ctx.catalog.servingVersion(), SERVING_WATCH_MS);
  const app = await baseHttp(ctx, logger, writeProblem, fast);
  closeFastLaneWithServer(app, fast);
  app.addHook('onClose', async () => stopWatching());

  app.addSchema(ImageSchema);
  app.addSchema(ProblemSchema);

  await app.register(swagger, documentOptions);
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerProblemHandlers(app, extras?.notFound);
  await app.register(cookie);
  registerActorResolution(app, ctx.resolveCredential, { resolve: ctx.resolveSessionCookie, csrfToken: ctx.csrfToken });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'idempotency-key', ...TUS_REQUEST_HEADERS],
      exposedHeaders: ['etag', 'content-range', 'x-request-id', 'retry-after', 'idempotent-replayed', ...TUS_RESPONSE_HEADERS],
      maxAge: 600,
    });
  }

  app.get('/api/v1', { schema: { hide: true } }, async () => ({ name: 'imgd', api: `${ctx.publicUrl()}/api/v1`, docs: `${ctx.publicUrl()}/docs` }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes(ctx));
  await app.register(imageRoutes(ctx));
  await app.register(libraryRoutes(ctx));
  await app.register(trashRoutes(ctx));
  await app.register(albumRoutes(ctx));
  await app.register(viewerRoutes(ctx));
  await app.register(uploadRoutes(ctx));
  ctx.metrics.caches.track('hot', () => ctx.serving.heldBytes);
  await app.register(serveRoutes(ctx, fast));
  await app.register(statsRoutes(ctx));
  await app.register(accountRoutes(ctx));
  await app.register(webhookRoutes(ctx));
  await app.register(sessionRoutes(ctx));
  await app.register(userRoutes(ctx));
  await app.register(integrationRoutes(ctx));
  await app.register(webRoutes(ctx));
  await extras?.mount(app);
  return app;
}
