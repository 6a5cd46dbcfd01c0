// S7 and S9: listing a page by key among 1,000,000 images (SQLite and PostgreSQL), and start-up to a ready /healthz with that catalog.
import { cpSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CLI, imgdEnv, startImgd, TOKEN } from '../lib/imgd.js';
import { freePort, spawnPinned, waitForHttp } from '../lib/procs.js';
import { absolute, info, type Row, type Scenario, type ScenarioContext } from '../lib/scenario.js';
import { sql } from 'kysely';
import { openDatabase } from '../../src/db/database.js';
import { benchDatabase } from '../lib/postgres.js';
import { KEYS, seedCatalog, seededDataDir } from '../lib/seed.js';
import { percentile } from '../lib/stats.js';
import { REPO_ROOT } from '../lib/fixtures.js';

const rowsFor = (ctx: ScenarioContext): number => (ctx.options.quick ? 50_000 : 1_000_000);
const quickNote = (ctx: ScenarioContext): string[] => (ctx.options.quick ? ['--quick: 50,000 rows instead of 1,000,000'] : []);

/** A copy of the seeded catalog in this scenario's directory (seeded once per run). */
async function seededCopy(ctx: ScenarioContext): Promise<{ rows: number; dataDir: string }> {
  const rows = rowsFor(ctx);
  const dataDir = path.join(ctx.tmp, 'imgd');
  cpSync(await seededDataDir(rows, ctx.log), dataDir, { recursive: true });
  return { rows, dataDir };
}

/**
 * One keep-alive connection, one request at a time: the time from writing a request to the last byte of its answer.
 * node:http rather than fetch: undici's fetch (WHATWG streams, a Response per request) costs the client itself about
 * 0.5 ms per request and enough garbage to pause this process for several ms at a time, which showed up as most of
 * the p99 (p99 16 ms with fetch against 6.5 ms with this client, the same server and requests, interleaved).
 */
