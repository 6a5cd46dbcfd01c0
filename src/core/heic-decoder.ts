// HEIC decoding off the event loop: one worker thread, started on first use, jobs answered in order.
import { Worker } from 'node:worker_threads';
import type { Sharp } from 'sharp';
import { ImgdError, type ErrorCode } from './errors.js';
import { pipelineFromRgba, type DecodedHeic, type HeicLimits } from './heic.js';

interface Reply {
  readonly id: number;
  readonly width?: number;
  readonly height?: number;
  readonly data?: Uint8Array;
  readonly error?: { code: ErrorCode; message: string; extra: Record<string, unknown> };
}

type Waiter = { resolve: (value: DecodedHeic) => void; reject: (err: Error) => void };

let worker: Worker | undefined;
let next = 0;
const waiting = new Map<number, Waiter>();

function failAll(err: Error): void {
  for (const waiter of waiting.values()) waiter.reject(err);
  waiting.clear();
  worker = undefined;
}

function started(): Worker {
  if (worker) return worker;
  // The .ts source under tsx (tests, dev), the compiled .js in dist.
  const fromSource = import.meta.url.endsWith('.ts');
  const file = new URL(fromSource ? './heic-worker.ts' : './heic-worker.js', import.meta.url);
  // Running from source (tests, dev), the worker must load TypeScript itself: Node 20 does not hand tsx's hooks on.
  const w = fromSource
    ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); });`, { eval: true })
    : new Worker(file);
  w.unref();
  w.on('message', (reply: Reply) => {
    const waiter = waiting.get(reply.id);
    if (!waiter) return;
    waiting.delete(reply.id);
    if (reply.error) waiter.reject(new ImgdError(reply.error.code, reply.error.message, reply.error.extra));
    else waiter.resolve({ width: reply.width!, height: reply.height!, data: Buffer.from(reply.data!.buffer, reply.data!.byteOffset, reply.data!.byteLength) });
  });
  // A crashed decoder (out of memory in WebAssembly, say) fails its jobs; the next one starts a fresh worker.
  w.on('error', (err) => failAll(new ImgdError('corrupt_image', `The HEIC decoder failed: ${err.message}`)));
  w.on('exit', () => failAll(new ImgdError('corrupt_image', 'The HEIC decoder stopped.')));
  worker = w;
  return w;
}

export function decodeHeicOffThread(bytes: Buffer, limits: HeicLimits): Promise<DecodedHeic> {
  const id = next++;
  return new Promise<DecodedHeic>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    started().postMessage({ id, bytes, limits: { pixels: limits.pixels } });
  });
}

/** A sharp pipeline over HEIC pixels decoded on the worker thread. */
export async function heicPipeline(bytes: Buffer, limits: HeicLimits): Promise<Sharp> {
  return pipelineFromRgba(await decodeHeicOffThread(bytes, limits));
}

/** Ends the decoder thread (tests, shutdown). */
export async function stopHeicDecoder(): Promise<void> {
  const w = worker;
  worker = undefined;
  await w?.terminate();
}
