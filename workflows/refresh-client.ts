import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  proxyLocalActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, MetaFailureDetails, RefreshInsightsInput, RefreshInsightsResult } from '../activities';
import { FAILURE_TYPES } from '../src/domain/vocabulary';
import { MAX_WAIT_IN_REFRESH_MS, RefreshClientInput, RefreshClientResult, refreshRequestedSignal } from './definitions';

/**
 * The refresh and its record as local activities: they run in the workflow's own task, so a
 * client's refresh costs a handful of history events instead of two scheduled activities and
 * their tasks. Meta's waits are never spent inside them: `refreshStep` hands a throttle back and
 * the workflow sleeps it on a durable timer. Transient errors retry locally (2 s doubling).
 */
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15m',
  scheduleToCloseTimeout: '2h',
  // Retries whose backoff passes this become durable timers instead of in-worker sleeps.
  localRetryThreshold: '10s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 6 },
});

const localRecord = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30s',
  localRetryThreshold: '10s',
  // Generous: a Postgres restart must not lose the record of a refresh that happened.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

/** Throttle waits a refresh sleeps out before it gives up for this cycle (as the server retried 6 times). */
const MAX_THROTTLE_WAITS = 5;

/** A Meta failure handed back by a local step, turned into the refresh's failed result. */
class StepFailure extends Error {
  constructor(
    readonly step: {
      errorCode: string;
      errorType?: string;
      message: string;
      attempt: number;
      appThrottledForMs?: number;
    },
  ) {
    super(step.message);
  }
}

/** A platform retry Meta asks to wait longer for is left to the next cycle. */
const MAX_PLATFORM_RETRY_WAIT_MS = MAX_WAIT_IN_REFRESH_MS;

/**
 * Rounds after the first fetch, for days asked for by `refreshRequested` signals (a read's
 * missing days, a backfill), Instagram days deferred near the account's budget, and a backfill
 * after Instagram came back; days still left go to a continued run or the next request.
 */
const MAX_EXTRA_ROUNDS = 10;

/**
 * Refreshes one client's recent days. Its workflow id is per client, so scheduled and
 * on-demand refreshes of one client never run at once; on-demand requests that arrive while it
 * runs are folded into it.
 */
