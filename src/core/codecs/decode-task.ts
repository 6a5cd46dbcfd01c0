// The worker side of a decode pool: says when a task starts (its time budget runs from then), and sends errors back with their code.
import { parentPort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { isImgdError, type ErrorCode } from '../errors.js';

export interface PoolTask<In> {
  readonly id: number;
  readonly input: In;
}

export type PoolReply<Out> = { readonly ok: Out } | { readonly error: { code: ErrorCode; message: string; extra: Record<string, unknown> } };

/** What a handler answers: the value, and the ArrayBuffers inside it to hand over rather than copy. */
export interface Handled<Out> {
  readonly value: Out;
  readonly transfer?: readonly ArrayBuffer[];
}

/** Wraps a handler as a pool's task function (the worker module's default export). */
export function poolTask<In, Out>(handler: (input: In) => Handled<Out> | Promise<Handled<Out>>): (task: PoolTask<In>) => Promise<unknown> {
  return async ({ id, input }) => {
    parentPort?.postMessage({ decodeStarted: id });
    try {
      const { value, transfer = [] } = await handler(input);
      const reply: PoolReply<Out> = { ok: value };
      return transfer.length === 0 ? reply : move({ [transferableSymbol]: transfer, [valueSymbol]: reply } as never);
    } catch (err) {
      // An Error loses its class and code on the way back: send what the main thread needs to rebuild it.
      const code: ErrorCode = isImgdError(err) ? err.code : 'corrupt_image';
      return { error: { code, message: (err as Error).message, extra: isImgdError(err) ? err.extra : {} } } satisfies PoolReply<Out>;
    }
  };
}
