// S8: a soak mixing uploads (S1), original GETs (S3) and first variant renders (S5), under three allocator settings side by side.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { distinctJpeg, photo } from '../lib/fixtures.js';
import { pathOf, startImgd, TOKEN, type ImgdServer } from '../lib/imgd.js';
import { cpuSeconds, rssOf } from '../lib/procs.js';
import { info, type Row, type Scenario, type ScenarioContext } from '../lib/scenario.js';
import { figure } from '../lib/stats.js';

const JEMALLOC = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'].find((f) => existsSync(f));
/** Widths the default VARIANT_SIZES allowlist holds that are smaller than the photo. */
const WIDTHS = [32, 64, 128, 256, 320, 480, 512];
/** Per server and second: uploads, original GETs, variant GETs. */
const RATES = { uploads: 1, originals: 80, variants: 3 };

interface Setting {
  readonly name: string;
  readonly env: Record<string, string | undefined>;
  readonly shipped: boolean;
}

interface Sample {
  readonly t: number;
  readonly rss: number;
  /** Bytes the server's in-memory caches held (hot cache and libvips'), from its latest /metrics scrape. */
  readonly caches: number;
  /** V8 heap in use and memory outside it held by JS objects (Buffers), from the same scrape. */
  readonly heap: number;
  readonly external: number;
  /** Jobs waiting (pending) in the server's queue: a backlog that keeps growing means the server cannot keep up. */
  readonly backlog: number;
}

interface Soaked {
  readonly setting: Setting;
  readonly samples: Sample[];
  errors: number;
  requests: number;
  skipped: number;
  /** Share of one core the server used over the soak, in %. */
  cpuPercent: number;
}

