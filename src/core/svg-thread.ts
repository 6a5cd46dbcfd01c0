// SVG sanitizing off the event loop: one worker thread, one file at a time, each with a time and memory budget.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { fsyncPath } from '../store/fsync.js';
import { ImgdError, type ErrorCode } from './errors.js';

/** Sanitizing builds a DOM many times the file's size, so SVGs get a smaller size limit than raster images. */
export const SVG_MAX_BYTES = 2 * 1024 * 1024;
/** Past this, a file is refused and its worker replaced (the element and depth limits make it rare). */
export const SVG_SANITIZE_TIMEOUT_MS = 15_000;
const WORKER_HEAP_MB = 512;

interface Reply {
  readonly id: number;
  readonly text?: string;
  readonly error?: { code: ErrorCode; message: string; extra: Record<string, unknown> };
}

interface Job {
  readonly id: number;
  readonly bytes: Buffer;
  readonly resolve: (text: string) => void;
  readonly reject: (err: Error) => void;
}

let worker: Worker | undefined;
let next = 0;
const queue: Job[] = [];
let current: { job: Job; timer: NodeJS.Timeout } | undefined;

function spawn(): Worker {
  // The .ts source under tsx (tests, dev), the compiled .js in dist.
  const fromSource = import.meta.url.endsWith('.ts');
  const file = new URL(fromSource ? './svg-worker.ts' : './svg-worker.js', import.meta.url);
  const resourceLimits = { maxOldGenerationSizeMb: WORKER_HEAP_MB };
  // Running from source, the worker must load TypeScript itself: Node 20 does not hand tsx's hooks on.
  const w = fromSource
    ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); });`, { eval: true, resourceLimits })
    : new Worker(file, { resourceLimits });
  w.unref();
  w.on('message', (reply: Reply) => {
    if (!current || current.job.id !== reply.id) return;
    const { job } = finish();
    if (reply.error) job.reject(new ImgdError(reply.error.code, reply.error.message, reply.error.extra));
    else job.resolve(reply.text ?? '');
    pump();
  });
  // A worker that died (out of memory) fails the file it had; the queue goes on with a fresh one.
  const died = (why: string): void => {
    if (worker !== w) return;
    worker = undefined;
    if (current) finish().job.reject(new ImgdError('svg_too_complex', `The SVG could not be sanitized: ${why}.`));
    pump();
  };
  w.on('error', (err) => died(err.message));
  w.on('exit', () => died('the sanitizer stopped'));
  return w;
}

function finish(): { job: Job } {
  const done = current!;
  clearTimeout(done.timer);
  current = undefined;
  return done;
}

function pump(): void {
  if (current) return;
  const job = queue.shift();
  if (!job) return;
  worker ??= spawn();
  const timer = setTimeout(() => {
    const w = worker;
    worker = undefined;
    finish().job.reject(new ImgdError('svg_too_complex', `The SVG took longer than ${SVG_SANITIZE_TIMEOUT_MS / 1000} s to sanitize.`));
    void w?.terminate();
    pump();
  }, SVG_SANITIZE_TIMEOUT_MS);
  timer.unref();
  current = { job, timer };
  worker.postMessage({ id: job.id, bytes: job.bytes });
}

/** The sanitized SVG document, computed on the worker thread. */
export function sanitizeSvgOffThread(bytes: Buffer): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    queue.push({ id: next++, bytes, resolve, reject });
    pump();
  });
}

export interface SanitizedFile {
  readonly sha256: string;
  readonly bytes: number;
}

/** Rewrites a staged SVG with its sanitized form; the stored original (and so its hash) is the sanitized bytes. */
export async function sanitizeSvgFile(file: string): Promise<SanitizedFile> {
  const clean = Buffer.from(await sanitizeSvgOffThread(await readFile(file)), 'utf8');
  await writeFile(file, clean);
  await fsyncPath(file);
  return { sha256: createHash('sha256').update(clean).digest('hex'), bytes: clean.length };
}

/** Ends the sanitizer thread (tests, shutdown); a later file starts a new one. */
export async function stopSvgSanitizer(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (current) finish().job.reject(new ImgdError('unavailable', 'The server is shutting down.'));
  for (const job of queue.splice(0)) job.reject(new ImgdError('unavailable', 'The server is shutting down.'));
  await w?.terminate();
}
