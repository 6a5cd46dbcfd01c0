// S3, S4, S4b: serving originals and cached variants, against nginx (sendfile) and bare Node servers (memory, disk);
// and imgd behind nginx (public originals from imgd's public tree, the rest offloaded with SENDFILE=x-accel) against the
// same nginx serving the files alone.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compareLoad, pick, type Contender } from '../lib/compare.js';
import type { LoadResult } from '../lib/load.js';
import { distinctJpeg, photo, PHOTO_PATH } from '../lib/fixtures.js';
import { pathOf, startImgd, uploadAll, type ImgdServer } from '../lib/imgd.js';
import { nginxMissing, startNginx, type Nginx } from '../lib/nginx.js';
import { freePort, spawnPinned, waitForHttp } from '../lib/procs.js';
import { seedOriginals } from '../lib/seed.js';
import { info, versus, type Row, type Scenario, type ScenarioContext } from '../lib/scenario.js';

const originalPath = (sha: string): string => `/originals/${sha.slice(0, 2)}/${sha.slice(2, 4)}/${sha}`;

/** What a serving scenario measures against: nginx alone and imgd behind nginx, when nginx is installed. */
interface Servers {
  readonly imgd: ImgdServer;
  readonly nginx: Nginx | undefined;
  /**
   * nginx in front of a second imgd (SENDFILE=x-accel, PUBLIC_TREE=true) on the same data: public originals straight
   * from the tree, anything else decided by imgd and sent by nginx.
   */
  readonly behind: Nginx | undefined;
  /** Why there is no nginx, when there is none. */
  readonly skipped: string | undefined;
}

async function withServers<T>(ctx: ScenarioContext, body: (servers: Servers) => Promise<T>, seed?: (dataDir: string) => Promise<void>): Promise<T> {
  const dataDir = path.join(ctx.tmp, 'imgd');
  await seed?.(dataDir);
  const skipped = nginxMissing();
  // Every imgd on the data keeps the public tree, as a deployment would: uploads to either land in it.
  const tree = skipped ? {} : { PUBLIC_TREE: 'true' };
  const imgd = await startImgd({ dataDir, cores: ctx.pin.server, env: { RUN_WORKERS: 'false', ...tree }, profileDir: ctx.profileDir });
  let nginx: Nginx | undefined;
  let offloading: ImgdServer | undefined;
  let behind: Nginx | undefined;
  try {
    if (!skipped) {
      nginx = await startNginx(path.join(dataDir, 'blobs'), path.join(ctx.tmp, 'nginx'), ctx.pin.server);
      // Same data dir and database: it serves what the first one stores.
      offloading = await startImgd({ dataDir, cores: ctx.pin.server, env: { RUN_WORKERS: 'false', SENDFILE: 'x-accel', ...tree }, name: 'imgd (offload)', profileDir: ctx.profileDir });
      behind = await startNginx(path.join(dataDir, 'blobs'), path.join(ctx.tmp, 'nginx-front'), ctx.pin.server, new URL(offloading.url).host, path.join(dataDir, 'public'));
    } else ctx.log(`  ${skipped}`);
    return await body({ imgd, nginx, behind, skipped });
  } finally {
    await behind?.stop();
    await offloading?.stop();
    await nginx?.stop();
    await imgd.stop();
  }
}

/** The contenders and rows of imgd behind nginx (offload) against nginx alone, when nginx is here. */
function behindNginx(servers: Servers, imgdPaths: readonly string[], connections: number): Contender[] {
  return servers.behind ? [{ name: 'imgd behind nginx', spec: { baseUrl: servers.behind.url, paths: imgdPaths, connections } }] : [];
}

function behindRows(id: string, servers: Servers, res: Map<string, LoadResult[]>): Row[] {
  const rps = (n: string): number[] => pick(res.get(n), (r) => r.perSecond);
  if (!servers.behind) return [versus(id, 'req/s behind nginx (offload)', [], 'nginx alone', servers.skipped!, { min: 0.8 })];
  return [
    versus(id, 'req/s behind nginx (offload)', rps('imgd behind nginx'), 'nginx alone', rps('nginx'), { min: 0.8 }),
    info(id, 'p99 ms behind nginx (offload)', pick(res.get('imgd behind nginx'), (r) => r.p99Ms), 'nginx alone', pick(res.get('nginx'), (r) => r.p99Ms)),
  ];
}

/** disk.ts answering files under `root` read whole from disk per request: what Node itself does without a cache. */
async function withBareDisk<T>(ctx: ScenarioContext, root: string, body: (baseUrl: string) => Promise<T>): Promise<T> {
  const port = await freePort();
  const bare = spawnPinned('bare node (disk)', process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, '../peers/disk.ts')], {
    cores: ctx.pin.server,
    env: { PORT: String(port), ROOT: root },
  });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, bare);
    return await body(`http://127.0.0.1:${port}`);
  } finally {
    await bare.stop();
  }
}

