import type { Context } from 'koa';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

/** The API's Prometheus metrics, in a registry of its own so several apps can share a process. */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'social_media_cache_api_' });
  const requests = new RequestMetrics(registry);
  // Counted in plain numbers on every read, handed to prom-client when scraped.
  const readsBySource = { cache: 0, 'stale-cache': 0, empty: 0 };
  new Counter({
    name: 'social_media_cache_reads_total',
    help: 'Cached days served, by freshness (cache = fresh, stale-cache, empty)',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [source, count] of Object.entries(readsBySource)) this.inc({ source }, count);
    },
  });
  const refreshRequests = new Counter({
    name: 'social_media_cache_refresh_requests_total',
    help: 'Refresh requests made by reads and admins, by outcome (started = a refresh was started)',
    labelNames: ['status'] as const,
    registers: [registry],
  });

  /** Counts and times a finished request under the route pattern it matched (never the raw path). */
  const observe = (ctx: Context, startedAt: number): void => {
    const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
    requests.observe(ctx.method, route, ctx.status, (performance.now() - startedAt) / 1000);
  };

  /** Counts one day served, by freshness. */
  const cacheRead = (source: keyof typeof readsBySource): void => {
    readsBySource[source]++;
  };

  return { registry, observe, cacheRead, refreshRequests };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface RouteSeries {
  method: string;
  route: string;
  /** Observations per bucket (not cumulative), the last one for +Inf. */
  buckets: number[];
  sum: number;
  count: number;
  byStatus: Map<number, number>;
}

/**
 * `http_requests_total` and `http_request_duration_seconds`, counted in plain numbers on every
 * request and turned into Prometheus series only when scraped: prom-client's labelled
 * observations hash their label set on every call, which cost more than the whole fresh read.
 */
class RequestMetrics {
  private readonly series = new Map<string, RouteSeries>();

  constructor(registry: Registry) {
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => unknown[]) => ({
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    });
    registry.registerMetric(
      metric('http_requests_total', 'HTTP requests by method, route and status', 'counter', () =>
        [...this.series.values()].flatMap(({ method, route, byStatus }) =>
          [...byStatus].map(([status, value]) => ({ labels: { method, route, status: String(status) }, value })),
        ),
      ) as never,
    );
    registry.registerMetric(
      metric('http_request_duration_seconds', 'HTTP request latency by method and route', 'histogram', () =>
        [...this.series.values()].flatMap(({ method, route, buckets, sum, count }) => {
          let cumulative = 0;
          return [
            ...buckets.map((n, i) => {
              cumulative += n;
              const le = i < BUCKETS.length ? BUCKETS[i] : '+Inf';
              return {
                metricName: 'http_request_duration_seconds_bucket',
                labels: { le, method, route },
                value: cumulative,
              };
            }),
            { metricName: 'http_request_duration_seconds_sum', labels: { method, route }, value: sum },
            { metricName: 'http_request_duration_seconds_count', labels: { method, route }, value: count },
          ];
        }),
      ) as never,
    );
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    let series = this.series.get(key);
    if (!series)
      this.series.set(
        key,
        (series = {
          method,
          route,
          buckets: new Array<number>(BUCKETS.length + 1).fill(0),
          sum: 0,
          count: 0,
          byStatus: new Map(),
        }),
      );
    let bucket = 0;
    while (bucket < BUCKETS.length && seconds > BUCKETS[bucket]) bucket++;
    series.buckets[bucket]++;
    series.sum += seconds;
    series.count++;
    series.byStatus.set(status, (series.byStatus.get(status) ?? 0) + 1);
  }
}
