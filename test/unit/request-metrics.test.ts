// The request metrics counted in plain numbers: /metrics must read exactly as prom-client's own Counter and Histogram
// would have written the same requests, so dashboards and alerts see no difference.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { LATENCY_BUCKETS, RequestMetrics } from '../../src/http/request-metrics.js';

type Request = readonly [method: string, route: string, status: number, seconds: number];

const REQUESTS: readonly Request[] = [
  ['GET', '/i/:key/:filename', 200, 0.0004],
  ['GET', '/i/:key/:filename', 200, 0.001], // exactly on a bound: counted in that bucket, as prom-client does
  ['GET', '/i/:key/:filename', 304, 0.0011],
  ['HEAD', '/i/:key/:filename', 200, 0.02],
  ['POST', '/api/v1/images', 201, 0.3],
  ['POST', '/api/v1/images', 415, 0.004],
  ['POST', '/api/v1/images', 201, 12], // past the last bound: +Inf only
  ['GET', 'unmatched', 404, 0],
];

async function ours(requests: readonly Request[], format: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE): Promise<{ registry: Registry<RegistryContentType>; text: string }> {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(format);
  const metrics = new RequestMetrics();
  metrics.register(registry);
  for (const [method, route, status, seconds] of requests) metrics.record(method, route, status, seconds);
  return { registry, text: await registry.metrics() };
}

async function promClients(requests: readonly Request[], format: RegistryContentType = Registry.PROMETHEUS_CONTENT_TYPE): Promise<string> {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(format);
  const counter = new Counter({ name: 'imgd_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const histogram = new Histogram({
    name: 'imgd_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'],
    buckets: [...LATENCY_BUCKETS],
    registers: [registry],
  });
  for (const [method, route, status, seconds] of requests) {
    counter.inc({ method, route, status: String(status) });
    histogram.observe({ method, route }, seconds);
  }
  return registry.metrics();
}

describe('request metrics', () => {
  it('read, line for line, as prom-client writes the same requests', async () => {
    const { text } = await ours(REQUESTS);
    assert.equal(text, await promClients(REQUESTS));
    assert.match(text, /^imgd_http_requests_total\{method="GET",route="\/i\/:key\/:filename",status="200"\} 2$/m);
    assert.match(text, /^imgd_http_request_duration_seconds_bucket\{le="0.001",method="GET",route="\/i\/:key\/:filename"\} 2$/m);
    assert.match(text, /^imgd_http_request_duration_seconds_bucket\{le="10",method="POST",route="\/api\/v1\/images"\} 2$/m);
    assert.match(text, /^imgd_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/images"\} 3$/m);
  });

  it('read as prom-client writes them in the OpenMetrics format too (counters renamed by the registry)', async () => {
    const openMetrics = Registry.OPENMETRICS_CONTENT_TYPE;
    const { text } = await ours(REQUESTS, openMetrics);
    assert.equal(text, await promClients(REQUESTS, openMetrics));
    assert.match(text, /^imgd_http_requests_total\{method="GET",route="\/i\/:key\/:filename",status="200"\} 2$/m);
  });

  it('start empty, and are cleared with the registry', async () => {
    assert.equal((await ours([])).text, await promClients([]));
    const { registry } = await ours(REQUESTS);
    registry.resetMetrics();
    assert.equal(await registry.metrics(), await promClients([]));
  });
});
