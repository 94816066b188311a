import type { Middleware } from 'koa';
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
  const cacheReads = new Counter({
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

  /**
   * Counts and times every request under the route pattern it matched (never the raw path),
   * when the response is sent, so the status is the one the error middleware settled on.
   */
  const middleware: Middleware = async (ctx, next) => {
    const start = process.hrtime.bigint();
    ctx.res.once('finish', () => {
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      requests.inc({ method: ctx.method, route, status: String(ctx.status) });
      duration.observe({ method: ctx.method, route }, Number(process.hrtime.bigint() - start) / 1e9);
    });
    await next();
  };

  return { registry, middleware, cacheReads, refreshRequests };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
