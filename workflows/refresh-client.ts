import { ActivityFailure, ApplicationFailure, patched, proxyActivities, setHandler, sleep, TimeoutFailure, workflowInfo } from '@temporalio/workflow';
import type { Activities, MetaFailureDetails, RefreshInsightsResult } from '../activities';
import { RefreshClientInput, RefreshClientResult, refreshRequestedSignal } from './definitions';

/** Meta's answers decide retries: see design.md §4 and activities' ApplicationFailure types. */
const { refreshClientInsights } = proxyActivities<Activities>({
  // Up to ~2 + lookback days Graph calls, each bounded by META_TIMEOUT; the heartbeat notices a dead worker sooner.
  startToCloseTimeout: '15m',
  heartbeatTimeout: '30s',
  // Meta may ask us to wait up to an hour; beyond that the next cycle will try again.
  scheduleToCloseTimeout: '2h',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    maximumAttempts: 6,
    nonRetryableErrorTypes: ['MetaTokenInvalidError', 'MetaPermissionError', 'MetaBadRequestError'],
  },
});

const { recordClientResults } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  // Generous: a Postgres restart must not lose the record of a refresh that happened.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

/**
 * Refreshes written before this change fetched both platforms in one activity and let any
 * failure retry both; with it, a platform that failed alone is retried alone after a timer.
 */
export const PER_PLATFORM_PATCH = 'refresh-client-per-platform';

/** A platform retry Meta asks to wait longer for is left to the next cycle. */
const MAX_PLATFORM_RETRY_WAIT_MS = 60 * 60_000;

/**
 * Refreshes one client's recent days. Its workflow id is per client, so scheduled and
 * on-demand refreshes of one client never run at once; on-demand requests that arrive while it
 * runs are folded into it.
 */
export async function refreshClient(input: RefreshClientInput): Promise<RefreshClientResult> {
  let coalescedRequests = 0;
  setHandler(refreshRequestedSignal, () => {
    coalescedRequests += 1;
  });
  const startedAt = Date.now();
  let result: RefreshClientResult;
  // Attempts spent before a platform retry, so a failed retry still counts them.
  let attemptsBefore = 0;
  try {
    let fetched: RefreshInsightsResult;
    let attempts: number;
    if (patched(PER_PLATFORM_PATCH)) {
      // Facebook and Instagram are written as they come; only a platform that failed alone is
      // fetched again, after Meta's estimate, so the other platform's quota is not spent again.
      const args = { clientId: input.clientId, lookbackDays: input.lookbackDays, perPlatform: true, cycleId: input.cycleId, trigger: input.trigger };
      fetched = await refreshClientInsights(args);
      attempts = fetched.attempt;
      if (fetched.retry && fetched.retry.afterMs <= MAX_PLATFORM_RETRY_WAIT_MS) {
        attemptsBefore = attempts;
        await sleep(fetched.retry.afterMs);
        fetched = await refreshClientInsights({ ...args, platforms: fetched.retry.platforms, round: 2 });
        attempts += fetched.attempt;
      } else if (fetched.retry) {
        fetched = { ...fetched, outcome: 'failed', errorCode: fetched.retry.errorCode, message: fetched.retry.message };
      }
    } else {
      fetched = await refreshClientInsights({ clientId: input.clientId, lookbackDays: input.lookbackDays });
      attempts = fetched.attempt;
    }
    result = {
      clientId: input.clientId,
      outcome: fetched.outcome,
      errorCode: fetched.errorCode,
      message: fetched.message,
      attempts,
      durationMs: Date.now() - startedAt,
      appPercent: fetched.appPercent,
      appThrottledForMs: fetched.appThrottledForMs,
      coalescedRequests,
    };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    // Meta's errors arrive as ApplicationFailures with details; timeouts and crashes as other failures.
    const failure = err.cause;
    const details = failure instanceof ApplicationFailure ? (failure.details?.[0] as MetaFailureDetails | undefined) : undefined;
    const errorType = failure instanceof ApplicationFailure ? (failure.type ?? 'ApplicationFailure') : (failure?.name ?? 'ActivityFailure');
    result = {
      clientId: input.clientId,
      outcome: 'failed',
      errorCode: details?.code ?? (failure instanceof TimeoutFailure ? 'timeout' : errorType),
      errorType,
      message: failure?.message ?? err.message,
      attempts: attemptsBefore + (details?.attempt ?? 1),
      durationMs: Date.now() - startedAt,
      appThrottledForMs: details?.appThrottledForMs,
      coalescedRequests,
    };
  }
  await recordClientResults([
    {
      cycleId: input.cycleId ?? null,
      clientId: input.clientId,
      workflowId: workflowInfo().workflowId,
      trigger: input.trigger,
      outcome: result.outcome,
      errorCode: result.errorCode,
      errorMessage: result.message,
      attempts: result.attempts,
      startedAt: new Date(startedAt).toISOString(),
      durationMs: result.durationMs,
      temporalRunId: workflowInfo().runId,
    },
  ]);
  result.coalescedRequests = coalescedRequests;
  return result;
}
