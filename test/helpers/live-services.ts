// PostgreSQL and Redis on loopback for the tests about them: a database and a key prefix of their own, removed afterwards.
// With CI=true a missing service fails the run; elsewhere the tests skip, naming what is missing.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const REDIS_URL = 'redis://127.0.0.1:6379';
export const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

const CI = process.env.CI === 'true';

async function reachable(what: string, probe: () => Promise<unknown>): Promise<string | false> {
  try {
    await probe();
    return false;
  } catch (err) {
    const message = `${what} is not reachable (${(err as Error).message})`;
    if (CI) throw new Error(`${message}; CI=true needs it`);
    return `skipped: ${message}`;
  }
}

/** false when Redis answers, else the reason to skip (a value for node:test's `skip`). */
export function redisMissing(): Promise<string | false> {
  return reachable(`Redis at ${REDIS_URL}`, async () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
    } finally {
      client.disconnect();
    }
  });
}

/** false when PostgreSQL answers, else the reason to skip. */
export function postgresMissing(): Promise<string | false> {
  return reachable(`PostgreSQL at ${POSTGRES_ADMIN_URL}`, async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2000 });
    await client.connect();
    await client.end();
  });
}

/** A unique Redis key prefix and a way to delete every key under it. */
export function redisPrefix(label: string): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `imgd-test-${label}-${randomBytes(4).toString('hex')}`;
  return {
    prefix,
    async cleanup() {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      try {
        for await (const keys of client.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) {
          if (keys.length > 0) await client.del(...keys);
        }
      } finally {
        client.disconnect();
      }
    },
  };
}

/** A fresh PostgreSQL database; drop() removes it (and any sessions still on it). */
export async function postgresDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `imgd_test_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
