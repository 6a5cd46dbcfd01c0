// The Fastify app: logging, request ids, errors, credentials, OpenAPI docs, metrics and the routes.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from 'pino';
import type { HttpContext } from './context.js';
import { registerActorResolution } from './actor.js';
import { ImageSchema, ProblemSchema } from './image-view.js';
import { registerProblemHandlers } from './problem.js';
import { healthRoutes } from './routes/health.js';
import { imageRoutes } from './routes/images.js';
import { serveRoutes } from './routes/serve.js';
import { statsRoutes } from './routes/stats.js';
import { accountRoutes } from './routes/accounts.js';
import { webRoutes } from './routes/web.js';
import { registerRateLimits } from './rate-limits.js';
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export async function buildHttp(ctx: HttpContext, logger: Logger): Promise<FastifyInstance> {
  const { config } = ctx;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Not 'x-request-id': with a header name set, Fastify takes any value of that header as the id and never calls
    // genReqId, so the check below did not run (300-character or spaced ids were echoed and logged as given).
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.connectionTimeoutMs,
    trustProxy: config.http.trustProxy,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Unknown JSON properties are refused, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ImageSchema);
  app.addSchema(ProblemSchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'imgd', description: 'Self-hosted image service', version: '1' },
      
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerProblemHandlers(app);
  registerActorResolution(app, ctx.resolveCredential);
  await registerRateLimits(app, config.jobs.redisUrl ? { redisUrl: config.jobs.redisUrl, prefix: config.jobs.redisPrefix } : undefined);
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      exposedHeaders: ['etag', 'content-range', 'x-request-id', 'retry-after'],
      maxAge: 600,
    });
  }

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    // Images are meant to be embedded by other sites; everything else stays on this origin.
    if (!reply.hasHeader('cross-origin-resource-policy')) {
      reply.header('cross-origin-resource-policy', request.url.startsWith('/i/') ? 'cross-origin' : 'same-origin');
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.get('/api/v1', { schema: { hide: true } }, async () => ({ name: 'imgd', api: `${ctx.publicUrl()}/api/v1`, docs: `${ctx.publicUrl()}/docs` }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes(ctx));
  await app.register(imageRoutes(ctx));
  await app.register(serveRoutes(ctx));
  await app.register(statsRoutes(ctx));
  await app.register(accountRoutes(ctx));
  await app.register(webRoutes(ctx));
  return app;
}
