// PostgreSQL and Redis for the tests about them, on top of the scale profile's helpers (names carry the run id, so
// scripts/test.mjs removes what a crashed run left). With CI=true a missing service fails the run; elsewhere the tests skip, naming it.
import { randomBytes } from 'node:crypto';
import { createDatabase, deleteRedisKeys, missingServices, REDIS_URL, RUN_ID } from './scale.js';

export { REDIS_URL };

async function missing(service: 'PostgreSQL' | 'Redis'): Promise<string | false> {
  const problem = (await missingServices()).find((line) => line.startsWith(service));
  if (!problem) return false;
  if (process.env.CI === 'true') throw new Error(`${problem} (CI=true needs it)`);
  return `skipped: ${problem}`;
}

/** false when Redis answers, else the reason to skip (a value for node:test's `skip`). */
export const redisMissing = (): Promise<string | false> => missing('Redis');

/** false when PostgreSQL answers, else the reason to skip. */
export const postgresMissing = (): Promise<string | false> => missing('PostgreSQL');

/** A unique Redis key prefix and a way to delete every key under it. */
export function redisPrefix(label: string): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `imgdt-${RUN_ID}-${label}-${randomBytes(4).toString('hex')}`;
  return { prefix, cleanup: () => deleteRedisKeys(prefix) };
}

/** A fresh PostgreSQL database; drop() removes it (and any sessions still on it). */
export async function postgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  return createDatabase();
}
