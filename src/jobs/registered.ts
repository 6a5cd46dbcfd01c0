// What both queue runners share: registered handlers with their retry settings.
import type { HandlerOptions, JobHandler } from './queue.js';

export interface Registered {
  readonly handler: JobHandler<unknown>;
  readonly maxAttempts: number;
  readonly backoffMs: number;
  readonly onFailed: ((payload: unknown, error: Error) => Promise<void>) | undefined;
  /** Set when the type runs in a lane of its own (HandlerOptions.concurrency). */
  readonly concurrency: number | undefined;
}

/** The lane of each type: a type with a concurrency of its own has its own lane, named after it; the rest share one. */
export const SHARED_LANE = '';
export const laneOf = (type: string, registered: Registered | undefined): string => (registered?.concurrency === undefined ? SHARED_LANE : type);

export function registered<P>(handler: JobHandler<P>, opts: HandlerOptions<P>): Registered {
  return {
    handler: handler as JobHandler<unknown>,
    maxAttempts: opts.maxAttempts ?? 3,
    backoffMs: opts.backoffMs ?? 1000,
    onFailed: opts.onFailed as Registered['onFailed'],
    concurrency: opts.concurrency,
  };
}
