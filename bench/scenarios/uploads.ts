// S1 and S2: multipart uploads against the floor (stream, hash, write, fsync) and the naive Express + multer server.
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { compareLoad, pick, type Contender } from '../lib/compare.js';
import { BOUNDARY, multipartBody, noisePng, photo } from '../lib/fixtures.js';
import { startImgd, TOKEN } from '../lib/imgd.js';
import { freePort, sampleRss, spawnPinned, waitForHttp, rssOf, type Child } from '../lib/procs.js';
import { info, versus, type Row, type Scenario, type ScenarioContext } from '../lib/scenario.js';
import { runLoad } from '../lib/load.js';

const PEERS = path.resolve(import.meta.dirname, '../peers');

async function startPeer(ctx: ScenarioContext, name: string, file: string, env: Record<string, string>): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = spawnPinned(name, process.execPath, ['--import', 'tsx', path.join(PEERS, file)], { cores: ctx.pin.server, env: { ...env, PORT: String(port) } });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, child);
  return { child, url };
}

const multipartHeaders = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, authorization: `Bearer ${TOKEN}` };

export const s1: Scenario = {
  id: 'S1',
  title: 'upload a 161 KB JPEG as multipart, 16 concurrent clients, with validation and metadata',
  async run(ctx) {
    const bodyFile = path.join(ctx.tmp, 'body.bin');
    writeFileSync(bodyFile, multipartBody(photo(), 'DSCN0010.jpg', 'image/jpeg'));
    mkdirSync(path.join(ctx.tmp, 'floor'));
    mkdirSync(path.join(ctx.tmp, 'naive'));
    mkdirSync(path.join(ctx.tmp, 'checked'));
    mkdirSync(path.join(ctx.tmp, 'naive-checked'));
    // Processing runs in `imgd worker` processes elsewhere in this measurement: the upload path alone is timed.
    const imgd = await startImgd({ dataDir: path.join(ctx.tmp, 'imgd'), cores: ctx.pin.server, env: { RUN_WORKERS: 'false' }, profileDir: ctx.profileDir });
    const floor = await startPeer(ctx, 'floor', 'floor.ts', { FLOOR_DIR: path.join(ctx.tmp, 'floor'), FSYNC: '1' });
    const naive = await startPeer(ctx, 'naive', 'naive.ts', { NAIVE_DIR: path.join(ctx.tmp, 'naive') });
    const checked = await startPeer(ctx, 'floor + checks', 'checked-floor.ts', { CHECKED_DIR: path.join(ctx.tmp, 'checked') });
    const naiveChecked = await startPeer(ctx, 'naive + checks', 'naive-checked.ts', { NAIVE_DIR: path.join(ctx.tmp, 'naive-checked') });
    try {
      const post = (url: string, p: string): Contender['spec'] => ({ baseUrl: url, paths: [p], method: 'POST', headers: multipartHeaders, bodyFile, connections: 16 });
      const res = await compareLoad(ctx, [
        { name: 'imgd', spec: post(imgd.url, '/api/v1/images') },
        { name: 'floor', spec: post(floor.url, '/upload') },
        { name: 'naive', spec: post(naive.url, '/api/v1/images') },
        { name: 'floor + checks', spec: post(checked.url, '/api/v1/images') },
        { name: 'naive + checks', spec: post(naiveChecked.url, '/api/v1/images') },
      ]);
      const rps = (n: string): number[] => pick(res.get(n), (r) => r.perSecond);
      const p99 = (n: string): number[] => pick(res.get(n), (r) => r.p99Ms);
      const rows: Row[] = [
        versus('S1', 'uploads/s', rps('imgd'), 'floor', rps('floor'), { min: 0.6 }),
        versus('S1', 'uploads/s', rps('imgd'), 'naive', rps('naive'), { min: 1.0 }),
        versus('S1', 'uploads/s', rps('imgd'), 'floor + checks', rps('floor + checks'), { min: 0.8 }),
        versus('S1', 'p99 ms', p99('imgd'), 'floor', p99('floor'), { max: 3 }),
        info('S1', 'uploads/s', rps('imgd'), 'naive + checks', rps('naive + checks')),
      ];
      const notes = [
        'imgd with RUN_WORKERS=false (processing queued durably for workers, not run in the server): the upload path only',
        'imgd: multipart parse, SHA-256, magic bytes, structure and dimensions checked, EXIF read, GPS removed, fsync of file and directory, one SQLite transaction per group of uploads (synchronous=FULL) with image, blob, job, audit and attempt rows',
        'floor: the whole body streamed to a file with SHA-256 and fsync; naive: Express + multer memory storage + writeFile (no fsync)',
        "floor + checks: bare node:http + busboy running imgd's own streaming pass, EXIF read and GPS removal, then the floor's write of every upload to its own file with fsync (no framework, no database)",
        "naive + checks (no target): the naive server with the same checks run on multer's file stream (a storage engine), then writeFile without fsync",
      ];
      return { rows, notes, raw: Object.fromEntries(res) };
    } finally {
      await Promise.all([imgd.stop(), floor.child.stop(), naive.child.stop(), checked.child.stop(), naiveChecked.child.stop()]);
    }
  },
};