/** floor.ts answering `file`'s bytes from memory with three precomputed headers: what any Node server costs at least. */
async function withBareNode<T>(ctx: ScenarioContext, file: string, body: (baseUrl: string) => Promise<T>, env: Record<string, string> = {}, name = 'bare node'): Promise<T> {
  const port = await freePort();
  const bare = spawnPinned(name, process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, '../peers/floor.ts')], {
    cores: ctx.pin.server,
    env: { PORT: String(port), MEM_FILE: file, ...env },
  });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, bare);
    return await body(`http://127.0.0.1:${port}`);
  } finally {
    await bare.stop();
  }
}

/** The peer named for it: floor.ts answering `file` with the headers imgd answered `url` with, and imgd's idle timeout. */
const AS_IMGD = "bare node (imgd's headers)";

/**
 * The bare Node peer and AS_IMGD: the first is what the target compares with; the second shows, in the same run, what
 * the headers imgd sends on every image (security headers, caching, request id) cost Node by themselves.
 */
async function withBareNodes<T>(ctx: ScenarioContext, file: string, imgdUrl: string, body: (bareUrl: string, asImgdUrl: string) => Promise<T>): Promise<T> {
  const answer = await fetch(imgdUrl);
  await answer.arrayBuffer();
  if (!answer.ok) throw new Error(`${imgdUrl} answered ${answer.status}`);
  const headers: string[] = [];
  // Node adds these itself.
  for (const [name, value] of answer.headers) if (!['date', 'connection', 'keep-alive', 'transfer-encoding'].includes(name)) headers.push(name, value);
  const env = { MEM_HEADERS: JSON.stringify(headers), SOCKET_TIMEOUT_MS: '30000' };
  return withBareNode(ctx, file, (bareUrl) => withBareNode(ctx, file, (asImgdUrl) => body(bareUrl, asImgdUrl), env, AS_IMGD));
}

export const s3: Scenario = {
  id: 'S3',
  title: 'GET a public original (161 KB), 64 connections',
  async run(ctx) {
    return withServers(ctx, async (servers) => {
      const { imgd, nginx } = servers;
      const [image] = await uploadAll(imgd.url, [{ bytes: photo(), name: path.basename(PHOTO_PATH), type: 'image/jpeg' }]);
      const stored = path.join(imgd.dataDir, 'blobs', originalPath(image!.sha256));
      return withBareNodes(ctx, stored, `${imgd.url}${pathOf(image!.url)}`, async (bareUrl, asImgdUrl) => {
        const contenders: Contender[] = [
          { name: 'imgd', spec: { baseUrl: imgd.url, paths: [pathOf(image!.url)], connections: 64 } },
          { name: 'bare node (memory)', spec: { baseUrl: bareUrl, paths: ['/mem/photo'], connections: 64 } },
          { name: AS_IMGD, spec: { baseUrl: asImgdUrl, paths: ['/mem/photo'], connections: 64 } },
          ...behindNginx(servers, [pathOf(image!.url)], 64),
        ];
        if (nginx) contenders.push({ name: 'nginx', spec: { baseUrl: nginx.url, paths: [originalPath(image!.sha256)], connections: 64 } });
        const res = await compareLoad(ctx, contenders);
        const rps = (n: string): number[] => pick(res.get(n), (r) => r.perSecond);
        const p99 = (n: string): number[] => pick(res.get(n), (r) => r.p99Ms);
        const rows: Row[] = [
          versus('S3', 'req/s', rps('imgd'), 'bare node (memory)', rps('bare node (memory)'), { min: 0.95 }),
          info('S3', 'req/s', rps('imgd'), AS_IMGD, rps(AS_IMGD)),
          ...(nginx ? [info('S3', 'req/s', rps('imgd'), 'nginx', rps('nginx'))] : []),
          info('S3', 'p99 ms', p99('imgd'), nginx ? 'nginx' : 'bare node (memory)', p99(nginx ? 'nginx' : 'bare node (memory)')),
          ...behindRows('S3', servers, res),
        ];
        return { rows, notes: [`${readFileSync(stored).length} bytes served (GPS removed at ingest)`], raw: Object.fromEntries(res) };
      });
    });
  },
};

