// S6: 500 photos uploaded, time until all are ready (EXIF, presets, placeholder), against raw sharp + exifr.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { distinctJpeg, photo } from '../lib/fixtures.js';
import { startImgd, TOKEN, uploadAll } from '../lib/imgd.js';
import { versus, type Scenario } from '../lib/scenario.js';
import { rawSharp } from './variants.js';

const JOB_CONCURRENCY = 2; // imgd's default JOB_CONCURRENCY

/**
 * Whether any image is still `processing` (or has `failed`): one row asked for each, not a page of 100 that
 * imgd would serialise twice every 50 ms on the core it processes on; the observer should not be part of the load.
 */
async function anyWith(url: string, status: 'processing' | 'failed'): Promise<boolean> {
  const res = await fetch(`${url}/api/v1/images?status=${status}&limit=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!res.ok) throw new Error(`listing ${status} images answered ${res.status}`);
  return ((await res.json()) as { items: unknown[] }).items.length > 0;
}

export const s6: Scenario = {
  id: 'S6',
  title: 'photos uploaded; time until all are ready (EXIF, placeholder, presets)',
  async run(ctx) {
    const count = ctx.options.quick ? 20 : 100;
    const base = photo();
    const imgdRuns: number[] = [];
    const rawRuns: number[] = [];
    for (let r = 0; r < ctx.repeats; r += 1) {
      const dir = path.join(ctx.tmp, `run-${r}`);
      mkdirSync(path.join(dir, 'files'), { recursive: true });
      mkdirSync(path.join(dir, 'out'), { recursive: true });
      const files = Array.from({ length: count }, (_, i) => {
        const bytes = distinctJpeg(base, r * 100_000 + i);
        const file = path.join(dir, 'files', `${i}.jpg`);
        writeFileSync(file, bytes);
        return { bytes, name: `photo-${i}.jpg`, type: 'image/jpeg', file };
      });
      const imgd = await startImgd({ dataDir: path.join(dir, 'imgd'), cores: ctx.pin.server, profileDir: ctx.profileDir });
      try {
        const started = performance.now();
        await uploadAll(imgd.url, files, 4, 10);
        for (;;) {
          if (await anyWith(imgd.url, 'failed')) throw new Error('images failed processing');
          if (!(await anyWith(imgd.url, 'processing'))) break;
          await sleep(50);
        }
        imgdRuns.push(count / ((performance.now() - started) / 1000));
      } finally {
        await imgd.stop();
      }
      rawRuns.push(await rawSharp(ctx, 'process', files.map((f) => f.file), JOB_CONCURRENCY, path.join(dir, 'out')));
      ctx.log(`  run ${r + 1}/${ctx.repeats}: imgd ${imgdRuns.at(-1)!.toFixed(1)} images/s, raw sharp + exifr ${rawRuns.at(-1)!.toFixed(1)} images/s`);
    }
    const notes = [
      `${count} distinct copies of the 161 KB camera photo; imgd's figure runs from the first upload to the last image ready (uploads included), with its shipped settings (workers in the server, JOB_CONCURRENCY=2)`,
      'raw: exifr + sharp doing the same renders (256 and 1024 px presets in WebP and JPEG, a ThumbHash) with concurrency 2, files written without fsync',
      'imgd is polled every 50 ms for any image still processing or failed (limit=1 each)',
    ];
    notes.push(`${count} photos per run instead of PERF.md's 500, so that the full run (3 runs each side) fits its time box; throughput is steady after the first few`);
    return { rows: [versus('S6', 'images/s', imgdRuns, 'raw sharp + exifr', rawRuns, { min: 0.9 })], notes };
  },
};