export const s2: Scenario = {
  id: 'S2',
  title: 'upload 50 MB files, 4 concurrent',
  async run(ctx) {
    const png = await noisePng(4096, 4096, 7);
    const bodyFile = path.join(ctx.tmp, 'body.bin');
    writeFileSync(bodyFile, multipartBody(png, 'noise.png', 'image/png'));
    mkdirSync(path.join(ctx.tmp, 'floor'));
    const imgd = await startImgd({
      dataDir: path.join(ctx.tmp, 'imgd'),
      cores: ctx.pin.server,
      env: { RUN_WORKERS: 'false', MAX_FILE_SIZE: String(64 * 1024 * 1024) },
      profileDir: ctx.profileDir,
    });
    const floor = await startPeer(ctx, 'floor', 'floor.ts', { FLOOR_DIR: path.join(ctx.tmp, 'floor'), FSYNC: '1' });
    try {
      const post = (url: string, p: string): Contender['spec'] => ({ baseUrl: url, paths: [p], method: 'POST', headers: multipartHeaders, bodyFile, connections: 4 });
      // A 50 MB upload takes seconds on one core: runs must be long enough for several to finish.
      const seconds = ctx.options.quick ? 5 : Math.max(ctx.seconds, 6);
      const mb = png.length / 2 ** 20;
      const imgdRuns: number[] = [];
      const floorRuns: number[] = [];
      const growth: number[] = [];
      const spec = (c: Contender['spec'], s: number) => ({ ...c, seconds: s, scratchDir: ctx.tmp, generatorCores: ctx.pin.generator });
      // Warm-up both, then take imgd's resting RSS as the baseline for its growth under load.
      await runLoad(spec(post(imgd.url, '/api/v1/images'), ctx.warmupSeconds + 1));
      await runLoad(spec(post(floor.url, '/upload'), ctx.warmupSeconds + 1));
      for (let r = 0; r < ctx.repeats; r += 1) {
        const baseline = rssOf(imgd.child.pid);
        const sampler = sampleRss(imgd.child.pid);
        const mine = await runLoad(spec(post(imgd.url, '/api/v1/images'), seconds));
        const peak = Math.max(...sampler.stop());
        const theirs = await runLoad(spec(post(floor.url, '/upload'), seconds));
        imgdRuns.push(mine.perSecond * mb);
        floorRuns.push(theirs.perSecond * mb);
        growth.push((peak - baseline) / 2 ** 20);
        ctx.log(`  run ${r + 1}/${ctx.repeats}: imgd ${(mine.perSecond * mb).toFixed(0)} MB/s (${mine.errors} errors), floor ${(theirs.perSecond * mb).toFixed(0)} MB/s, imgd RSS ${(baseline / 2 ** 20).toFixed(0)} -> peak ${(peak / 2 ** 20).toFixed(0)} MB`);
      }
      const rows: Row[] = [
        versus('S2', 'MB/s', imgdRuns, 'floor', floorRuns, { min: 0.8 }),
        { ...info('S2', 'RSS growth MB', growth), target: '< 64 MB', met: Math.max(...growth) < 64 },
      ];
      const notes = [`body: a ${(png.length / 1e6).toFixed(1)} MB incompressible 4096x4096 PNG; MB/s counts file bytes; RSS growth = peak during the run minus RSS at rest after warm-up`];
      return { rows, notes };
    } finally {
      await Promise.all([imgd.stop(), floor.child.stop()]);
    }
  },
};
