/**
 * The worker's activities, wired over their dependencies: the cycle's bookkeeping (cycle.ts),
 * the refresh results (records.ts) and one client's refresh (refresh.ts, run by the two
 * activities of refresh-activities.ts). The worker registers the returned object.
 */

import { CORE_METRICS } from '../src/domain/vocabulary';
import { DEFAULT_DISABLE_AFTER_MS, DEFAULT_WEBHOOK_TIMEOUT_MS } from '../src/domain/alerts';
import { DEFAULT_FAILING_AFTER } from '../src/domain/events';
import { alertActivities, type AlertSettings } from './alerts';
import { cycleActivities } from './cycle';
import { recordClientResults as writeResults } from './records';
import { refreshClientInsights as runInsights, refreshStep as runStep } from './refresh-activities';
import { activityStores } from './stores';
import type { RefreshDeps } from './outcome';
import type {
  ActivityDeps,
  ClientResultInput,
  RefreshInsightsInput,
  RefreshInsightsResult,
  RefreshStep,
} from './types';

export type * from './types';
export type { ClientsPage } from './cycle';

/** Without settings (tests of the refresh alone): https to public addresses only, the default timeout and threshold, no e-mail. */
const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  policy: { allowInsecure: false, allowPrivate: false },
  timeoutMs: DEFAULT_WEBHOOK_TIMEOUT_MS,
  disableAfterMs: DEFAULT_DISABLE_AFTER_MS,
};

export function createActivities({
  db,
  logger,
  meta,
  tokenKeys,
  throttleBackoffMs = 2 * 60_000,
  heartbeatIntervalMs = 5_000,
  backfillDays = 30,
  metrics = CORE_METRICS,
  retireAfterClients,
  failingAfter = DEFAULT_FAILING_AFTER,
  alerts = DEFAULT_ALERT_SETTINGS,
}: ActivityDeps) {
  const stores = activityStores({ db, tokenKeys, retireAfterClients });
  const refreshDeps: RefreshDeps = {
    logger,
    meta,
    stores,
    throttleBackoffMs,
    heartbeatIntervalMs,
    backfillDays,
    metrics,
  };
  return {
    ...cycleActivities(db, stores),
    ...alertActivities(stores.alerts, alerts, logger),
    async recordClientResults(results: ClientResultInput[]): Promise<void> {
      await writeResults(stores.refresh, results, { events: stores.events, failingAfter });
    },
    /** One client's refresh as a regular activity: a refusal is an ApplicationFailure (see refresh-activities.ts). */
    async refreshClientInsights(input: RefreshInsightsInput): Promise<RefreshInsightsResult> {
      return runInsights(refreshDeps, input);
    },
    /** One client's refresh as a workflow's local step: the outcome as a value (see refresh-activities.ts). */
    async refreshStep(input: RefreshInsightsInput): Promise<RefreshStep> {
      return runStep(refreshDeps, input);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
