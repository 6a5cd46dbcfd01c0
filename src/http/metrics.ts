// Prometheus metrics of one app instance: requests, latencies, uploads, bytes, rejections.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobDepth } from '../jobs/queue.js';
import { RequestMetrics } from './request-metrics.js';

export interface Metrics {
  readonly registry: Registry;
  /** imgd_http_requests_total and imgd_http_request_duration_seconds, from one record() per answered request. */
  readonly http: RequestMetrics;
  readonly uploads: Counter<'outcome'>;
  readonly uploadBytes: Counter;
  readonly rejections: Counter<'code'>;
  readonly variantsRendered: Counter<'format'>;
  readonly jobOutcomes: Counter<'type' | 'outcome'>;
  /** In-memory caches whose size `imgd_cache_bytes{cache}` reports, read at scrape time. */
  readonly caches: CacheSizes;
}

export interface CacheSizes {
  track(cache: string, bytes: () => number): void;
}

export interface MetricsSources {
  /** Read at scrape time, so every instance reports the depth of the shared queue. */
  readonly queueDepth?: () => Promise<JobDepth[]>;
  /** This process's decode memory budget, read at scrape time. */
  readonly decodeBudget?: () => { readonly bytes: number; readonly inUse: number; readonly waiting: number };
}

function decodeGauges(registry: Registry, read: NonNullable<MetricsSources['decodeBudget']>): void {
  new Gauge({
    name: 'imgd_decode_memory_bytes',
    help: 'The decode memory budget (DECODE_MEMORY_MB) and the bytes decodes hold of it now, by state (budget, in_use)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const now = read();
      this.set({ state: 'budget' }, now.bytes);
      this.set({ state: 'in_use' }, now.inUse);
    },
  });
  new Gauge({
    name: 'imgd_decodes_waiting',
    help: 'Decodes waiting for their share of the decode memory budget',
    registers: [registry],
    collect() {
      this.set(read().waiting);
    },
  });
}

function queueDepthGauge(registry: Registry, read: () => Promise<JobDepth[]>): void {
  const failures = new Counter({
    name: 'imgd_job_queue_depth_failures_total',
    help: 'Scrapes where the queue depth could not be read (the jobs gauge is then empty)',
    registers: [registry],
  });
  new Gauge({
    name: 'imgd_jobs',
    help: 'Jobs by type and state (pending, running, failed), read from the shared jobs table at scrape time',
    labelNames: ['type', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      // A database that does not answer must not take every other metric down with it.
      const rows = await read().catch(() => {
        failures.inc();
        return [];
      });
      for (const row of rows) this.set({ type: row.type, status: row.status }, row.count);
    },
  });
}

function cacheGauge(registry: Registry): CacheSizes {
  const readers = new Map<string, () => number>();
  new Gauge({
    name: 'imgd_cache_bytes',
    help: 'Bytes held by in-memory caches: hot (public blobs served from memory), libvips (sharp operation cache)',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const [cache, read] of readers) this.set({ cache }, read());
    },
  });
  return { track: (cache, bytes) => void readers.set(cache, bytes) };
}

export function createMetrics(sources: MetricsSources = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (sources.queueDepth) queueDepthGauge(registry, sources.queueDepth);
  if (sources.decodeBudget) decodeGauges(registry, sources.decodeBudget);
  const http = new RequestMetrics();
  http.register(registry);
  return {
    caches: cacheGauge(registry),
    registry,
    http,
    uploads: new Counter({ name: 'imgd_uploads_total', help: 'Upload attempts by outcome', labelNames: ['outcome'], registers: [registry] }),
    uploadBytes: new Counter({ name: 'imgd_upload_bytes_total', help: 'Bytes of images stored by uploads', registers: [registry] }),
    rejections: new Counter({ name: 'imgd_upload_rejections_total', help: 'Refused uploads by error code', labelNames: ['code'], registers: [registry] }),
    variantsRendered: new Counter({
      name: 'imgd_variants_rendered_total',
      help: 'Variants rendered (cache misses) by output format',
      labelNames: ['format'],
      registers: [registry],
    }),
    jobOutcomes: new Counter({
      name: 'imgd_job_runs_total',
      help: 'Job runs in this process by type and outcome (done, retried, failed)',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
  };
}
