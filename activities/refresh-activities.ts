/**
 * The two activities that run a refresh (refresh.ts), each saying its outcome in its own terms:
 * `refreshClientInsights` as a regular activity (a refusal is an ApplicationFailure), and
 * `refreshStep` as a workflow's local step (the outcome as a value).
 */

import { Context } from '@temporalio/activity';
import { recordClientResults } from './records';
import { refreshClient } from './refresh';
import { asApplicationFailure, type RefreshDeps } from './outcome';
import type { RefreshInsightsInput, RefreshInsightsResult, RefreshStep } from './types';

/**
 * Fetches today and the days before from Meta and writes them under the last-known-good
 * rule. Meta's errors become ApplicationFailures named after the error class: throttling
 * carries Meta's estimate as `nextRetryDelay`; token and permission errors mark the client
 * and are not retried. The token is read here and goes nowhere else.
 */
export async function refreshClientInsights(
  deps: RefreshDeps,
  input: RefreshInsightsInput,
): Promise<RefreshInsightsResult> {
  const outcome = await refreshClient(deps, input);
  if (outcome.kind === 'done') return outcome.result;
  throw asApplicationFailure(outcome);
}

/**
 * One refresh as a local activity runs it: Meta's errors come back as values instead of
 * failures, so the workflow waits out a throttle on a durable timer (a local activity would
 * hold its workflow task for the wait) and records the outcome itself. Errors retrying may
 * mend soon (a 5xx, a timeout, Postgres away) still throw, for the local retry policy.
 */
export async function refreshStep(deps: RefreshDeps, input: RefreshInsightsInput): Promise<RefreshStep> {
  // Signals that reach a workflow while its first task runs make the server refuse that task's
  // completion, and the task runs again with its local steps: the step finds the numbers it
  // wrote a moment ago instead of spending the client's quota on the same fetch.
  if (input.runStartedAt) {
    const fetchedAt = await deps.stores.cache.lastFetchedAt(input.clientId);
    if (fetchedAt && fetchedAt.getTime() >= Date.parse(input.runStartedAt)) {
      return {
        kind: 'done',
        result: { outcome: 'refreshed', attempt: Context.current().info.attempt, daysWritten: 0, calls: 0 },
      };
    }
  }
  // From the step's first scheduling (a wait for a slot and in-worker retries included), which
  // follows its workflow task's start by the activation's time.
  const { scheduledTimestampMs } = Context.current().info;
  const { record, ...insightsInput } = input;
  const outcome = await refreshClient(deps, insightsInput);
  if (outcome.kind === 'wait') {
    const { afterMs, errorCode, message, attempt, appThrottledForMs } = outcome;
    return { kind: 'wait', afterMs, errorCode, message, attempt, appThrottledForMs };
  }
  if (outcome.kind === 'failed') {
    const { errorCode, errorType, message, attempt, appThrottledForMs } = outcome;
    return { kind: 'failed', errorCode, errorType, message, attempt, appThrottledForMs };
  }
  const { result } = outcome;
  if (
    !record ||
    result.retry ||
    result.deferred ||
    result.followUpDays ||
    Date.now() - scheduledTimestampMs >= record.withinMs
  )
    return { kind: 'done', result };
  await recordClientResults(deps.stores.refresh, [
    {
      cycleId: record.cycleId,
      clientId: input.clientId,
      workflowId: record.workflowId,
      trigger: record.trigger,
      outcome: result.outcome,
      errorCode: result.errorCode,
      errorMessage: result.message,
      attempts: (record.attemptsBefore ?? 0) + result.attempt,
      startedAt: record.startedAt,
      durationMs: Date.now() - Date.parse(record.startedAt),
      temporalRunId: record.temporalRunId,
    },
  ]);
  return { kind: 'done', result, recorded: true };
}
