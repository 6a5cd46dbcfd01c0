// A small HTTP client for scenarios that must request each URL once: fixed concurrency, per-request latency.
export interface Fetched {
  readonly ms: number;
  readonly status: number;
  readonly bytes: number;
}

/** Fetches every url with `concurrency` in flight; answers the results in url order and the wall time. */
export async function fetchAll(urls: readonly string[], concurrency: number, headers: Record<string, string> = {}): Promise<{ results: Fetched[]; seconds: number }> {
  const results: Fetched[] = new Array<Fetched>(urls.length);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, urls.length) }, async () => {
      for (let i = next++; i < urls.length; i = next++) {
        const t0 = performance.now();
        try {
          const res = await fetch(urls[i]!, { headers });
          const body = await res.arrayBuffer();
          results[i] = { ms: performance.now() - t0, status: res.status, bytes: body.byteLength };
        } catch {
          results[i] = { ms: performance.now() - t0, status: 0, bytes: 0 };
        }
      }
    }),
  );
  return { results, seconds: (performance.now() - started) / 1000 };
}

export const failures = (results: readonly Fetched[]): number => results.filter((r) => r.status < 200 || r.status >= 400).length;
