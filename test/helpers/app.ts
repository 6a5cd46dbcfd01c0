// Boots the real app on an ephemeral port with its own temporary data dir, for HTTP tests.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, type App, type CoreOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { waitFor } from './wait.js';

export const TOKEN = 'test-admin-token-0123456789abcdef';
export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'exif-samples');

export const fixture = (relative: string): string => path.join(FIXTURES, relative);

export interface TestApp {
  readonly app: App;
  readonly url: string;
  readonly dataDir: string;
  readonly auth: { authorization: string };
  /** Uploads files (paths or [name, bytes]) as multipart to POST /api/v1/images. */
  upload(files: ReadonlyArray<string | [string, Uint8Array]>, fields?: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  /** Counts what is stored: image rows, original blobs on disk, and temp files, once background jobs are idle. */
  stored(): Promise<{ images: number; blobs: number; temp: number }>;
  close(): Promise<void>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'imgd-test-'));
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (e.isDirectory()) n += await countFiles(path.join(dir, e.name));
    else n += 1;
  }
  return n;
}

/** `options.logger` replaces the silent default, e.g. to capture log lines (createLogger('debug', destination)). */
export async function startApp(env: Record<string, string> = {}, dataDir?: string, options: CoreOptions = {}): Promise<TestApp> {
  const dir = dataDir ?? (await makeDataDir());
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', AUTH_TOKEN: TOKEN, LOG_LEVEL: 'silent', JOB_POLL_MS: '50', SHUTDOWN_TIMEOUT_MS: '2000', ...env });
  const app = await createApp(config, options);
  const url = await app.listen();
  const auth = { authorization: `Bearer ${TOKEN}` };
  return {
    app,
    url,
    dataDir: dir,
    auth,
    async upload(files, fields = {}, headers = auth) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      for (const file of files) {
        if (typeof file === 'string') form.append('file', await openAsBlob(file), path.basename(file));
        else form.append('file', new Blob([file[1]]), file[0]);
      }
      return fetch(`${url}/api/v1/images`, { method: 'POST', body: form, headers });
    },
    async stored() {
      // Background jobs write variants through temp files: count once they are done.
      let counts = await app.queue.counts();
      if (config.jobs.runWorkers) await waitFor(`background jobs to finish (${JSON.stringify(counts)})`, async () => {
        counts = await app.queue.counts();
        return counts.pending + counts.running === 0 ? true : undefined;
      });
      const page = await app.catalog.listImages({}, 100, undefined);
      return {
        images: page.items.length,
        blobs: await countFiles(path.join(dir, 'blobs', 'originals')),
        temp: (await countFiles(path.join(dir, 'tmp'))) + (await countFiles(path.join(dir, 'blobs', '.tmp'))),
      };
    },
    async close() {
      await app.close();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
