// imgd_http_requests_total and imgd_http_request_duration_seconds: counted per request in plain numbers, and turned
// into Prometheus samples only when /metrics is read. prom-client's Counter.inc and Histogram.observe check and hash
// their label object on every call: measured, that was about 4 µs of the 37 µs of CPU a fast-lane answer of a 17 KB
// variant took. The registry, its text format and every other metric stay prom-client's.
import type { Metric, Registry, RegistryContentType } from 'prom-client';

/** One sample as the registry formats it (prom-client's own shape; its type is not exported). */
interface Sample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  /** For a histogram's _bucket, _sum and _count lines. */
  readonly metricName?: string;
}

/** Upper bounds of the latency buckets, in seconds (an observation is counted in the first bound it does not exceed). */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = { readonly method: string; readonly route: string };

/** Answers of one method, route and status. */
interface Tally {
  readonly labels: Labels;
  readonly status: string;
  value: number;
}

/** One method and route: its tallies by status, and the latency histogram (per bucket, not cumulative; the last is +Inf). */
interface Series {
  readonly labels: Labels;
  readonly statuses: Map<number, Tally>;
  readonly buckets: number[];
  sum: number;
  count: number;
}

const REQUESTS = { name: 'imgd_http_requests_total', help: 'HTTP requests by method, route and status' } as const;
const LATENCY = { name: 'imgd_http_request_duration_seconds', help: 'HTTP request latency by method and route' } as const;

export class RequestMetrics {
  /** Method, then route: two lookups with the strings the request already has, nothing built per request. */
  private readonly series = new Map<string, Map<string, Series>>();
  /** Series and tallies in the order they first appeared, as prom-client lists them. */
  private readonly seriesInOrder: Series[] = [];
  private readonly talliesInOrder: Tally[] = [];

  /** One answered request. The method is one Node's parser accepted and the route a pattern, so the series are few. */
  record(method: string, route: string, status: number, seconds: number): void {
    let routes = this.series.get(method);
    if (!routes) {
      routes = new Map();
      this.series.set(method, routes);
    }
    let series = routes.get(route);
    if (!series) {
      series = { labels: { method, route }, statuses: new Map(), buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      routes.set(route, series);
      this.seriesInOrder.push(series);
    }
    let tally = series.statuses.get(status);
    if (!tally) {
      tally = { labels: series.labels, status: String(status), value: 0 };
      series.statuses.set(status, tally);
      this.talliesInOrder.push(tally);
    }
    tally.value += 1;
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]!) bucket += 1;
    series.buckets[bucket]! += 1;
    series.sum += seconds;
    series.count += 1;
  }

  /** Adds both metrics to the registry, read from these counts at every scrape. */
  register(registry: Registry<RegistryContentType>): void {
    registry.registerMetric(this.metric(REQUESTS, 'counter', () => this.requestSamples()));
    registry.registerMetric(this.metric(LATENCY, 'histogram', () => this.latencySamples()));
  }

  private requestSamples(): Sample[] {
    return this.talliesInOrder.map(({ labels, status, value }) => ({ value, labels: { ...labels, status } }));
  }

  /** The text format's histogram: cumulative buckets with `le`, then +Inf, _sum and _count, per series. */
  private latencySamples(): Sample[] {
    const samples: Sample[] = [];
    const bucketName = `${LATENCY.name}_bucket`;
    for (const { labels, buckets, sum, count } of this.seriesInOrder) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += buckets[i]!;
        samples.push({ metricName: bucketName, value: cumulative, labels: { le, ...labels } });
      });
      samples.push({ metricName: bucketName, value: count, labels: { le: '+Inf', ...labels } });
      samples.push({ metricName: `${LATENCY.name}_sum`, value: sum, labels: { ...labels } });
      samples.push({ metricName: `${LATENCY.name}_count`, value: count, labels: { ...labels } });
    }
    return samples;
  }

  private reset(): void {
    this.series.clear();
    this.seriesInOrder.length = 0;
    this.talliesInOrder.length = 0;
  }

  /**
   * What the registry asks of a metric: its name, help, type and aggregator, its samples from get(), and reset(). Not a
   * prom-client class, hence the cast: the registry only ever calls these.
   */
  private metric(about: { readonly name: string; readonly help: string }, type: 'counter' | 'histogram', samples: () => Sample[]): Metric {
    const view = {
      ...about,
      type,
      aggregator: 'sum' as const,
      // The registry may rename a counter in place (OpenMetrics drops its _total): the answer follows the view's name.
      get: async () => ({ name: view.name, help: view.help, type, aggregator: 'sum', values: samples() }),
      reset: () => this.reset(),
    };
    return view as unknown as Metric;
  }
}
