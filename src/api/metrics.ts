import type { Context } from 'koa';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The API's Prometheus metrics, in a registry of its own so several apps can share a process. */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'social_media_cache_api_' });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const cacheReadsCounter = new Counter({
    name: 'social_media_cache_reads_total',
    help: 'Cached days served, by freshness (cache = fresh, stale-cache, empty)',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const refreshRequests = new Counter({
    name: 'social_media_cache_refresh_requests_total',
    help: 'Refresh requests made by reads and admins, by outcome (started = a refresh was started)',
    labelNames: ['status'] as const,
    registers: [registry],
  });

  // Label sets are few (routes × methods × statuses): their children are kept, since resolving
  // labels on every observation costs more than the observation itself.
  const requestChildren = new Map<string, ReturnType<typeof requests.labels>>();
  const durationChildren = new Map<string, ReturnType<typeof duration.labels>>();

  /** Counts and times a finished request under the route pattern it matched (never the raw path). */
  const observe = (ctx: Context, startedAt: bigint): void => {
    const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
    const status = String(ctx.status);
    const requestKey = `${ctx.method} ${route} ${status}`;
    let counter = requestChildren.get(requestKey);
    if (!counter) requestChildren.set(requestKey, (counter = requests.labels({ method: ctx.method, route, status })));
    counter.inc();
    const durationKey = `${ctx.method} ${route}`;
    let histogram = durationChildren.get(durationKey);
    if (!histogram) durationChildren.set(durationKey, (histogram = duration.labels({ method: ctx.method, route })));
    histogram.observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
  };

  const readsBySource = {
    cache: cacheReadsCounter.labels({ source: 'cache' }),
    'stale-cache': cacheReadsCounter.labels({ source: 'stale-cache' }),
    empty: cacheReadsCounter.labels({ source: 'empty' }),
  };
  /** Counts one day served, by freshness. */
  const cacheRead = (source: keyof typeof readsBySource): void => readsBySource[source].inc();

  return { registry, observe, cacheRead, refreshRequests };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
