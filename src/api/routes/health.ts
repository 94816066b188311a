import { pingDatabase } from '../../db';
import { pingTemporal } from '../../temporal/client';
import { reuseFor } from '../support/reuse';
import { defineRoute } from './types';
import type { RouteContext, RouteDef } from './types';

/** How long `/readyz` reuses its answer. */
export const READINESS_TTL_MS = 1_000;

/** Liveness, readiness and metrics: public, and they say nothing about the internals. */
export function healthRoutes({ db, temporal, metrics, logger }: RouteContext): RouteDef[] {
  // Public, so anyone may call it in a loop: the checks and their log lines run at most once per
  // window, however many probes come. A change of state shows within the window.
  const readiness = reuseFor(READINESS_TTL_MS, async () => {
    const [postgres, temporalCheck] = await Promise.all([pingDatabase(db), pingTemporal(temporal)]);
    // A driver's message names hosts and users, so it goes to the log only.
    for (const [name, check] of [
      ['postgres', postgres],
      ['temporal', temporalCheck],
    ] as const) {
      if (!check.ok)
        logger.warn({ dependency: name, error: check.error, latencyMs: check.latencyMs }, `readiness: ${name} is down`);
    }
    return {
      ready: postgres.ok,
      body: {
        status: postgres.ok ? 'ready' : 'unavailable',
        checks: { postgres: postgres.ok ? 'up' : 'down', temporal: temporalCheck.ok ? 'up' : 'down' },
      },
    };
  });
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      summary: 'The process is up',
      access: 'public',
      responses: { 200: 'up' },
      handler: (ctx) => {
        ctx.body = { status: 'ok' };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      summary:
        'Ready to serve reads: 503 when Postgres is unreachable; Temporal is reported (`up`/`down`) but optional. The answer is reused for a second',
      access: 'public',
      responses: { 200: 'ready', 503: 'Postgres unreachable' },
      handler: async (ctx) => {
        const { ready, body } = await readiness();
        ctx.status = ready ? 200 : 503;
        ctx.set('Cache-Control', 'no-store');
        ctx.body = body;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      access: 'public',
      responses: { 200: 'metrics in the Prometheus text format' },
      handler: async (ctx) => {
        ctx.type = metrics.registry.contentType;
        ctx.body = await metrics.registry.metrics();
      },
    }),
  ];
}
