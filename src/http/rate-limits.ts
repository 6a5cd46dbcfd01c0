// Rate limits (@fastify/rate-limit): per client, on the routes that ask for one, answered as problem+json; in Redis when configured.
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import { isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ImgdError } from '../core/errors.js';
import { describeActor } from '../core/access/actor.js';
import { fallbackCounters } from './rate-limit-store.js';

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

/**
 * A client for the counters that gives up fast: no offline queue (a command fails at once while disconnected) and a
 * short command timeout, after which the counters fall back to this process's own (see rate-limit-store.ts).
 */
async function counterClient(app: FastifyInstance, shared: SharedLimits): Promise<Redis> {
  // Loaded only when Redis is configured.
  const { Redis } = await import('ioredis');
  const client = new Redis(shared.redisUrl, { connectTimeout: 1000, commandTimeout: 250, maxRetriesPerRequest: 0, enableOfflineQueue: false });
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
      // While Redis is away each instance counts on its own instead of waiting: limits hold, uploads keep working.
      store: fallbackCounters(await counterClient(app, shared), `${shared.prefix}:rate-limit:`, {
        onFallback: (err) => app.log.warn({ err: err.message }, 'rate limits: Redis unavailable, counting in this process'),
        onRecovered: () => app.log.info('rate limits: counting in Redis again'),
      }),
    }),
    hook: 'preHandler',
    keyGenerator: clientKey,
    errorResponseBuilder: (_request, context) =>
      new ImgdError('rate_limited', `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} s.`, { retry_after: Math.ceil(context.ttl / 1000) }),
  });
}

/**
 * The address a client is counted under: IPv4 as is, IPv6 by its /64 (one host usually holds a
 * whole /64, so counting single addresses would let it rotate through them).
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail] = ip.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

type PreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * A limit counted twice, by client address and by the account a request names (a sign-in's
 * username, a registration's new name): no credential sent along, fresh or not, resets either
 * count. Undefined when `max` is 0 (no limit).
 */
export function perAddressAndAccount(
  app: FastifyInstance,
  route: string,
  max: number,
  windowSeconds: number,
  accountOf: (request: FastifyRequest) => string | undefined,
): PreHandler | undefined {
  if (max <= 0) return undefined;
  const options = { max, timeWindow: windowSeconds * 1000 };
  const byAddress = app.createRateLimit({ ...options, keyGenerator: (request) => `${route}:ip:${addressKey(request.ip)}` });
  const byAccount = app.createRateLimit({ ...options, keyGenerator: (request) => `${route}:account:${accountOf(request) ?? ''}` });
  return async (request, reply) => {
    const account = accountOf(request);
    // Both counts move on every try, so that neither can be kept low by alternating the other.
    const counts = await Promise.all([byAddress(request), account === undefined ? undefined : byAccount(request)]);
    const waits = counts.flatMap((c) => (c && !c.isAllowed && c.isExceeded ? [Math.max(1, c.ttlInSeconds)] : []));
    if (waits.length === 0) return;
    const seconds = Math.max(...waits);
    reply.header('retry-after', seconds);
    throw new ImgdError('rate_limited', `Too many requests; try again in ${seconds} s.`, { retry_after: seconds });
  };
}

/** A limit that counts what succeeded: `check` before the work, `count` once it succeeded. */
export interface SuccessLimit {
  /** Refuses (429 with Retry-After) once `max` successes are counted in the window; counts nothing itself. */
  readonly check: PreHandler;
  /** Counts one success of this request's client. */
  count(request: FastifyRequest): Promise<void>;
}

/**
 * A limit on successes per client address (IPv6 per /64): registrations count the accounts they create, so a refused
 * one (name or e-mail taken, invalid input) costs the client nothing (COMPAT.md §2.8). Concurrent requests checked
 * before any of them is counted may pass together. Undefined when `max` is 0 (no limit).
 */
export function perAddressOnSuccess(app: FastifyInstance, route: string, max: number, windowSeconds: number): SuccessLimit | undefined {
  if (max <= 0) return undefined;
  const limiter = app.createRateLimit({ max, timeWindow: windowSeconds * 1000, keyGenerator: (request) => `${route}:ip:${addressKey(request.ip)}` });
  return {
    async check(request, reply) {
      const status = await limiter(request, { increment: false });
      if (status.isAllowed || status.remaining > 0) return;
      const seconds = Math.max(1, status.ttlInSeconds);
      reply.header('retry-after', seconds);
      throw new ImgdError('rate_limited', `Too many requests; try again in ${seconds} s.`, { retry_after: seconds });
    },
    async count(request) {
      await limiter(request);
    },
  };
}