export const s4: Scenario = {
  id: 'S4',
  title: 'GET a cached 256 px variant, 64 connections',
  async run(ctx) {
    return withServers(ctx, async (servers) => {
      const { imgd, nginx } = servers;
      const [image] = await uploadAll(imgd.url, [{ bytes: photo(), name: path.basename(PHOTO_PATH), type: 'image/jpeg' }]);
      const variantPath = `${pathOf(image!.url)}/small`;
      const res0 = await fetch(`${imgd.url}${variantPath}`);
      if (!res0.ok) throw new Error(`variant answered ${res0.status}`);
      const bytes = Buffer.from(await res0.arrayBuffer());
      const file = path.join(imgd.dataDir, 'blobs', 'variant.jpg');
      writeFileSync(file, bytes);
      return withBareNodes(ctx, file, `${imgd.url}${variantPath}`, async (bareUrl, asImgdUrl) => {
        const contenders: Contender[] = [
          { name: 'imgd', spec: { baseUrl: imgd.url, paths: [variantPath], connections: 64 } },
          { name: 'bare node (memory)', spec: { baseUrl: bareUrl, paths: ['/mem/variant'], connections: 64 } },
          { name: AS_IMGD, spec: { baseUrl: asImgdUrl, paths: ['/mem/variant'], connections: 64 } },
          ...behindNginx(servers, [variantPath], 64),
        ];
        if (nginx) contenders.push({ name: 'nginx', spec: { baseUrl: nginx.url, paths: ['/variant.jpg'], connections: 64 } });
        const res = await compareLoad(ctx, contenders);
        const rps = (n: string): number[] => pick(res.get(n), (r) => r.perSecond);
        const rows: Row[] = [
          versus('S4', 'req/s', rps('imgd'), 'bare node (memory)', rps('bare node (memory)'), { min: 0.9 }),
          info('S4', 'req/s', rps('imgd'), AS_IMGD, rps(AS_IMGD)),
          ...(nginx ? [info('S4', 'req/s', rps('imgd'), 'nginx', rps('nginx'))] : []),
          info('S4', 'p99 ms', pick(res.get('imgd'), (r) => r.p99Ms), nginx ? 'nginx' : undefined, nginx ? pick(res.get('nginx'), (r) => r.p99Ms) : undefined),
          ...behindRows('S4', servers, res),
        ];
        return { rows, notes: [`variant of ${bytes.length} bytes (${res0.headers.get('content-type')})`], raw: Object.fromEntries(res) };
      });
    });
  },
};

export const s4b: Scenario = {
  id: 'S4B',
  title: 'GET distinct originals in random order (more than the hot cache), 64 connections',
  async run(ctx) {
    const count = ctx.options.quick ? 1000 : 5000;
    const base = photo();
    let images: { path: string; sha256: string }[] = [];
    const seed = async (dataDir: string): Promise<void> => {
      const started = performance.now();
      images = await seedOriginals(dataDir, Array.from({ length: count }, (_, i) => distinctJpeg(base, i)));
      ctx.log(`  stored ${count} distinct originals and their rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    };
    return withServers(ctx, async (servers) => {
      const { imgd, nginx, skipped } = servers;
      const distinct = new Set(images.map((i) => i.sha256)).size;
      if (distinct !== count) throw new Error(`expected ${count} distinct blobs, got ${distinct}`);
      const blobPaths = images.map((i) => originalPath(i.sha256));
      return withBareDisk(ctx, path.join(imgd.dataDir, 'blobs'), async (bareUrl) => {
        const contenders: Contender[] = [
          { name: 'imgd', spec: { baseUrl: imgd.url, paths: images.map((i) => i.path), connections: 64 } },
          { name: 'bare node (disk)', spec: { baseUrl: bareUrl, paths: blobPaths, connections: 64 } },
          ...behindNginx(servers, images.map((i) => i.path), 64),
        ];
        if (nginx) contenders.push({ name: 'nginx', spec: { baseUrl: nginx.url, paths: blobPaths, connections: 64 } });
        const res = await compareLoad(ctx, contenders);
        const rps = (n: string): number[] => pick(res.get(n), (r) => r.perSecond);
        const rows: Row[] = [
          versus('S4b', 'req/s', rps('imgd'), 'nginx', nginx ? rps('nginx') : skipped!, { min: 0.4 }),
          versus('S4b', 'req/s', rps('imgd'), 'bare node (disk)', rps('bare node (disk)'), { min: 0.8 }),
          info('S4b', 'p99 ms', pick(res.get('imgd'), (r) => r.p99Ms), nginx ? 'nginx' : undefined, nginx ? pick(res.get('nginx'), (r) => r.p99Ms) : undefined),
          ...behindRows('S4b', servers, res),
        ];
        const notes = [
          `${count} distinct originals of ~${Math.round(base.length / 1024)} KB (${((count * base.length) / 2 ** 20).toFixed(0)} MB in all), stored in imgd's layout with their rows written through src/db (uploading them one by one would take minutes)`,
        ];
        if (ctx.options.quick) notes.push('--quick: 1,000 originals instead of 5,000 (still more than the in-memory cache holds)');
        return { rows, notes, raw: Object.fromEntries(res) };
      });
    }, seed);
  },
};
