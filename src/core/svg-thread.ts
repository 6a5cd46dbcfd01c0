// SVG sanitizing off the event loop: one worker thread, one file at a time, each with a time and memory budget.
import { Worker } from 'node:worker_threads';
import { ImgdError, type ErrorCode } from './errors.js';

/** Sanitizing builds a DOM many times the file's size, so SVGs get a smaller size limit than raster images. */
export const SVG_MAX_BYTES = 2 * 1024 * 1024;
/** Past this, a file is refused and its worker replaced (the element and depth limits make it rare). */
export const SVG_SANITIZE_TIMEOUT_MS = 15_000;
const WORKER_HEAP_MB = 512;

interface Reply {
  readonly ready?: true;
  readonly id?: number;
  readonly text?: string;
  readonly error?: { code: ErrorCode; message: string; extra: Record<string, unknown> };
}

interface Job {
  readonly id: number;
  readonly bytes: Buffer;
  readonly timeoutMs: number;
  readonly resolve: (text: string) => void;
  readonly reject: (err: Error) => void;
}

let worker: Worker | undefined;
/** Whether the worker has loaded: its start-up (seconds under tsx on a busy machine) is not charged to a file. */
let ready = false;
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
  ready = false;
  w.on('message', (reply: Reply) => {
    if (reply.ready) {
      ready = true;
      pump();
      return;
    }
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
    else if (!ready) {
      // It never started: starting another would fail the same way, so the waiting files fail instead.
      for (const job of queue.splice(0)) job.reject(new ImgdError('internal', `The SVG sanitizer could not start: ${why}.`));
    }
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
  if (current || queue.length === 0) return;
  worker ??= spawn();
  if (!ready) return; // its ready message pumps again
  const job = queue.shift()!;
  const timer = setTimeout(() => {
    const w = worker;
    worker = undefined;
    finish().job.reject(new ImgdError('svg_too_complex', `The SVG took longer than ${job.timeoutMs / 1000} s to sanitize.`));
    void w?.terminate();
    pump();
  }, job.timeoutMs);
  timer.unref();
  current = { job, timer };
  worker.postMessage({ id: job.id, bytes: job.bytes });
}

/** The sanitized SVG document, computed on the worker thread. */
export function sanitizeSvgOffThread(bytes: Buffer, timeoutMs = SVG_SANITIZE_TIMEOUT_MS): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    queue.push({ id: next++, bytes, timeoutMs, resolve, reject });
    pump();
  });
}

/** Ends the sanitizer thread (tests, shutdown); a later file starts a new one. */
export async function stopSvgSanitizer(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (current) finish().job.reject(new ImgdError('unavailable', 'The server is shutting down.'));
  for (const job of queue.splice(0)) job.reject(new ImgdError('unavailable', 'The server is shutting down.'));
  await w?.terminate();
}
