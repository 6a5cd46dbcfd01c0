// Runs decodes on a bounded pool of worker threads: so many threads, so many tasks waiting (more: 503), a time budget per task (over: the thread is replaced).
import { createRequire } from 'node:module';
import type { ResourceLimits } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import { ImgdError } from '../errors.js';
import type { PoolReply, PoolTask } from './decode-task.js';

/** Memory a thread keeps after a task (a WebAssembly heap only grows), charged to the decode budget while the threads live. */
export interface KeptMemory<Out> {
  /** The bytes a thread keeps after producing this. */
  readonly after: (output: Out) => number;
  /** Charges them at once; the function returned gives them back. */
  readonly hold: (bytes: number) => () => void;
  /** True when others wait for memory: the threads then end as soon as they are idle, giving theirs back. */
  readonly wanted: () => boolean;
}

export interface DecodePoolOptions<Out = unknown> {
  /** What the threads do, for messages: "HEIC decoder". */
  readonly name: string;
  /** The worker module, relative to this folder (core/codecs/), without its extension: its default export is a poolTask. */
  readonly module: string;
  readonly threads: number;
  /** Tasks that may wait for a thread; one more is refused with 503 `unavailable`. */
  readonly queue: number;
  /** A task running longer than this is stopped, its thread replaced, and it fails with overTime(). */
  readonly timeoutMs: number;
  readonly overTime: (timeoutMs: number) => ImgdError;
  /** The error of a task whose thread died under it (out of memory, say); corrupt_image by default. */
  readonly crashed?: (why: string) => ImgdError;
  /** Each thread's heap: past it the thread dies, and its task fails with crashed(). */
  readonly resourceLimits: ResourceLimits;
  readonly kept?: KeptMemory<Out>;
}

export interface DecodePool<In, Out> {
  /** `timeoutMs` replaces the pool's time budget for this task. */
  run(input: In, timeoutMs?: number): Promise<Out>;
  /** Ends every thread; tasks not done fail with 503 `unavailable`. */
  close(): Promise<void>;
}

/**
 * A pool with no task for this long is ended, its threads with it, and made again by the next task: a HEIC thread's
 * WebAssembly memory only grows and goes only with its thread, and a server without HEIC or SVG uploads needs none.
 */
const IDLE_MS = 2000;
const RETRY_AFTER_SECONDS = 2;
/** Piscina's refusals of a task for want of room (its errors carry no code). */
const QUEUE_FULL = new Set(['Task queue is at limit', 'No task queue available and all Workers are busy']);

