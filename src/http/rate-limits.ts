// Rate limits (@fastify/rate-limit): per client, on the routes that ask for one, answered as problem+json; in Redis when configured.
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ImgdError } from '../core/errors.js';
import { describeActor } from '../core/types.js';

/** Route config for a limit of `max` requests per window; 0 means no limit. */
export function rateLimited(max: number, windowSeconds: number): { rateLimit: false | { max: number; timeWindow: number } } {
  return { rateLimit: max > 0 ? { max, timeWindow: windowSeconds * 1000 } : false };
}

/** Signed-in clients are counted by credential, others by address. */
function clientKey(request: FastifyRequest): string {
  const actor = request.actor;
  return actor && actor.kind !== 'anonymous' ? describeActor(actor) : `ip:${request.ip}`;
}

export interface SharedLimits {
  readonly redisUrl: string;
  /** Namespaces the counters, so that deployments sharing a Redis keep theirs apart. */
  readonly prefix: string;
}

/** A client for the counters that gives up fast: a request never waits long on a Redis that is away. */
async function counterClient(app: FastifyInstance, shared: SharedLimits): Promise<Redis> {
  // Loaded only when Redis is configured.
  const { Redis } = await import('ioredis');
  const client = new Redis(shared.redisUrl, { connectTimeout: 1000, commandTimeout: 1000, maxRetriesPerRequest: 1 });
  client.on('error', (err) => app.log.debug({ err: err.message }, 'redis (rate limits) unavailable'));
  app.addHook('onClose', async () => {
    client.disconnect();
  });
  return client;
}

/** With `shared`, every instance on that Redis counts against the same limits. */
export async function registerRateLimits(app: FastifyInstance, shared?: SharedLimits): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    ...(shared && {
      redis: await counterClient(app, shared),
      nameSpace: `${shared.prefix}:rate-limit:`,
      // While Redis is away requests go through unlimited rather than fail: uploads keep working.
      skipOnError: true,
    }),
    hook: 'preHandler',
    keyGenerator: clientKey,
    errorResponseBuilder: (_request, context) =>
      new ImgdError('rate_limited', `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} s.`, { retry_after: Math.ceil(context.ttl / 1000) }),
  });
}
