// S7 and S9: listing a page by key among 1,000,000 images, and start-up to a ready /healthz with that catalog.
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fetchAll, failures } from '../lib/client.js';
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

export const s7: Scenario = {
  id: 'S7',
  title: 'list a page of 50 by key among 1,000,000 images (SQLite)',
  async run(ctx) {
    const { rows, dataDir } = await seededCopy(ctx);
    const imgd = await startImgd({ dataDir, cores: ctx.pin.server, env: { RUN_WORKERS: 'false' }, profileDir: ctx.profileDir });
    try {
      const count = ctx.options.quick ? 300 : 2000;
      const auth = { authorization: `Bearer ${TOKEN}` };
      const first = (n: number): string[] => Array.from({ length: n }, (_, i) => `${imgd.url}/api/v1/images?key=album-${(i * 7919) % KEYS}&limit=50`);
      await fetchAll(first(50), 1, auth);
      const p99: number[] = [];
      const p50: number[] = [];
      for (let r = 0; r < ctx.repeats; r += 1) {
        // One request at a time: the latency of a page, not of a queue.
        const { results } = await fetchAll(first(count), 1, auth);
        if (failures(results) > 0) throw new Error(`${failures(results)} list requests failed`);
        p99.push(percentile(results.map((x) => x.ms), 99));
        p50.push(percentile(results.map((x) => x.ms), 50));
        ctx.log(`  run ${r + 1}/${ctx.repeats}: p50 ${p50.at(-1)!.toFixed(2)} ms, p99 ${p99.at(-1)!.toFixed(2)} ms over ${count} requests`);
      }
      // A deep page: follow the cursor 10 pages into one key.
      let cursor: string | null = null;
      let deepMs = 0;
      for (let page = 0; page < 10; page += 1) {
        const t0 = performance.now();
        const res = await fetch(`${imgd.url}/api/v1/images?key=album-1&limit=50${cursor ? `&cursor=${cursor}` : ''}`, { headers: auth });
        const body = (await res.json()) as { nextCursor?: string | null; next_cursor?: string | null };
        deepMs = performance.now() - t0;
        cursor = body.next_cursor ?? body.nextCursor ?? null;
        if (!cursor) break;
      }
      const out: Row[] = [absolute('S7', 'p99 ms (SQLite)', p99, 5, 'ms'), info('S7', 'p50 ms (SQLite)', p50), info('S7', '10th page ms', [deepMs])];
      const notes = [
        ...quickNote(ctx),
        `${rows.toLocaleString('en')} rows over ${KEYS} keys; latency measured by the client over HTTP on loopback (JSON of 50 image objects), one request at a time`,
        'PostgreSQL: not measured by this suite (no server started by the bench); the same queries use the same indexes',
      ];
      return { rows: out, notes };
    } finally {
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
