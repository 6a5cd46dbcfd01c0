// The decode memory budget holds the process's memory under load: four progressive JPEGs just under the progressive
// limit (small files, many pixels), uploaded at once and processed four jobs at a time, stay within
// DECODE_MEMORY_MB + 64 MB over the idle server's resident memory, in a process of their own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { fixture, makeDataDir, servicesFor, TOKEN } from '../helpers/app.js';
import { REPO_ROOT } from '../helpers/accounts.js';
import { childEnv, within } from '../helpers/processes.js';

/** 3460 x 3460 at 4:4:4: a progressive decode holds 6 bytes of coefficients a pixel, about 70 MB, for a 200 KB file. */
const SIDE = 3460;
const PROGRESSIVE_LIMIT = 12_000_000;
const BUDGET_MB = 128;
/** What the server holds beside decodes while it works (request and job state, buffers, the allocator's slack). */
const SLACK_MB = 64;

interface Report {
  readonly uploads: number[];
  readonly states: string[];
  readonly variants: number[];
  readonly baselineMb: number;
  readonly peakMb: number;
}

/** Runs the child with these settings and answers what it printed. */
async function measure(dataDir: string, files: readonly string[], settings: Record<string, string>): Promise<Report> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/decode-memory-child.ts'], {
    cwd: REPO_ROOT,
    env: childEnv({
      // As `npm start` runs the server: the bound is stated for these allocator settings.
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '1048576',
      DATA_DIR: dataDir,
      PORT: '0',
      AUTH_TOKEN: TOKEN,
      LOG_LEVEL: 'silent',
      JOB_POLL_MS: '50',
      JOB_CONCURRENCY: '4',
      MAX_PIXELS: String(PROGRESSIVE_LIMIT),
      MAX_PROGRESSIVE_PIXELS: String(PROGRESSIVE_LIMIT),
      DECODE_MEMORY_MB: String(BUDGET_MB),
      IMGD_TEST_WARMUP: fixture('jpg/xmp/no_exif.jpg'),
      IMGD_TEST_FILES: JSON.stringify(files),
      ...(await servicesFor(dataDir)),
      ...settings,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await within(new Promise<number | null>((resolve) => child.once('exit', resolve)), 180_000, 'the measuring process').catch((e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
  assert.equal(code, 0, `the measuring process failed:\n${err}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as Report;
}

describe('the decode memory bound', () => {
  let dataDir: string;
  const files: string[] = [];

  before(async () => {
    dataDir = await makeDataDir();
    for (let i = 0; i < 4; i++) {
      const file = path.join(dataDir, `progressive-${i}.jpg`);
      await sharp({ create: { width: SIDE, height: SIDE, channels: 3, background: { r: 40 * i, g: 120, b: 200 } } })
        .jpeg({ progressive: true, chromaSubsampling: '4:4:4', quality: 90 })
        .toFile(file);
      files.push(file);
    }
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('keeps four progressive JPEGs just under the progressive limit, uploaded and processed at once, within DECODE_MEMORY_MB + 64 MB', async (t) => {
    assert.ok(SIDE * SIDE <= PROGRESSIVE_LIMIT && SIDE * SIDE > PROGRESSIVE_LIMIT * 0.99);
    for (const file of files) assert.ok((await stat(file)).size < 300_000, 'small files, many pixels');
    const report = await measure(path.join(dataDir, 'server'), files, {});
    assert.deepEqual(report.uploads, [201, 201, 201, 201]);
    assert.deepEqual(report.states, ['ready', 'ready', 'ready', 'ready']);
    // On-the-fly variants of all four at once wait for their share (or answer 503 when they waited too long).
    for (const status of report.variants) assert.ok(status === 200 || status === 503, `variant answered ${status}`);
    const grown = report.peakMb - report.baselineMb;
    t.diagnostic(`idle ${report.baselineMb.toFixed(0)} MB, peak ${report.peakMb.toFixed(0)} MB (+${grown.toFixed(0)} MB)`);
    assert.ok(grown < BUDGET_MB + SLACK_MB, `peak RSS ${report.peakMb.toFixed(0)} MB, ${grown.toFixed(0)} MB over the idle ${report.baselineMb.toFixed(0)} MB: over ${BUDGET_MB} + ${SLACK_MB} MB`);
  });
});
