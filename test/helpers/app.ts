// Boots the real app on an ephemeral port with its own temporary data dir, for HTTP tests.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { createApp, type App, type CoreOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ORIGINALS_PREFIX } from '../../src/core/storage/blob-keys.js';
import { provisionScale, SCALE, type ScaleServices } from './scale.js';
import { waitFor } from './wait.js';
import { freePort } from './processes.js';
import type { ProfileName } from '../../src/http/compat/profile.js';

export const TOKEN = 'test-admin-token-0123456789abcdef';
export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'exif-samples');

export const fixture = (relative: string): string => path.join(FIXTURES, relative);

export interface TestApp {
  readonly app: App;
  readonly url: string;
  readonly dataDir: string;
  readonly auth: { authorization: string };
  /** The settings of the profile's services (DATABASE_URL, REDIS_*, S3_*), empty when embedded: give them to a CLI run on the same data. */
  readonly settings: Readonly<Record<string, string>>;
  /** Uploads files (paths or [name, bytes]) as multipart to POST /api/v1/images. */
  upload(files: ReadonlyArray<string | [string, Uint8Array]>, fields?: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  /** Counts what is stored: image rows, original blobs (files on disk, or objects in the bucket), and temp files, once background jobs are idle. */
  stored(): Promise<{ images: number; blobs: number; temp: number }>;
  /** The keys the blob store holds under a prefix (`originals/`, `variants/…`), whichever store it is. */
  blobKeys(prefix: string): Promise<string[]>;
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

/** Services of the scale profile by data dir: a restart on the same dir finds the same database, prefix and bucket. */
const scaleByDir = new Map<string, ScaleServices>();
// What tests that bring their own data dir leave behind is dropped once the file's tests are done.
if (SCALE) {
  after(async () => {
    for (const services of scaleByDir.values()) await services.release();
    scaleByDir.clear();
  });
}

/** The settings of the profile's services for a data dir (provisioned on first use; empty when embedded), for a CLI run on it. */
export async function servicesFor(dir: string): Promise<Readonly<Record<string, string>>> {
  if (!SCALE) return {};
  let scale = scaleByDir.get(dir);
  if (!scale) {
    scale = await provisionScale();
    scaleByDir.set(dir, scale);
  }
  return scale.settings;
}

/** `options.logger` replaces the silent default, e.g. to capture log lines (createLogger('debug', destination)). */
export async function startApp(env: Record<string, string> = {}, dataDir?: string, options: CoreOptions = {}): Promise<TestApp> {
  const dir = dataDir ?? (await makeDataDir());
  const settings = await servicesFor(dir);
  const scale = scaleByDir.get(dir);
  const config = loadConfig({ DATA_DIR: dir, PORT: '0', AUTH_TOKEN: TOKEN, LOG_LEVEL: 'silent', JOB_POLL_MS: '50', SHUTDOWN_TIMEOUT_MS: '2000', ...settings, ...env });
  const app = await createApp(config, options);
  let url: string;
  try {
    url = await app.listen();
  } catch (err) {
    // Its database, Redis and store connections would keep the test process alive for good.
    await app.close();
    throw err;
  }
  const auth = { authorization: `Bearer ${TOKEN}` };
  const blobKeys = async (prefix: string): Promise<string[]> => {
    const keys: string[] = [];
    for await (const blob of app.store.list(prefix)) keys.push(blob.key);
    return keys.sort();
  };
  return {
    app,
    url,
    dataDir: dir,
    auth,
    settings,
    async upload(files, fields = {}, headers = auth) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      for (const file of files) {
        if (typeof file === 'string') form.append('file', await openAsBlob(file), path.basename(file));
        else form.append('file', new Blob([new Uint8Array(file[1])]), file[0]);
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
      // On disk every file counts, a stray partial one included; in a bucket, every object.
      const blobs = config.storage.kind === 'fs' ? await countFiles(path.join(config.storage.dir, 'originals')) : (await blobKeys(ORIGINALS_PREFIX)).length;
      const storeTemp = config.storage.kind === 'fs' ? await countFiles(path.join(config.storage.dir, '.tmp')) : 0;
      return { images: page.items.length, blobs, temp: (await countFiles(path.join(dir, 'tmp'))) + storeTemp };
    },
    blobKeys,
    async close() {
      await app.close();
      if (!dataDir) {
        await rm(dir, { recursive: true, force: true });
        await scale?.release();
        scaleByDir.delete(dir);
      }
    },
  };
}

export interface CompatTestApp extends TestApp {
  /** The base URL a profile answers on (its own listener, or the main one). */
  at(profile: ProfileName): string;
}

/**
 * Boots the app with COMPAT profiles: `compat` as the setting, except that `<profile>:own` gets a listener of its
 * own on a free port (`img_handler:own,media_server` mounts media_server on the main listener).
 */
export async function startCompatApp(compat: string, env: Record<string, string> = {}, dataDir?: string, options: CoreOptions = {}): Promise<CompatTestApp> {
  let items: string[] = [];
  let started: TestApp | undefined;
  // A free port can be taken by another test file between the probe and the listen: try others then.
  for (let tries = 1; !started; tries += 1) {
    items = [];
    for (const item of compat.split(',')) items.push(item.endsWith(':own') ? `${item.slice(0, -4)}:${await freePort()}` : item);
    try {
      started = await startApp({ COMPAT: items.join(','), ...env }, dataDir, options);
    } catch (err) {
      if (tries >= 3 || !/the port is in use/.test((err as Error).message)) throw err;
    }
  }
  return {
    ...started,
    at(profile) {
      const url = started.app.profileUrl(profile);
      if (!url) throw new Error(`the profile ${profile} is not on (COMPAT=${items.join(',')})`);
      return url;
    },
  };
}
