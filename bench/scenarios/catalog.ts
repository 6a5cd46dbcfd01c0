// S7 and S9: listing a page by key among 1,000,000 images, and start-up to a ready /healthz with that catalog.
import { cpSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { CLI, imgdEnv, startImgd, TOKEN } from '../lib/imgd.js';
import { freePort, spawnPinned, waitForHttp } from '../lib/procs.js';
import { absolute, info, type Row, type Scenario, type ScenarioContext } from '../lib/scenario.js';
import { KEYS, seededDataDir } from '../lib/seed.js';
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

export const s7: Scenario = {
  id: 'S7',
  title: 'list a page of 50 by key among 1,000,000 images (SQLite)',
  async run(ctx) {
    const { rows, dataDir } = await seededCopy(ctx);
    const imgd = await startImgd({ dataDir, cores: ctx.pin.server, env: { RUN_WORKERS: 'false' }, profileDir: ctx.profileDir });
    const client = sequentialClient(imgd.url, { authorization: `Bearer ${TOKEN}` });
    try {
      const count = ctx.options.quick ? 1000 : 2000;
      const page = (i: number): string => `/api/v1/images?key=album-${(i * 7919) % KEYS}&limit=50`;
      // Warm-up, not timed: the first request builds the response serializer, the first pages of each key are read from disk.
      for (let i = 0; i < 200; i += 1) await client.get(page(i));
      const p99: number[] = [];
      const p50: number[] = [];
      const raw: number[][] = [];
      for (let r = 0; r < ctx.repeats; r += 1) {
        // One request at a time: the latency of a page, not of a queue.
        const ms: number[] = [];
        for (let i = 0; i < count; i += 1) {
          const res = await client.get(page(i));
          if (res.status !== 200) throw new Error(`list request answered ${res.status}: ${res.body.toString('utf8', 0, 300)}`);
          ms.push(res.ms);
        }
        raw.push(ms.map((x) => Math.round(x * 1000) / 1000));
        p99.push(percentile(ms, 99));
        p50.push(percentile(ms, 50));
        ctx.log(`  run ${r + 1}/${ctx.repeats}: p50 ${p50.at(-1)!.toFixed(2)} ms, p99 ${p99.at(-1)!.toFixed(2)} ms, max ${Math.max(...ms).toFixed(2)} ms over ${count} requests`);
      }
      // A deep page: follow the cursor up to 10 pages into one key (as deep as the key goes), for several keys.
      const deepMs: number[] = [];
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
        deepMs.push(pageMs);
        depth = pages;
      }
      const deepLabel = depth === 10 ? '10th page ms' : `page ${depth} ms (last of its key)`;
      const out: Row[] = [absolute('S7', 'p99 ms (SQLite)', p99, 5, 'ms'), info('S7', 'p50 ms (SQLite)', p50), info('S7', deepLabel, [percentile(deepMs, 50)])];
      const notes = [
        ...quickNote(ctx),
        `${rows.toLocaleString('en')} rows over ${KEYS} keys; latency measured by the client (node:http, one keep-alive connection, one request at a time, after 200 untimed warm-up requests) over HTTP on loopback (JSON of 50 image objects)`,
        `${deepLabel.replace(/ ms.*/, '')}: median over 5 keys of the time of that page, following next_cursor from the first${depth < 10 ? `; a key has only ${depth} page(s) here` : ''}`,
        'PostgreSQL: not measured by this suite (no server started by the bench); the same queries use the same indexes',
      ];
      return { rows: out, notes, raw: { latenciesMs: raw, deepPageMs: deepMs } };
    } finally {
      client.close();
      await imgd.stop();
    }
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
