// A throw-away PostgreSQL database for the scenarios that also measure imgd on PostgreSQL (S7).
import pg from 'pg';

/** The server to use, through its maintenance database; BENCH_POSTGRES_URL overrides it. */
const SERVER_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new, empty database, or a message saying why there is none (no server there, no right to create one). */
export async function benchDatabase(): Promise<BenchDatabase | string> {
  const name = `imgd_bench_${process.pid}_${Date.now().toString(36)}`;
  try {
    await onServer(`CREATE DATABASE ${name}`);
  } catch (err) {
    return `PostgreSQL: skipped, no database could be created at ${SERVER_URL.replace(/\/\/[^@]*@/, '//')} (${(err as Error).message}); set BENCH_POSTGRES_URL`;
  }
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
