// What the BullMQ runner needs around its Redis clients: a readiness wait, a time bound on each call, a redacted URL
// for messages, and tasks (the outbox relay, the reconciler) that run one at a time.
import type { Redis } from 'ioredis';
import { within } from '../lib/until-aborted.js';

/** The Redis URL without its password, for messages that reach /readyz and logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured REDIS_URL';
  }
}

export const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  within(promise, ms, () => {
    throw new Error(`Redis did not answer within ${ms} ms`);
  });

/**
 * Resolves once the client is ready, rejects on its first error. BullMQ's Queue starts connecting a lazy client
 * itself, and ioredis refuses connect() on a client already connecting: the warning below was logged with Redis up.
 */
export function connected(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  // 'end': disconnected by stop(); a queue started again connects again (waiting for 'ready' would wait for ever).
  if (client.status === 'wait' || client.status === 'end') return client.connect();
  return new Promise((resolve, reject) => {
    const settle = (err?: Error): void => {
      client.off('ready', settle);
      client.off('error', settle);
      if (err) reject(err);
      else resolve();
    };
    client.once('ready', settle);
    client.once('error', settle);
  });
}

/** A task that runs once at a time: a call while it runs joins that run. Its failures are reported, not thrown. */
export function oneAtATime(task: () => Promise<void>, onError: (err: Error) => void): (() => Promise<void>) & { readonly current: Promise<void> | undefined } {
  let current: Promise<void> | undefined;
  const run = (): Promise<void> =>
    (current ??= task()
      .catch((err: unknown) => onError(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        current = undefined;
      }));
  return Object.defineProperty(run, 'current', { get: () => current }) as (() => Promise<void>) & { readonly current: Promise<void> | undefined };
}
