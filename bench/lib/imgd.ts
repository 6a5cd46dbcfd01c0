// imgd under test: the built server (dist/cli.js) started as `npm start` starts it, and a small API client.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './fixtures.js';
import { freePort, spawnPinned, waitForHttp, waitForQuiet, type Child } from './procs.js';

export const TOKEN = 'bench-admin-token-0123456789abcdef';
export const CLI = path.join(REPO_ROOT, 'dist/cli.js');

export interface ImgdServer {
  readonly child: Child;
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export interface ImgdStart {
  readonly dataDir: string;
  readonly cores: string | undefined;
  /** Extra settings; the defaults are the shipped ones plus what a benchmark needs (no upload rate limit, quiet logs). */
  readonly env?: Record<string, string | undefined>;
  /** V8 CPU profile directory (node --cpu-prof), if profiling. */
  readonly profileDir?: string | undefined;
  readonly name?: string;
}

export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first (npm ci runs it too).');
}

/** The environment `npm start` gives the server (MALLOC_ARENA_MAX=2, MALLOC_MMAP_THRESHOLD_=1048576), plus the benchmark's settings. */
export function imgdEnv(dataDir: string, port: number, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    MALLOC_ARENA_MAX: '2',
    MALLOC_MMAP_THRESHOLD_: '1048576',
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    AUTH_TOKEN: TOKEN,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_UPLOAD: '0',
    ...extra,
  };
}

export async function startImgd(options: ImgdStart): Promise<ImgdServer> {
  requireBuild();
  const port = await freePort();
  const nodeArgs = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const child = spawnPinned(options.name ?? 'imgd', process.execPath, [...nodeArgs, CLI, 'serve'], {
    cores: options.cores,
    cwd: REPO_ROOT,
    env: imgdEnv(options.dataDir, port, options.env),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/healthz`, child);
    await waitForQuiet(child.pid);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, url, dataDir: options.dataDir, stop: () => child.stop() };
}

export interface UploadedImage {
  readonly id: string;
  /** Absolute, from the server's PUBLIC_URL: use pathOf() to reach it on the address the bench started. */
  readonly url: string;
  readonly filename: string;
  readonly sha256: string;
  readonly status: string;
}

/** The path of an image URL the API answered (`/i/<key>/<filename>`), to request on whatever address. */
export const pathOf = (url: string): string => new URL(url).pathname;

/** Uploads files (up to 20 per request) with the admin token; answers the image objects in order. */
export async function uploadAll(url: string, files: readonly { bytes: Buffer; name: string; type: string }[], concurrency = 4, perRequest = 10): Promise<UploadedImage[]> {
  const batches: { index: number; files: typeof files }[] = [];
  for (let i = 0; i < files.length; i += perRequest) batches.push({ index: i, files: files.slice(i, i + perRequest) });
  const out: UploadedImage[] = new Array<UploadedImage>(files.length);
  let next = 0;
  async function worker(): Promise<void> {
    for (;;) {
      const batch = batches[next++];
      if (!batch) return;
      const form = new FormData();
      for (const f of batch.files) form.append('file', new Blob([new Uint8Array(f.bytes)], { type: f.type }), f.name);
      const res = await fetch(`${url}/api/v1/images`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await res.json()) as UploadedImage | { items: UploadedImage[]; errors: unknown[] };
      if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
      const items = 'items' in body ? body.items : [body];
      if (items.length !== batch.files.length) throw new Error(`upload stored ${items.length} of ${batch.files.length}: ${JSON.stringify(body).slice(0, 500)}`);
      items.forEach((item, i) => (out[batch.index + i] = item));
    }
  }
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return out;
}

/** How many images are still processing (admin view of everything). */
export async function processingCount(url: string): Promise<{ processing: number; failed: number }> {
  const get = async (status: string): Promise<number> => {
    const res = await fetch(`${url}/api/v1/images?status=${status}&limit=100`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { items: unknown[] };
    return body.items.length;
  };
  return { processing: await get('processing'), failed: await get('failed') };
}