export function createDecodePool<In, Out>(options: DecodePoolOptions<Out>): DecodePool<In, Out> {
  // The .ts source under tsx (tests, dev), the compiled .js in dist; the threads inherit tsx from the process.
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const filename = fileURLToPath(new URL(`./${options.module}${extension}`, import.meta.url));
  let pool: Piscina | undefined;
  /**
   * What the current threads keep, as far as anyone can tell: one charge per thread at most, the largest tasks'.
   * Given back when they end.
   */
  const kept: Array<{ readonly bytes: number; readonly release: () => void }> = [];
  let pending = 0;
  let idle: NodeJS.Timeout | undefined;
  let next = 0;
  let closed = false;
  /** Tasks sent to a thread, by id: their time budget starts when the thread says it has begun. */
  const started = new Map<number, () => void>();

  function current(): Piscina {
    clearTimeout(idle);
    if (pool) return pool;
    // Piscina is loaded with the first pool a decode starts, not at start-up (most servers never decode in a thread).
    const { Piscina: Pool } = createRequire(import.meta.url)('piscina') as typeof import('piscina');
    const made = new Pool({
      filename,
      // One thread stays while tasks are about: Piscina starts threads only for new tasks, so with none left after a
      // stopped one, the tasks queued behind it would wait for good. Idle, the pool itself goes (see IDLE_MS).
      minThreads: 1,
      maxThreads: options.threads,
      maxQueue: options.queue,
      idleTimeout: IDLE_MS,
      resourceLimits: options.resourceLimits,
    });
    made.on('message', (message: { decodeStarted?: number }) => {
      if (typeof message?.decodeStarted === 'number') started.get(message.decodeStarted)?.();
    });
    // A thread that fails outside a task (it could not load) is reported through the pool; its tasks fail on their own.
    made.on('error', () => undefined);
    pool = made;
    return made;
  }

  function keep(output: Out): void {
    if (!options.kept) return;
    const bytes = options.kept.after(output);
    kept.push({ bytes, release: options.kept.hold(bytes) });
    kept.sort((a, b) => b.bytes - a.bytes);
    for (const smaller of kept.splice(options.threads)) smaller.release();
  }

  /** Ends the threads; what they kept is given back now (a pool made meanwhile keeps its own). */
  function end(): Promise<void> {
    const done = pool;
    pool = undefined;
    for (const heap of kept.splice(0)) heap.release();
    return done?.destroy() ?? Promise.resolve();
  }

  function settled(): void {
    pending -= 1;
    if (pending > 0 || !pool) return;
    // Decodes wait for the memory idle threads keep: end them now rather than in IDLE_MS.
    if (options.kept?.wanted()) {
      void end();
      return;
    }
    idle = setTimeout(() => void end(), IDLE_MS);
    idle.unref();
  }

  const shuttingDown = (): ImgdError => new ImgdError('unavailable', 'The server is shutting down.');
  const busy = (): ImgdError =>
    new ImgdError('unavailable', `Every ${options.name} thread is busy${options.queue > 0 ? ` and ${options.queue} files are waiting` : ''}; try again shortly.`, {
      retry_after: RETRY_AFTER_SECONDS,
    });

  async function runTask(input: In, timeoutMs: number): Promise<Out> {
    const threads = current();
    // Piscina also counts threads still starting as room; the setting is about files waiting (with none allowed to
    // wait, Piscina alone can tell whether a thread is free).
    if (options.queue > 0 && threads.queueSize >= options.queue && threads.threads.length >= options.threads) throw busy();
    const id = next++;
    // The time budget runs from when the thread starts the file, not while the file waits for a thread: stopping
    // the task then (with the budget's error as the reason) makes Piscina replace the thread.
    const stop = new AbortController();
    started.set(id, () => {
      const budget = AbortSignal.timeout(timeoutMs);
      budget.addEventListener('abort', () => stop.abort(options.overTime(timeoutMs)), { once: true });
    });
    // Piscina unrefs its threads, and one starting in place of a stopped one holds nothing open: the caller waits, so stay alive.
    const alive = setInterval(() => undefined, 1 << 30);
    let reply: PoolReply<Out>;
    try {
      reply = (await threads.run({ id, input } satisfies PoolTask<In>, { signal: stop.signal })) as PoolReply<Out>;
    } catch (err) {
      if (stop.signal.aborted) throw stop.signal.reason as ImgdError;
      if (closed) throw shuttingDown();
      if (QUEUE_FULL.has((err as Error).message)) throw busy();
      // The thread died (out of memory, say): the file's fault as far as anyone can tell.
      throw options.crashed?.((err as Error).message) ?? new ImgdError('corrupt_image', `The ${options.name} failed on this file: ${(err as Error).message}.`);
    } finally {
      clearInterval(alive);
      started.delete(id);
    }
    if ('error' in reply) throw new ImgdError(reply.error.code, reply.error.message, reply.error.extra);
    if (pool === threads) keep(reply.ok);
    return reply.ok;
  }

  return {
    async run(input, timeoutMs = options.timeoutMs) {
      if (closed) throw shuttingDown();
      pending += 1;
      try {
        return await runTask(input, timeoutMs);
      } finally {
        settled();
      }
    },
    async close() {
      closed = true;
      clearTimeout(idle);
      await end();
    },
  };
}
