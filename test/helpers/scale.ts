// The "scale" test profile (IMGD_TEST_PROFILE=scale): each test app gets its own PostgreSQL database,
// Redis key prefix and S3 bucket (on one s3rver per test process) instead of the embedded default.
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { S3RVER_KEY, startS3rver, type FakeS3 } from './s3rver.js';

export type Profile = 'embedded' | 'scale';

export const PROFILE: Profile = process.env.IMGD_TEST_PROFILE === 'scale' ? 'scale' : 'embedded';
export const SCALE = PROFILE === 'scale';
/** A server where databases may be created; its own database is used only to create and drop them. */
export const POSTGRES_URL = process.env.IMGD_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.IMGD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Part of every name a run creates, so scripts/test.mjs can remove what a crashed test left behind. */
export const RUN_ID = (process.env.IMGD_TEST_RUN ?? `adhoc${process.pid}`).toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 20);

/** Says which services the scale profile needs but cannot reach, e.g. ["PostgreSQL at …: ECONNREFUSED"]. */
export async function missingServices(): Promise<string[]> {
  const missing: string[] = [];
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    missing.push(`PostgreSQL at ${POSTGRES_URL}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let cause: Error | undefined;
  redis.on('error', (err: Error) => {
    cause ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    missing.push(`Redis at ${REDIS_URL}: ${(cause ?? (err as Error)).message}`);
  } finally {
    redis.disconnect();
  }
  return missing;
}

/**
 * false when the service answers, else the reason to skip a test about it (a value for node:test's `skip`). With
 * CI=true a missing service fails the run instead.
 */
async function missing(service: 'PostgreSQL' | 'Redis'): Promise<string | false> {
  const problem = (await missingServices()).find((line) => line.startsWith(service));
  if (!problem) return false;
  if (process.env.CI === 'true') throw new Error(`${problem} (CI=true needs it)`);
  return `skipped: ${problem}`;
}

/** For the tests about Redis in any profile: false when it answers, else the reason to skip. */
export const redisMissing = (): Promise<string | false> => missing('Redis');

/** For the tests about PostgreSQL in any profile: false when it answers, else the reason to skip. */
export const postgresMissing = (): Promise<string | false> => missing('PostgreSQL');

/** A unique Redis key prefix (it carries the run id) and a way to delete every key under it. */
export function redisPrefix(label: string): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `imgdt-${RUN_ID}-${label}-${randomBytes(4).toString('hex')}`;
  return { prefix, cleanup: () => deleteRedisKeys(prefix) };
}

async function onServer(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** The URL of another database on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `imgd_test_${RUN_ID}_${randomBytes(5).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  return { name, url: databaseUrl(name), drop: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Removes every Redis key under prefix (BullMQ's queues, shared rate limits, …). */
export async function deleteRedisKeys(prefix: string, url: string = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

let shared: Promise<FakeS3> | undefined;

/** One s3rver for the whole test process, started on first use and gone when the process ends. */
export function sharedS3rver(): Promise<FakeS3> {
  shared ??= startS3rver([]).then((s3) => {
    s3.unref();
    return s3;
  });
  return shared;
}

export async function createBucket(s3: FakeS3): Promise<string> {
  const bucket = `imgd-${randomBytes(6).toString('hex')}`;
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}

/** The settings that put an imgd on S3 (this s3rver and bucket). */
export function s3Settings(s3: FakeS3, bucket: string): Record<string, string> {
  return {
    STORAGE: 's3',
    S3_BUCKET: bucket,
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY_ID: S3RVER_KEY,
    S3_SECRET_ACCESS_KEY: S3RVER_KEY,
    S3_FORCE_PATH_STYLE: 'true',
  };
}

export interface ScaleServices {
  /** DATABASE_URL, REDIS_URL, REDIS_PREFIX, STORAGE=s3 and the S3_* settings of this app's own services. */
  readonly settings: Readonly<Record<string, string>>;
  /** Drops the database and the Redis keys. */
  release(): Promise<void>;
}

/** A fresh database, Redis prefix and bucket for one test app (or several that share them). */
export async function provisionScale(): Promise<ScaleServices> {
  const [database, s3] = await Promise.all([createDatabase(), sharedS3rver()]);
  const bucket = await createBucket(s3);
  const prefix = `imgdt-${RUN_ID}-${randomBytes(5).toString('hex')}`;
  return {
    settings: { DATABASE_URL: database.url, REDIS_URL, REDIS_PREFIX: prefix, ...s3Settings(s3, bucket) },
    async release() {
      await database.drop();
      await deleteRedisKeys(prefix);
    },
  };
}

/** Drops the databases and Redis keys this run (IMGD_TEST_RUN) created and did not remove. */
export async function dropRunLeftovers(): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  let names: string[];
  try {
    const found = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`imgd\\_test\\_${RUN_ID}\\_%`]);
    names = found.rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
  for (const name of names) await onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await deleteRedisKeys(`imgdt-${RUN_ID}-*`);
}
