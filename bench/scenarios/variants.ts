// S5: the first request of a 256 px variant of distinct 3 MP and 12 MP JPEGs, against raw sharp and nginx image_filter.
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { failures, fetchAll } from '../lib/client.js';
import { distinctJpeg, syntheticJpeg } from '../lib/fixtures.js';
import { pathOf, startImgd, uploadAll, type ImgdServer } from '../lib/imgd.js';
import { nginxMissing, startNginx, type Nginx } from '../lib/nginx.js';
import { spawnPinned } from '../lib/procs.js';
import { versus, type Row, type Scenario, type ScenarioContext } from '../lib/scenario.js';

const RAW = path.resolve(import.meta.dirname, '../peers/raw-sharp.ts');
const CONCURRENCY = 4;

/** Runs the raw sharp peer on the server core; answers items per second of its own clock. */
export async function rawSharp(ctx: ScenarioContext, mode: 'thumbs' | 'process', files: readonly string[], concurrency: number, outDir = ctx.tmp): Promise<number> {
  const list = path.join(ctx.tmp, `raw-${process.hrtime.bigint()}.txt`);
  writeFileSync(list, files.join('\n'));
  const child = spawnPinned('raw sharp', process.execPath, ['--import', 'tsx', RAW, mode, list, String(concurrency), outDir], {
    cores: ctx.pin.server,
    env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '1048576' },
  });
  const code = await new Promise<number | null>((resolve) => child.proc.once('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`raw sharp failed (${code}):\n${child.output()}`);
  const { count, seconds } = JSON.parse(child.output().trim().split('\n').at(-1)!) as { count: number; seconds: number };
  return count / seconds;
}

interface Size {
  readonly label: string;
  readonly width: number;
  readonly height: number;
  readonly count: number;
  readonly nginxCount: number;
  readonly filterTarget: number;
}

async function measureSize(ctx: ScenarioContext, imgd: ImgdServer, nginx: Nginx | undefined, size: Size, seed: number): Promise<{ imgd: number[]; raw: number[]; filter: number[] }> {
  const base = await syntheticJpeg(size.width, size.height, seed);
  ctx.log(`  ${size.label}: ${size.width}x${size.height} JPEG of ${(base.length / 1e6).toFixed(2)} MB, ${size.count} distinct per run`);
  const dir = path.join(ctx.tmp, 'files', size.label);
  mkdirSync(dir, { recursive: true });
  let serial = 0;
  const batch = (count: number): { bytes: Buffer; name: string; type: string; file: string }[] =>
    Array.from({ length: count }, () => {
      const n = serial++;
      const bytes = distinctJpeg(base, n);
      const file = path.join(dir, `${n}.jpg`);
      writeFileSync(file, bytes);
      return { bytes, name: `${size.label}-${n}.jpg`, type: 'image/jpeg', file };
    });
  const out = { imgd: [] as number[], raw: [] as number[], filter: [] as number[] };
  // Warm-up: a few renders on each side (sharp's threads, libvips' operation cache, nginx's module).
  const warm = batch(CONCURRENCY);
  const warmed = await uploadAll(imgd.url, warm, 2, 10);
  await fetchAll(warmed.map((i) => `${imgd.url}${pathOf(i.url)}/small`), CONCURRENCY);
  await rawSharp(ctx, 'thumbs', warm.map((w) => w.file), CONCURRENCY);
  for (let r = 0; r < ctx.repeats; r += 1) {
    const files = batch(size.count);
    const images = await uploadAll(imgd.url, files, 2, 10);
    const { results, seconds } = await fetchAll(images.map((i) => `${imgd.url}${pathOf(i.url)}/small`), CONCURRENCY);
    if (failures(results) > 0) throw new Error(`${failures(results)} variant requests failed (status ${results.find((x) => x.status !== 200)?.status})`);
    out.imgd.push(size.count / seconds);
    out.raw.push(await rawSharp(ctx, 'thumbs', files.map((f) => f.file), CONCURRENCY));
    if (nginx?.imageFilter) {
      const some = files.slice(0, size.nginxCount).map((f) => `${nginx.url}/resize/files/${size.label}/${path.basename(f.file)}`);
      const filtered = await fetchAll(some, CONCURRENCY);
      if (failures(filtered.results) > 0) throw new Error(`nginx image_filter failed: status ${filtered.results[0]?.status}`);
      out.filter.push(some.length / filtered.seconds);
    }
    ctx.log(`  run ${r + 1}/${ctx.repeats} ${size.label}: imgd ${out.imgd.at(-1)!.toFixed(1)}/s, raw sharp ${out.raw.at(-1)!.toFixed(1)}/s${nginx?.imageFilter ? `, image_filter ${out.filter.at(-1)!.toFixed(2)}/s` : ''}`);
  }
  return out;
}

export const s5: Scenario = {
  id: 'S5',
  title: 'first request of a 256 px variant of distinct 3 MP and 12 MP JPEGs, 4 concurrent',
  async run(ctx) {
    const q = ctx.options.quick;
    const sizes: Size[] = [
      { label: '3MP', width: 2048, height: 1536, count: q ? 8 : 60, nginxCount: q ? 3 : 12, filterTarget: 4 },
      { label: '12MP', width: 4000, height: 3000, count: q ? 4 : 20, nginxCount: q ? 2 : 6, filterTarget: 8 },
    ];
    const imgd = await startImgd({ dataDir: path.join(ctx.tmp, 'imgd'), cores: ctx.pin.server, env: { RUN_WORKERS: 'false' }, profileDir: ctx.profileDir });
    const skipped = nginxMissing();
    let nginx: Nginx | undefined;
    const rows: Row[] = [];
    const notes = ['imgd with RUN_WORKERS=false, so nothing renders the presets ahead of the request; each request renders, stores (fsync) and sends a new variant'];
    try {
      if (!skipped) nginx = await startNginx(ctx.tmp, path.join(ctx.tmp, 'nginx'), ctx.pin.server);
      else ctx.log(`  ${skipped}`);
      const filterSkip = skipped ?? (nginx?.imageFilter ? undefined : 'nginx image_filter module missing: skipped');
      for (const [i, size] of sizes.entries()) {
        const got = await measureSize(ctx, imgd, nginx, size, 11 + i);
        rows.push(versus('S5', `variants/s ${size.label}`, got.imgd, 'raw sharp', got.raw, { min: 0.9 }));
        rows.push(versus('S5', `variants/s ${size.label}`, got.imgd, 'nginx image_filter', filterSkip ?? got.filter, { min: size.filterTarget }));
      }
      if (nginx?.imageFilter) notes.push('nginx image_filter (libgd, one worker) measured on the first few files of each run only; it is slow');
      return { rows, notes };
    } finally {
      await nginx?.stop();
      await imgd.stop();
    }
  },
};
