// Wraps a job queue so that each run's outcome is reported (for /metrics), whichever runner executes it.
import type { JobQueue } from './queue.js';

/** done: it succeeded; retried: it failed and will run again; failed: it failed its last try. */
export type JobOutcome = 'done' | 'retried' | 'failed';

export function observeOutcomes(queue: JobQueue, onOutcome: (type: string, outcome: JobOutcome) => void): JobQueue {
  return {
    ...queue,
    register(type, handler, options) {
      queue.register(
        type,
        async (payload, context) => {
          try {
            await handler(payload, context);
          } catch (err) {
            onOutcome(type, context.attempt >= context.maxAttempts ? 'failed' : 'retried');
            throw err;
          }
          onOutcome(type, 'done');
        },
        options,
      );
    },
  };
}
