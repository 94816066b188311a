/** A refresh's row in its cycle: the outcome it reports, or `pending` while Meta makes it wait. */

import { Context } from '@temporalio/activity';
import { isLongWait } from '../src/domain/retry';
import type { EventStore } from '../src/stores/events';
import type { RefreshStore } from '../src/stores/refresh';
import type { ClientResultInput, RefreshInsightsInput } from './types';

/**
 * Records the results, then the failing streaks they start or end (`client.failing` after
 * `failingAfter` failed refreshes in a row, `client.recovered`).
 */
export async function recordClientResults(
  refresh: RefreshStore,
  results: ClientResultInput[],
  streaks?: { events: EventStore; failingAfter: number },
): Promise<void> {
  await refresh.recordResults(
    results.map((r) => ({
      cycleId: r.cycleId,
      clientId: r.clientId,
      workflowId: r.workflowId,
      trigger: r.trigger,
      outcome: r.outcome,
      errorCode: r.errorCode ?? null,
      errorMessage: r.errorMessage ?? null,
      attempts: r.attempts,
      startedAt: new Date(r.startedAt),
      durationMs: r.durationMs ?? null,
      temporalRunId: r.temporalRunId ?? null,
    })),
  );
  const finished = results.filter((r) => r.outcome !== 'running' && r.outcome !== 'pending').map((r) => r.clientId);
  if (streaks && finished.length) await streaks.events.recordStreaks(finished, streaks.failingAfter);
}

/**
 * Tells the refresh's cycle that it waits on Meta for `waitMs`: the client is `pending` there
 * until the refresh records its outcome, so the cycle ends without waiting for it.
 */
export async function recordPendingIfLong(
  refresh: RefreshStore,
  input: RefreshInsightsInput,
  waitMs: number,
  code: string,
): Promise<void> {
  const { workflowExecution, attempt } = Context.current().info;
  if (!input.cycleId || !workflowExecution || !isLongWait(waitMs)) return;
  await refresh.recordResults([
    {
      cycleId: input.cycleId,
      clientId: input.clientId,
      workflowId: workflowExecution.workflowId,
      trigger: input.trigger ?? 'schedule',
      outcome: 'pending',
      errorCode: code,
      errorMessage: `Meta asked to wait ${Math.ceil(waitMs / 60_000)} min; the result lands when the refresh ends`,
      attempts: attempt,
      startedAt: new Date(),
      durationMs: null,
      temporalRunId: workflowExecution.runId,
    },
  ]);
}