async function drive(ctx: ScenarioContext, server: ImgdServer, soaked: Soaked, seconds: number, serial: { n: number }): Promise<void> {
  const base = photo();
  const uploaded: string[] = [];
  let inFlight = 0;
  const started = performance.now();
  const cpuAtStart = cpuSeconds(server.child.pid);
  const fire = (work: () => Promise<Response>): void => {
    if (inFlight >= 64) {
      soaked.skipped += 1;
      return;
    }
    inFlight += 1;
    soaked.requests += 1;
    work()
      .then(async (res) => {
        await res.arrayBuffer();
        if (!res.ok) soaked.errors += 1;
        return res;
      })
      .catch(() => {
        soaked.errors += 1;
      })
      .finally(() => {
        inFlight -= 1;
      });
  };
  const upload = async (): Promise<Response> => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(distinctJpeg(base, serial.n++))], { type: 'image/jpeg' }), 'soak.jpg');
    const res = await fetch(`${server.url}/api/v1/images`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
    if (res.status === 201) {
      const body = (await res.clone().json()) as { url: string };
      uploaded.push(pathOf(body.url));
      if (uploaded.length > 2000) uploaded.shift();
    }
    return res;
  };
  const any = (): string => uploaded[Math.floor(Math.random() * uploaded.length)]!;
  let caches = 0;
  let heap = 0;
  let external = 0;
  let backlog = 0;
  let scraped = -Infinity;
  const scrapeCaches = async (): Promise<void> => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    caches = [...text.matchAll(/^imgd_cache_bytes\{cache="[^"]+"\} (\d+(?:\.\d+)?)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    heap = Number(/^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)$/m.exec(text)?.[1] ?? 0);
    external = Number(/^nodejs_external_memory_bytes (\d+(?:\.\d+)?)$/m.exec(text)?.[1] ?? 0);
    backlog = [...text.matchAll(/^imgd_jobs\{[^}]*status="pending"[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  const acc = { uploads: 0, originals: 0, variants: 0 };
  const tick = 0.1;
  while ((performance.now() - started) / 1000 < seconds) {
    acc.uploads += RATES.uploads * tick;
    acc.originals += RATES.originals * tick;
    acc.variants += RATES.variants * tick;
    for (; acc.uploads >= 1; acc.uploads -= 1) fire(upload);
    if (uploaded.length > 0) {
      for (; acc.originals >= 1; acc.originals -= 1) fire(() => fetch(`${server.url}${any()}`));
      for (; acc.variants >= 1; acc.variants -= 1) fire(() => fetch(`${server.url}${any()}/custom?w=${WIDTHS[Math.floor(Math.random() * WIDTHS.length)]}&format=webp`));
    }
    const elapsed = (performance.now() - started) / 1000;
    if (elapsed - scraped >= 5) {
      scraped = elapsed;
      void scrapeCaches().catch(() => undefined);
    }
    if (soaked.samples.length === 0 || elapsed - soaked.samples.at(-1)!.t >= 1) soaked.samples.push({ t: elapsed, rss: rssOf(server.child.pid), caches, heap, external, backlog });
    await sleep(tick * 1000);
  }
  soaked.cpuPercent = ((cpuSeconds(server.child.pid) - cpuAtStart) / ((performance.now() - started) / 1000)) * 100;
  while (inFlight > 0) await sleep(50);
  ctx.log(`  ${soaked.setting.name}: ${soaked.requests} requests, ${soaked.errors} errors, ${soaked.skipped} skipped (64 in flight), ${soaked.cpuPercent.toFixed(0)} % of a core`);
}

/** Growth after warm-up: median of the last tenth against the median of the tenth right after warm-up. */
function growthPercent(samples: readonly Sample[], warmup: number, seconds: number, of: (s: Sample) => number = (s) => s.rss): { percent: number; after: number; end: number } {
  const window = Math.max(2, seconds / 10);
  const after = figure(samples.filter((s) => s.t >= warmup && s.t < warmup + window).map(of)).median;
  const end = figure(samples.filter((s) => s.t >= seconds - window).map(of)).median;
  return { percent: ((end - after) / after) * 100, after, end };
}

export const s8: Scenario = {
  id: 'S8',
  title: 'soak mixing uploads, original GETs and variant renders; RSS growth and errors per allocator',
  async run(ctx) {
    const seconds = ctx.options.soakSeconds ?? (ctx.options.quick ? 8 : 600);
    const warmup = Math.min(60, Math.round(seconds / 5));
    const settings: Setting[] = [
      { name: 'MALLOC_ARENA_MAX=2 (shipped)', env: {}, shipped: true },
      { name: 'glibc default', env: { MALLOC_ARENA_MAX: undefined, MALLOC_MMAP_THRESHOLD_: undefined }, shipped: false },
    ];
    const notes: string[] = [
      'without the caches: RSS minus the bytes the hot cache and libvips\' operation cache held (imgd_cache_bytes, scraped every 5 s), both bounded (the hot cache at 64 MB, libvips\' off unless SHARP_CACHE_MB is set)',
      `${seconds} s with ${warmup} s of warm-up; all settings side by side (each its own server on the server core, the same load each: ${RATES.uploads} uploads/s of distinct photos processed by the server's workers, ${RATES.originals} original GETs/s, ${RATES.variants} new variant renders/s)`,
    ];
    if (JEMALLOC) settings.push({ name: 'jemalloc', env: { MALLOC_ARENA_MAX: undefined, MALLOC_MMAP_THRESHOLD_: undefined, LD_PRELOAD: JEMALLOC }, shipped: false });
    else notes.push('jemalloc not installed (apt-get install libjemalloc2): that setting skipped');
    if (ctx.options.quick) notes.push('--quick: 8 s instead of 10 minutes (growth figures meaningless at that length)');
    const servers = await Promise.all(
      settings.map((s, i) => startImgd({ dataDir: path.join(ctx.tmp, `imgd-${i}`), cores: ctx.pin.server, env: s.env, name: s.name, profileDir: ctx.profileDir })),
    );
    const soaked: Soaked[] = settings.map((setting) => ({ setting, samples: [], errors: 0, requests: 0, skipped: 0, cpuPercent: Number.NaN }));
    try {
      await Promise.all(servers.map((server, i) => drive(ctx, server, soaked[i]!, seconds, { n: i * 10_000_000 })));
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
    const rows: Row[] = [];
    for (const s of soaked) {
      const g = growthPercent(s.samples, warmup, seconds);
      const net = growthPercent(s.samples, warmup, seconds, (x) => x.rss - x.caches);
      const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
      const heap = growthPercent(s.samples, warmup, seconds, (x) => x.heap);
      const external = growthPercent(s.samples, warmup, seconds, (x) => x.external);
      const tenths = Array.from({ length: 10 }, (_, k) => s.samples.find((x) => x.t >= (seconds * (k + 1)) / 10 - 1)).filter((x) => x !== undefined);
      ctx.log(`  ${s.setting.name}: RSS at each tenth of the run ${tenths.map((x) => mb(x.rss)).join(' ')} MB; without the caches ${tenths.map((x) => mb(x.rss - x.caches)).join(' ')} MB; jobs pending ${tenths.map((x) => x.backlog).join(' ')}`);
      ctx.log(`  ${s.setting.name}: RSS ${mb(g.after)} MB after warm-up, ${mb(g.end)} MB at the end (${g.percent.toFixed(1)} %); without the caches ${mb(net.after)} -> ${mb(net.end)} MB (${net.percent.toFixed(1)} %); V8 heap used ${mb(heap.after)} -> ${mb(heap.end)} MB, external ${mb(external.after)} -> ${mb(external.end)} MB`);
      const growth = info('S8', `RSS growth % (${s.setting.name})`, [g.percent]);
      const netRow = info('S8', `RSS growth % without the caches (${s.setting.name})`, [net.percent]);
      // Once the bounded caches are full RSS should stay put: the second half alone shows whether it does.
      const late = growthPercent(s.samples, seconds / 2, seconds);
      const lateRow = info('S8', `RSS growth % in the second half (${s.setting.name})`, [late.percent]);
      const errors = info('S8', `errors (${s.setting.name})`, [s.errors]);
      if (s.setting.shipped) {
        rows.push({ ...growth, target: '< 10 %', met: g.percent < 10 }, netRow, lateRow, { ...errors, target: '0', met: s.errors === 0 });
      } else rows.push(growth, netRow, lateRow, errors);
    }
    const busy = soaked.reduce((sum, s) => sum + s.cpuPercent, 0);
    rows.push(info('S8', '% of the server core used (all settings together)', [busy]));
    return { rows, notes, raw: soaked.map((s) => ({ setting: s.setting.name, requests: s.requests, errors: s.errors, skipped: s.skipped, cpuPercent: s.cpuPercent, samples: s.samples })) };
  },
};
