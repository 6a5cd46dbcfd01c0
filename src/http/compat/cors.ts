// media_server's CORS, as the seed's Starlette middleware answered (allow everything, credentials on); CORS_ORIGINS narrows it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendDetail } from './answers.js';

const METHODS = 'DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT';

/**
 * Every route of the scope, errors included: a request with `Origin` gets `Access-Control-Allow-Origin: *`
 * (its origin, with `Vary: Origin`, when it sends cookies) and `Access-Control-Allow-Credentials: true`. A
 * preflight on `paths` answers 200 `OK`, or 400 `Disallowed CORS origin` for an origin CORS_ORIGINS leaves out.
 */
export function seedCors(app: FastifyInstance, origins: readonly string[], paths: readonly string[]): void {
  const allowed = (origin: string): boolean => origins.length === 0 || origins.includes('*') || origins.includes(origin);
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin || !allowed(origin) || isPreflight(request)) return;
    if (request.headers.cookie) reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    else reply.header('access-control-allow-origin', '*');
    reply.header('access-control-allow-credentials', 'true');
  });
  const preflight = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const origin = request.headers.origin ?? '';
    reply.header('vary', 'Origin').header('content-type', 'text/plain; charset=utf-8');
    if (!allowed(origin)) return reply.code(400).send('Disallowed CORS origin');
    return reply
      .code(200)
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-methods', METHODS)
      .header('access-control-allow-headers', request.headers['access-control-request-headers'] ?? '')
      .header('access-control-allow-credentials', 'true')
      .header('access-control-max-age', '600')
      .send('OK');
  };
  for (const url of paths) {
    // Preflights are CORS, not operations: out of the OpenAPI document, as @fastify/cors leaves its own.
    app.options(url, { schema: { hide: true } }, async (request, reply) => {
      if (isPreflight(request)) return preflight(request, reply);
      // Not a preflight: the seed's app had no OPTIONS route.
      reply.header('allow', url === '/upload' ? 'POST' : url === '/media/:filename' ? 'GET, HEAD, DELETE' : 'GET, HEAD');
      return sendDetail(reply, 405, 'Method Not Allowed');
    });
  }
}

const isPreflight = (request: FastifyRequest): boolean =>
  request.method === 'OPTIONS' && Boolean(request.headers.origin) && Boolean(request.headers['access-control-request-method']);
