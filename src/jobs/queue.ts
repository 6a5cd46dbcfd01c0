// The job queue interface: durable background work with retries, whatever runs it.

export interface JobContext {
  readonly jobId: string;
  /** 1 for the first try. */
  readonly attempt: number;
  readonly maxAttempts: number;
}

export type JobHandler<P> = (payload: P, context: JobContext) => Promise<void>;

export interface HandlerOptions<P> {
  /** Tries before the job is marked failed. */
  readonly maxAttempts?: number;
  /** First retry delay; doubles with every try. */
  readonly backoffMs?: number;
  /** Runs once when the last try has failed. */
  readonly onFailed?: (payload: P, error: Error) => Promise<void>;
  /**
   * Jobs of this type run in a lane of their own, this many at once, beside every other type (which share
   * JOB_CONCURRENCY): slow jobs that mostly wait (a webhook delivery held open by its receiver) never hold up the rest.
   */
  readonly concurrency?: number;
}

export interface EnqueueOptions {
  readonly delayMs?: number;
}

export type JobStatus = 'pending' | 'running' | 'done' | 'failed';

/** How many jobs of one type are in one state, across every instance sharing the database. */
export interface JobDepth {
  readonly type: string;
  readonly status: JobStatus;
  readonly count: number;
}

export interface JobQueue {
  register<P>(type: string, handler: JobHandler<P>, options?: HandlerOptions<P>): void;
  /** Records the job durably and returns its id; handlers may run in this process or another. */
  enqueue<P>(type: string, payload: P, options?: EnqueueOptions): Promise<string>;
  /** Jobs were recorded elsewhere (in the transaction of an upload): look for them now rather than at the next poll. */
  wake(): void;
  /** Starts running registered handlers. */
  start(): Promise<void>;
  /** Stops taking jobs and waits for the running ones. */
  stop(): Promise<void>;
  counts(): Promise<Record<JobStatus, number>>;
  /** Counts by job type and state (done jobs left out: they only grow). */
  depth(): Promise<JobDepth[]>;
  /** Throws when jobs cannot be handed over (the database, and Redis when configured), for /readyz. */
  check(): Promise<void>;
}