export async function refreshClient(input: RefreshClientInput): Promise<RefreshClientResult> {
  let coalescedRequests = 0;
  const requestedDays = new Set<string>();
  setHandler(refreshRequestedSignal, (request) => {
    coalescedRequests += 1;
    for (const day of request?.days ?? []) requestedDays.add(day);
  });
  const takeRequested = (): string[] => {
    const days = [...requestedDays].sort();
    requestedDays.clear();
    return days;
  };
  const startedAt = Date.now();
  /**
   * Set when a step recorded the refresh's outcome (it does when nothing follows the fetch, so a
   * common refresh is one local activity): the workflow's own record is then left out.
   */
  let recordedByStep = false;
  /** One fetch: a local step whose throttles the workflow sleeps out on durable timers. */
  const refreshInsights = async (args: RefreshInsightsInput): Promise<RefreshInsightsResult> => {
    for (let waits = 0; ; waits++) {
      // Days signalled meanwhile (during a throttle's timer) mean more rounds: the step then records nothing.
      const { record, ...rest } = args;
      const step = await local.refreshStep({
        ...rest,
        attemptOffset: waits,
        ...(record && requestedDays.size === 0 ? { record } : {}),
      });
      if (step.kind === 'done') {
        if (step.recorded) recordedByStep = true;
        return step.result;
      }
      if (step.kind === 'failed' || waits >= MAX_THROTTLE_WAITS || step.afterMs > MAX_PLATFORM_RETRY_WAIT_MS)
        throw new StepFailure(step);
      await sleep(step.afterMs);
    }
  };
  let result: RefreshClientResult;
  // Attempts spent before a platform retry, so a failed retry still counts them.
  let attemptsBefore = 0;
  try {
    // Facebook and Instagram are written as they come; only a platform that failed alone is
    // fetched again, after Meta's estimate, so the other platform's quota is not spent again.
    const firstDays = [...new Set([...(input.days ?? []), ...takeRequested()])].sort();
    const args = {
      clientId: input.clientId,
      lookbackDays: input.lookbackDays,
      perPlatform: true,
      cycleId: input.cycleId,
      trigger: input.trigger,
      ...(firstDays.length ? { days: firstDays } : {}),
    };
    // The execution's start time is the same in every attempt of its first task (a run's own start
    // time is not); days asked for, or a continued run, are fetched whatever was written before.
    const guard = !firstDays.length && workflowInfo().continuedFromExecutionRunId === undefined;
    const record = {
      cycleId: input.cycleId ?? null,
      trigger: input.trigger,
      workflowId: workflowInfo().workflowId,
      temporalRunId: workflowInfo().runId,
      startedAt: new Date(startedAt).toISOString(),
      // A step longer than this may have outlived a workflow-task heartbeat (at 80% of the
      // task timeout), which delivers signals mid-step whose days add rounds: it records nothing.
      withinMs: Math.floor(workflowInfo().taskTimeoutMs / 2),
    };
    let fetched = await refreshInsights(
      guard ? { ...args, record, runStartedAt: workflowInfo().startTime.toISOString() } : { ...args, record },
    );
    let attempts = fetched.attempt;
    if (fetched.retry && fetched.retry.afterMs <= MAX_PLATFORM_RETRY_WAIT_MS) {
      attemptsBefore = attempts;
      await sleep(fetched.retry.afterMs);
      // The platform's retry records too when it ends the refresh, counting the first fetch's attempts.
      fetched = await refreshInsights({
        ...args,
        platforms: fetched.retry.platforms,
        // Only the days each platform still owes: a day answered before the error is not asked again.
        ...(fetched.retry.platformDays ? { platformDays: fetched.retry.platformDays } : {}),
        round: 2,
        record: { ...record, attemptsBefore },
      });
      attempts += fetched.attempt;
    } else if (fetched.retry) {
      fetched = { ...fetched, outcome: 'failed', errorCode: fetched.retry.errorCode, message: fetched.retry.message };
    }
    // More rounds while days are asked for: requested while the fetch ran, deferred by Instagram's budget, or a backfill.
    let outcome = fetched;
    for (let round = 0; round < MAX_EXTRA_ROUNDS; round++) {
      const waitMs = outcome.deferred?.afterMs ?? 0;
      for (const day of [...(outcome.deferred?.days ?? []), ...(outcome.followUpDays ?? [])]) requestedDays.add(day);
      if (requestedDays.size === 0) break;
      // Not met while a step records only when no days are pending; were it met, the workflow records itself.
      recordedByStep = false;
      if (waitMs > MAX_PLATFORM_RETRY_WAIT_MS) {
        // Meta asks for a long wait: the deferred days are left to a later request, not to a continued run.
        for (const day of outcome.deferred?.days ?? []) requestedDays.delete(day);
        break;
      }
      if (waitMs > 0) await sleep(waitMs);
      attemptsBefore = attempts;
      outcome = await refreshInsights({
        clientId: input.clientId,
        lookbackDays: 0,
        perPlatform: true,
        days: takeRequested(),
      });
      attempts += outcome.attempt;
      if (outcome.retry) {
        // A platform throttled in a later round: its days wait for the next request or cycle.
        outcome = { ...outcome, deferred: undefined };
      }
      if (fetched.outcome === 'refreshed' && outcome.outcome !== 'refreshed')
        fetched = { ...outcome, attempt: fetched.attempt };
      else
        fetched = {
          ...fetched,
          appPercent: outcome.appPercent ?? fetched.appPercent,
          appThrottledForMs: outcome.appThrottledForMs,
        };
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
    if (err instanceof StepFailure) {
      const { step } = err;
      result = {
        clientId: input.clientId,
        outcome: 'failed',
        errorCode: step.errorCode,
        errorType: step.errorType ?? FAILURE_TYPES.throttled,
        message: step.message,
        attempts: attemptsBefore + step.attempt,
        durationMs: Date.now() - startedAt,
        appThrottledForMs: step.appThrottledForMs,
        coalescedRequests,
      };
      return await finish(result);
    }
    if (!(err instanceof ActivityFailure)) throw err;
    // A step's error its local retries did not mend (5xx, timeouts, Postgres away): Meta's arrive as
    // ApplicationFailures with details, timeouts and crashes as other failures.
    const failure = err.cause;
    const details =
      failure instanceof ApplicationFailure ? (failure.details?.[0] as MetaFailureDetails | undefined) : undefined;
    const errorType =
      failure instanceof ApplicationFailure
        ? (failure.type ?? 'ApplicationFailure')
        : (failure?.name ?? 'ActivityFailure');
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
  return await finish(result);

  /** Records the outcome (replacing the cycle's `running` or `pending` row) and ends, or continues with days asked meanwhile. */
  async function finish(result: RefreshClientResult): Promise<RefreshClientResult> {
    // A step records only an outcome nothing came after (no retry, no more days): it is this one.
    if (!recordedByStep)
      await localRecord.recordClientResults([
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
    // Days asked for while the result was being recorded are fetched by a continued run of the same id.
    if (requestedDays.size > 0 && result.outcome === 'refreshed') {
      await continueAsNew<typeof refreshClient>({
        ...input,
        lookbackDays: 0,
        days: takeRequested(),
        cycleId: undefined,
      });
    }
    return result;
  }
}
