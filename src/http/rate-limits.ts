// Rate limits (@fastify/rate-limit): per client, on the routes that ask for one, answered as problem+json.
import rateLimit from '@fastify/rate-limit';
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

export async function registerRateLimits(app: FastifyInstance): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    hook: 'preHandler',
    keyGenerator: clientKey,
    errorResponseBuilder: (_request, context) =>
      new ImgdError('rate_limited', `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} s.`, { retry_after: Math.ceil(context.ttl / 1000) }),
  });
}