function sequentialClient(base: string, headers: Record<string, string>) {
  const { hostname, port } = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string): Promise<{ ms: number; status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.get({ hostname, port, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  return { get, close: () => agent.destroy() };
}

interface Listing {
  readonly p99: number[];
  readonly p50: number[];
  readonly raw: number[][];
}

const page = (i: number): string => `/api/v1/images?key=album-${(i * 7919) % KEYS}&limit=50`;

/** `count` list requests one at a time after 200 untimed ones, per repeat: the latency of a page, not of a queue. */
async function timeListing(ctx: ScenarioContext, client: ReturnType<typeof sequentialClient>, label: string): Promise<Listing> {
  const count = ctx.options.quick ? 500 : 2000;
  // Warm-up, not timed: the first request builds the response serializer, the first pages of each key are read from disk.
  for (let i = 0; i < 200; i += 1) await client.get(page(i));
  const listing: Listing = { p99: [], p50: [], raw: [] };
  for (let r = 0; r < ctx.repeats; r += 1) {
    const ms: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const res = await client.get(page(i));
      if (res.status !== 200) throw new Error(`list request answered ${res.status}: ${res.body.toString('utf8', 0, 300)}`);
      ms.push(res.ms);
    }
    listing.raw.push(ms.map((x) => Math.round(x * 1000) / 1000));
    listing.p99.push(percentile(ms, 99));
    listing.p50.push(percentile(ms, 50));
    ctx.log(`  ${label} run ${r + 1}/${ctx.repeats}: p50 ${listing.p50.at(-1)!.toFixed(2)} ms, p99 ${listing.p99.at(-1)!.toFixed(2)} ms, max ${Math.max(...ms).toFixed(2)} ms over ${count} requests`);
  }
  return listing;
}

/** The same client on the cheapest route there is: what this machine and loopback HTTP add to any request's tail. */
async function timeHealthz(ctx: ScenarioContext, client: ReturnType<typeof sequentialClient>): Promise<number[]> {
  const count = ctx.options.quick ? 500 : 2000;
  for (let i = 0; i < 200; i += 1) await client.get('/healthz');
  const p99: number[] = [];
  for (let r = 0; r < ctx.repeats; r += 1) {
    const ms: number[] = [];
    for (let i = 0; i < count; i += 1) ms.push((await client.get('/healthz')).ms);
    p99.push(percentile(ms, 99));
  }
  return p99;
}

/** A deep page: follow the cursor up to 10 pages into one key (as deep as the key goes), for several keys. */
async function timeDeepPages(client: ReturnType<typeof sequentialClient>): Promise<{ label: string; ms: number[]; depth: number }> {
  const ms: number[] = [];
  let depth = 0;
  for (const key of [1, 2, 3, 4, 5]) {
    let cursor: string | null = null;
    let pageMs = 0;
    let pages = 0;
    while (pages < 10) {
      const res = await client.get(`/api/v1/images?key=album-${key}&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (res.status !== 200) throw new Error(`list request answered ${res.status}`);
      pageMs = res.ms;
      pages += 1;
      cursor = (JSON.parse(res.body.toString('utf8')) as { next_cursor: string | null }).next_cursor;
      if (!cursor) break;
    }
    ms.push(pageMs);
    depth = pages;
  }
  return { label: depth === 10 ? '10th page ms' : `page ${depth} ms (last of its key)`, ms, depth };
}

/** The same catalog in a fresh PostgreSQL database, listed by an imgd pointed at it; a note instead when there is none. */
async function postgresListing(ctx: ScenarioContext, rows: number): Promise<{ listing?: Listing; note: string }> {
  const database = await benchDatabase();
  if (typeof database === 'string') return { note: database };
  try {
    const started = performance.now();
    const db = openDatabase({ kind: 'postgres', url: database.url });
    try {
      await seedCatalog(db, rows);
      await sql`ANALYZE images`.execute(db);
    } finally {
      await db.destroy();
    }
    ctx.log(`  seeded ${rows.toLocaleString('en')} image rows in PostgreSQL through src/db in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const dataDir = path.join(ctx.tmp, 'imgd-postgres');
    const imgd = await startImgd({ dataDir, cores: ctx.pin.server, env: { RUN_WORKERS: 'false', DATABASE_URL: database.url } });
    const client = sequentialClient(imgd.url, { authorization: `Bearer ${TOKEN}` });
    try {
      return { listing: await timeListing(ctx, client, 'PostgreSQL'), note: 'PostgreSQL: the same rows in a fresh database on the local server (pooled, 10 connections), ANALYZEd after seeding' };
    } finally {
      client.close();
      await imgd.stop();
    }
  } finally {
    await database.drop();
  }
}

export const s7: Scenario = {
  id: 'S7',
  title: 'list a page of 50 by key among 1,000,000 images (SQLite and PostgreSQL)',
  async run(ctx) {
    const { rows, dataDir } = await seededCopy(ctx);
    const imgd = await startImgd({ dataDir, cores: ctx.pin.server, env: { RUN_WORKERS: 'false' }, profileDir: ctx.profileDir });
    const client = sequentialClient(imgd.url, { authorization: `Bearer ${TOKEN}` });
    let sqlite: Listing;
    let deep: Awaited<ReturnType<typeof timeDeepPages>>;
    let healthz: number[];
    try {
      sqlite = await timeListing(ctx, client, 'SQLite');
      deep = await timeDeepPages(client);
      healthz = await timeHealthz(ctx, client);
    } finally {
      client.close();
      await imgd.stop();
    }
    const postgres = await postgresListing(ctx, rows);
    if (!postgres.listing) ctx.log(`  ${postgres.note}`);
    const out: Row[] = [
      absolute('S7', 'p99 ms (SQLite)', sqlite.p99, 5, 'ms'),
      info('S7', 'p50 ms (SQLite)', sqlite.p50),
      info('S7', deep.label, [percentile(deep.ms, 50)]),
      info('S7', 'p99 ms of GET /healthz (baseline)', healthz),
      ...(postgres.listing ? [absolute('S7', 'p99 ms (PostgreSQL)', postgres.listing.p99, 5, 'ms'), info('S7', 'p50 ms (PostgreSQL)', postgres.listing.p50)] : []),
    ];
    const notes = [
      ...quickNote(ctx),
      `${rows.toLocaleString('en')} rows over ${KEYS} keys; latency measured by the client (node:http, one keep-alive connection, one request at a time, after 200 untimed warm-up requests) over HTTP on loopback (JSON of 50 image objects)`,
      `${deep.label.replace(/ ms.*/, '')}: median over 5 keys of the time of that page (SQLite), following next_cursor from the first${deep.depth < 10 ? `; a key has only ${deep.depth} page(s) here` : ''}`,
      'baseline: the same client and server on GET /healthz (no database, a few bytes of JSON): the tail any request has here',
      postgres.note,
    ];
    return { rows: out, notes, raw: { latenciesMs: sqlite.raw, deepPageMs: deep.ms, postgresLatenciesMs: postgres.listing?.raw ?? null } };
  },
};

export const s9: Scenario = {
  id: 'S9',
  title: '`npm start` to a ready /healthz with 1,000,000 images',
  async run(ctx) {
    const { dataDir } = await seededCopy(ctx);
    const once = async (command: string, args: string[]): Promise<number> => {
      const port = await freePort();
      const started = performance.now();
      const child = spawnPinned('imgd', command, args, { cores: ctx.pin.server, cwd: REPO_ROOT, env: imgdEnv(dataDir, port, { RUN_WORKERS: 'false' }) });
      try {
        await waitForHttp(`http://127.0.0.1:${port}/healthz`, child, 60_000, 5);
        return (performance.now() - started) / 1000;
      } finally {
        await child.stop();
      }
    };
    if (!ctx.options.quick) await once(process.execPath, [CLI, 'serve']); // warm the page cache and run any migration once
    const node: number[] = [];
    const npm: number[] = [];
    for (let r = 0; r < ctx.repeats; r += 1) {
      node.push(await once(process.execPath, [CLI, 'serve']));
      npm.push(await once('npm', ['start', '--silent']));
      ctx.log(`  run ${r + 1}/${ctx.repeats}: node dist/cli.js serve ${node.at(-1)!.toFixed(2)} s, npm start ${npm.at(-1)!.toFixed(2)} s`);
    }
    const out: Row[] = [absolute('S9', 'seconds (npm start)', npm, 1.5, 's'), info('S9', 'seconds (node dist/cli.js serve)', node)];
    return { rows: out, notes: [...quickNote(ctx), 'from spawning the process to the first 200 from /healthz, polled every 5 ms; npm itself takes part of it'] };
  },
};
