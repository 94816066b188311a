import { Client, WorkflowNotFoundError } from '@temporalio/client';
import type { CycleStatus } from '../domain/refresh';
import type { Logger } from '../boot/logger';
import type { RefreshStore } from '../stores/refresh';

/** How a closed workflow's status reads as a cycle's. */
const CLOSED_AS: Record<string, Exclude<CycleStatus, 'running'>> = {
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
};

/**
 * Closes cycle rows whose workflow is no longer running (terminated, timed out, failed before
 * it could record its end): their status becomes the workflow's, their totals are counted from
 * their results, so the status shows them as the last cycle instead of one running forever.
 * Safe from several workers at once: a row is closed only while it is still `running`.
 */
export async function reconcileCycles(deps: {
  temporal: Client;
  refresh: RefreshStore;
  logger: Logger;
}): Promise<number> {
  let closed = 0;
  for (const cycle of await deps.refresh.runningCycles()) {
    let status: Exclude<CycleStatus, 'running'>;
    let error: string;
    try {
      const described = await deps.temporal.workflow.getHandle(cycle.workflowId).describe();
      if (described.status.name === 'RUNNING' || described.status.name === 'CONTINUED_AS_NEW') continue;
      status = CLOSED_AS[described.status.name] ?? 'failed';
      error = `the cycle's workflow ended ${described.status.name.toLowerCase()} without recording its end`;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      status = 'failed';
      error = 'the cycle’s workflow is unknown to Temporal (its history was removed)';
    }
    const totals = await deps.refresh.finishCycle(cycle.id, status, { error });
    deps.logger.warn({ workflowId: cycle.workflowId, status, totals }, 'reconciled a cycle left running');
    closed += 1;
  }
  return closed;
}

/** Reconciles now and every `everyMs` until the returned stop function is called. */
export function reconcileCyclesPeriodically(
  deps: Parameters<typeof reconcileCycles>[0],
  everyMs = 5 * 60_000,
): () => void {
  const run = () =>
    reconcileCycles(deps).catch((err: unknown) => {
      deps.logger.warn({ err }, 'could not reconcile cycles; trying again later');
    });
  void run();
  const timer = setInterval(run, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
