import { METRIC_SOURCES, METRICS, isMetricName } from '../../domain/vocabulary';
import { conflict, notFound } from '../errors';
import * as schemas from '../schemas';
import { defineRoute } from './types';
import type { RouteContext, RouteDef } from './types';

/** The metric catalogue as the API serves it, and the operator's re-enabling of a retired metric. */
export function metricRoutes(context: RouteContext): RouteDef[] {
  const { catalogue, metricStore } = context;
  return [
    defineRoute({
      method: 'get',
      path: '/api/metrics',
      summary:
        'Every metric of the catalogue: its platform, kind, Graph request and sources, whether this deployment keeps it (METRICS), and whether Meta retired it for the fleet',
      access: 'read',
      responses: { 200: 'the catalogue' },
      handler: async (ctx) => {
        const { shown, retired } = await catalogue.get();
        ctx.body = {
          success: true,
          data: METRICS.map((metric) => {
            const seam = retired.get(metric.name);
            return {
              name: metric.name,
              platform: metric.platform,
              label: metric.label,
              kind: metric.kind,
              core: metric.core,
              inReportSet: metric.report,
              enabled: shown.includes(metric.name),
              status: seam ? 'retired' : 'active',
              ...(seam
                ? {
                    since: seam.since,
                    retiredAt: seam.retiredAt,
                    replacedBy: seam.replacedBy,
                    clients: seam.clients,
                    metaError: { code: seam.errorCode, message: seam.errorMessage },
                  }
                : {}),
              graph: metric.graph,
              historyDays: metric.historyDays,
              evidence: metric.evidence,
              source: METRIC_SOURCES[metric.source],
            };
          }),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/metrics/:name/restore',
      summary:
        'Admin: ask a metric the fleet found retired again from the next refresh (Meta sometimes restores one); it takes new refusals to retire it again',
      access: 'admin',
      params: schemas.metricParams,
      responses: {
        200: 'restored',
        404: 'no metric of that name (`metric_not_found`)',
        409: 'the metric is not retired (`metric_not_retired`)',
      },
      handler: async (ctx) => {
        const { name } = ctx.state.params;
        if (!isMetricName(name)) throw notFound('metric_not_found', `no metric named ${name} in the catalogue`);
        if (!(await metricStore.restore(name)))
          throw conflict('metric_not_retired', `${name} is not retired; nothing to restore`);
        catalogue.invalidate();
        context.logger.info({ metric: name }, 'an operator restored a retired metric');
        ctx.body = { success: true, data: { name, status: 'active' } };
      },
    }),
  ];
}
