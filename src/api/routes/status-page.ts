import { renderStatusPage, StatusPageModel } from '../status-page';
import type { RouteContext, RouteDef } from './types';

/** The operator's HTML status page. */
export function statusPageRoutes({ config, clients, refresh, reader, refreshStatus, demo }: RouteContext): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/status',
      summary: "Status page (HTML, admin): each client's freshness, last refresh and token; the running cycle; the next one",
      access: 'admin',
      html: true,
      responses: { 200: 'an HTML page' },
      handler: async (ctx) => {
        const [status, list, results] = await Promise.all([refreshStatus(), clients.list(), refresh.latestResultPerClient()]);
        const lastByClient = new Map(results.map((r) => [r.clientId, r]));
        const running = status.running;
        const model: StatusPageModel = {
          generatedAt: new Date().toISOString(),
          demo: !!demo,
          temporalUiUrl: config.temporal.uiUrl,
          namespace: config.temporal.namespace,
          temporal: status.temporal,
          nextRunAt: status.nextRunAt,
          schedulePaused: status.schedule?.paused ?? null,
          running: running
            ? { workflowId: running.workflowId, total: running.total, done: running.done, failed: running.failed, currentClientId: running.currentClientId }
            : null,
          lastCycle: status.lastCycle,
          clients: await Promise.all(
            list.map(async (client) => {
              const read = await reader.readDay(client, reader.today(client));
              const last = lastByClient.get(client.id);
              return {
                id: client.id,
                name: client.name,
                tokenStatus: client.tokenStatus,
                tokenError: client.tokenError,
                instagramStatus: client.instagramStatus,
                period: read.period,
                freshness: read.source === 'cache' ? 'fresh' : read.source === 'stale-cache' ? 'stale' : 'empty',
                cacheAgeMs: read.data.cacheAge,
                lastResult: last
                  ? { outcome: last.outcome, errorCode: last.errorCode, errorMessage: last.errorMessage, at: (last.finishedAt ?? last.startedAt).toISOString() }
                  : null,
              } satisfies StatusPageModel['clients'][number];
            }),
          ),
        };
        ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
        ctx.set('Cache-Control', 'no-store');
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = renderStatusPage(model);
      },
    },
  ];
}
