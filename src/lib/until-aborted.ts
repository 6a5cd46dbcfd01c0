// Waiting on work that takes no AbortSignal (a database ping, a Redis command) for as long as a signal allows.

/**
 * Settles as `work` does, or rejects with the signal's reason once it aborts first (`AbortSignal.timeout(ms)`: a
 * DOMException named TimeoutError). The work itself runs on; its late outcome is ignored.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/** Settles as `work` does, or with what `late` returns (or throws) should `ms` pass first. */
export async function within<T>(work: Promise<T>, ms: number, late: () => T): Promise<T> {
  const limit = AbortSignal.timeout(ms);
  try {
    return await untilAborted(work, limit);
  } catch (err) {
    if (err === limit.reason) return late();
    throw err;
  }
}
