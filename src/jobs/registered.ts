// What both queue runners share: registered handlers with their retry settings.
import type { HandlerOptions, JobHandler } from './queue.js';

export interface Registered {
  readonly handler: JobHandler<unknown>;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly onFailed: ((payload: unknown, error: Error) => Promise<void>) | undefined;
}

export function registered<P>(handler: JobHandler<P>, opts: HandlerOptions<P>): Registered {
  return {
    handler: handler as JobHandler<unknown>,
    maxAttempts: opts.maxAttempts ?? 3,
    backoffMs: opts.backoffMs ?? 1000,
    onFailed: opts.onFailed as Registered['onFailed'],
  };
}
