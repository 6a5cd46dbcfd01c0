// Prometheus metrics of one app instance: requests, latencies, uploads, bytes, rejections.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'method' | 'route'>;
  readonly uploads: Counter<'outcome'>;
  readonly uploadBytes: Counter;
  readonly rejections: Counter<'code'>;
  readonly variantsRendered: Counter<'format'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'imgd_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'imgd_http_request_duration_seconds',
      help: 'HTTP request latency by method and route',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    uploads: new Counter({ name: 'imgd_uploads_total', help: 'Upload attempts by outcome', labelNames: ['outcome'], registers: [registry] }),
    uploadBytes: new Counter({ name: 'imgd_upload_bytes_total', help: 'Bytes of images stored by uploads', registers: [registry] }),
    rejections: new Counter({ name: 'imgd_upload_rejections_total', help: 'Refused uploads by error code', labelNames: ['code'], registers: [registry] }),
    variantsRendered: new Counter({
      name: 'imgd_variants_rendered_total',
      help: 'Variants rendered (cache misses) by output format',
      labelNames: ['format'],
      registers: [registry],
    }),
  };
}
