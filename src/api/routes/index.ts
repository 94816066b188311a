import { createStores } from '../../stores';
import { requestRefresh } from '../../temporal/request-refresh';
import { TASK_QUEUE } from '../../../workflows/definitions';
import { CacheReader } from '../cache-reader';
import { clientNotFound } from '../errors';
import { FreshAnswers } from '../support/http-cache';
import { MetricCatalogue } from '../support/metric-catalogue';
import { createRefreshStatus } from '../support/refresh-status';
import { cacheRoutes } from './cache';
import { clientRoutes } from './clients';
import { healthRoutes } from './health';
import { alertRoutes } from './alerts';
import { metricRoutes } from './metrics';
import { refreshRoutes } from './refresh';
import { statusPageRoutes } from './status-page';
import type { RouteContext, RouteDef, RouteDeps } from './types';

export type { RouteDef, RouteDeps } from './types';

/** Every route the API serves, from one module per area over shared stores and services. */
export function createRoutes(deps: RouteDeps): { routes: RouteDef[]; reader: CacheReader } {
  const { config, temporal, logger, metrics } = deps;
  const taskQueue = deps.taskQueue ?? TASK_QUEUE;
  const {
    clients,
    cache,
    refresh,
    holds,
    metrics: metricStore,
    alerts,
    events,
  } = createStores(deps.db, deps.tokenKeys);
  const catalogue = new MetricCatalogue(metricStore, config.metrics, logger);
  const refreshDeps = {
    temporal,
    clients,
    cooldownMs: config.refresh.cooldownMs,
    lookbackDays: config.refresh.lookbackDays,
    logger,
    taskQueue,
  };
  const ask = async (clientId: string, options?: { force?: boolean; days?: string[] }) => {
    const result = await requestRefresh(refreshDeps, clientId, options);
    metrics.refreshRequests.inc({ status: result.status });
    return result;
  };
  const reader = new CacheReader({
    clients,
    cache,
    ttlMs: config.cacheTtlMs,
    lookbackDays: config.refresh.lookbackDays,
    logger,
    requestRefresh: (clientId, options) => ask(clientId, options),
    catalogue,
  });
  const answers = new FreshAnswers();

  const context: RouteContext = {
    ...deps,
    taskQueue,
    clients,
    cache,
    refresh,
    holds,
    metricStore,
    alerts,
    events,
    catalogue,
    reader,
    answers,
    refreshStatus: createRefreshStatus({ temporal, refresh, logger }),
    requestRefresh: ask,
    async clientOr404(clientId) {
      const client = await reader.client(clientId);
      if (!client) throw clientNotFound(clientId);
      return client;
    },
    invalidate(clientId) {
      reader.invalidate(clientId);
      answers.invalidate(clientId);
    },
  };

  const routes = [
    ...healthRoutes(context),
    ...cacheRoutes(context),
    ...refreshRoutes(context),
    ...clientRoutes(context),
    ...metricRoutes(context),
    ...alertRoutes(context),
    ...statusPageRoutes(context),
  ];
  return { routes, reader };
}
