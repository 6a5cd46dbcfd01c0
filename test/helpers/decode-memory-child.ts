// Run by decode-memory.test.ts as its own process (settings from the environment): boots imgd, uploads the files named
// in IMGD_TEST_FILES at once, waits until their jobs have rendered every preset, asks for a variant of each at once,
// and prints the process's peak resident memory over that, beside its resident memory before, as one JSON line.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

const MB = 1024 * 1024;
const files = JSON.parse(process.env.IMGD_TEST_FILES ?? '[]') as string[];
const auth = { authorization: `Bearer ${process.env.AUTH_TOKEN}` };

/** Linux: resident memory now, and its peak since the last reset (VmHWM). */
function status(field: 'VmRSS' | 'VmHWM'): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Starts the peak over from now: writing 5 to clear_refs resets VmHWM to the current RSS. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const app = await createApp(loadConfig(process.env));
const url = await app.listen();

async function upload(file: string): Promise<{ status: number; body: { id?: string; url?: string } }> {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)]), path.basename(file));
  const res = await fetch(`${url}/api/v1/images`, { method: 'POST', body: form, headers: auth });
  return { status: res.status, body: (await res.json()) as { id?: string; url?: string } };
}

/** The images' statuses once none is processing (or after two minutes, as they are then). */
async function settled(ids: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const states = await Promise.all(ids.map(async (id) => ((await (await fetch(`${url}/api/v1/images/${id}`, { headers: auth })).json()) as { status: string }).status));
    if (states.every((s) => s !== 'processing') || Date.now() > deadline) return states;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
try {
  // Warm up what an upload, its jobs and a variant load (modules, the database, sharp's threads): the baseline is the idle server's.
  const warm = await upload(process.env.IMGD_TEST_WARMUP!);
  await settled([warm.body.id!]);
  await fetch(`${warm.body.url}/custom?w=640&format=png`, { headers: auth });
  const baseline = status('VmRSS') ?? process.memoryUsage().rss;
  const reset = resetPeak();

  const uploads = await Promise.all(files.map(upload));
  const states = await settled(uploads.map((u) => u.body.id).filter((id): id is string => id !== undefined));
  const variants = await Promise.all(
    uploads.map(async ({ body }) => (body.url ? (await fetch(`${body.url}/custom?w=640&format=png`, { headers: auth })).status : 0)),
  );
  const peak = reset ? status('VmHWM')! : process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify({ uploads: uploads.map((u) => u.status), states, variants, baselineMb: baseline / MB, peakMb: peak / MB, peakSince: reset ? 'baseline' : 'start' }));
} finally {
  await app.close();
}
