// Rate-limit counters in Redis, shared by every instance, that fall back to this process's own counters while Redis is away.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

interface Count {
  current: number;
  ttl: number;
}
type Done = (error: Error | null, result?: Count) => void;

/** One fixed window per key, started by its first request. */
const COUNT_SCRIPT = `local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {current, redis.call('PTTL', KEYS[1])}`;

/** A window's count and time left without counting (0, 0 when there is none). */
const READ_SCRIPT = `local current = redis.call('GET', KEYS[1])
if not current then return {0, 0} end
return {tonumber(current), redis.call('PTTL', KEYS[1])}`;

/** After Redis fails a count, requests are counted here for this long before Redis is asked again. */
const FALLBACK_MS = 5000;
/** Windows kept in memory while counting locally; the least recently used go first. */
const LOCAL_CAPACITY = 10_000;

/** The same fixed windows as the script's, in this process. */
class LocalCounts {
  private readonly windows = new LRUCache<string, { count: number; endsAt: number }>({ max: LOCAL_CAPACITY });

  increment(key: string, windowMs: number): Count {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { current: window.count, ttl: window.endsAt - now };
  }

  read(key: string): Count {
    const now = Date.now();
    const window = this.windows.get(key);
    return window && window.endsAt > now ? { current: window.count, ttl: window.endsAt - now } : { current: 0, ttl: 0 };
  }
}

export interface CounterEvents {
  /** Redis could not count: requests are counted in this process for a while. */
  onFallback(err: Error): void;
  /** Redis counts again. */
  onRecovered(): void;
}

/**
 * A store for @fastify/rate-limit. A request never waits on a Redis that is away: while the client is not connected,
 * or for FALLBACK_MS after a count failed (a timeout included), it is counted locally at once. Each instance then
 * enforces the limit on its own, so a client may get up to the limit from each instance until Redis is back.
 */
export function fallbackCounters(redis: Redis, nameSpace: string, events: CounterEvents): FastifyRateLimitStoreCtor {
  const local = new LocalCounts();
  const counter = redis as Redis & {
    imgdRateLimit(key: string, windowMs: number): Promise<[number, number]>;
    imgdRateLimitRead(key: string): Promise<[number, number]>;
  };
  counter.defineCommand('imgdRateLimit', { numberOfKeys: 1, lua: COUNT_SCRIPT });
  counter.defineCommand('imgdRateLimitRead', { numberOfKeys: 1, lua: READ_SCRIPT });
  let localUntil = 0;
  let degraded = false;
  const countLocally = (count: () => Count, why: () => Error): Count => {
    if (!degraded) {
      degraded = true;
      events.onFallback(why());
    }
    return count();
  };

  class Counters implements FastifyRateLimitStore {
    constructor(
      _options?: unknown,
      private readonly route = '',
    ) {}

    incr(key: string, done: Done, windowMs: number): void {
      this.ask(key, done, (name) => counter.imgdRateLimit(name, windowMs), (name) => local.increment(name, windowMs));
    }

    /** The count without counting (the limiter's `{ increment: false }`). */
    read(key: string, done: Done): void {
      this.ask(key, done, (name) => counter.imgdRateLimitRead(name), (name) => local.read(name));
    }

    /** Redis when it answers, else this process's counts (see fallbackCounters). */
    private ask(key: string, done: Done, remote: (name: string) => Promise<[number, number]>, locally: (name: string) => Count): void {
      const name = `${nameSpace}${this.route}${key}`;
      if (redis.status === 'connecting' || redis.status === 'connect') {
        // Still starting up (or reconnecting): not worth a warning yet.
        done(null, locally(name));
        return;
      }
      if (redis.status !== 'ready' || Date.now() < localUntil) {
        done(null, countLocally(() => locally(name), () => new Error(`Redis connection is ${redis.status}`)));
        return;
      }
      remote(name).then(
        ([current, ttl]) => {
          if (degraded) {
            degraded = false;
            events.onRecovered();
          }
          done(null, { current, ttl });
        },
        (err: Error) => {
          localUntil = Date.now() + FALLBACK_MS;
          done(null, countLocally(() => locally(name), () => err));
        },
      );
    }

    child(routeOptions: unknown): FastifyRateLimitStore {
      // The plugin passes the route's limit settings with the route under `routeInfo` (its types say otherwise).
      const route = (routeOptions as { routeInfo?: { method?: unknown; url?: unknown } }).routeInfo;
      return new Counters(undefined, `${String(route?.method ?? '')}${String(route?.url ?? '')}-`);
    }
  }
  return Counters;
}
