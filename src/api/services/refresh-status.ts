import type { Client as TemporalClient } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { RefreshTotals } from '../../domain/refresh';
import type { Logger } from '../../logger';
import type { ClientStore } from '../../stores/clients';
import type { RefreshStore } from '../../stores/refresh';
import { findRunningCycle } from '../../temporal/cycles';
import { CycleProgress, progressQuery, REFRESH_SCHEDULE_ID } from '../../../workflows/definitions';

/** The running cycle as the status shows it. */
export type RunningCycle = CycleProgress & { workflowId: string };

/** The last cycle's summary and failures, the running cycle, the Schedule: what `GET …/refresh-social-media-cache` answers. */
export interface RefreshStatusView {
  lastCycle: ({
    workflowId: string;
    trigger: string;
    status: string;
    startedAt: string;
    finishedAt: string | null;
    failures: { clientId: string; clientName: string | null; errorCode: string | null; errorMessage: string | null; attempts: number }[];
  } & RefreshTotals) | null;
  running: RunningCycle | null;
  nextRunAt: string | null;
  schedule: { id: string; paused: boolean; intervalMs: number | null } | null;
  temporal: 'ok' | 'unavailable';
}

export type RefreshStatusService = () => Promise<RefreshStatusView>;

/**
 * Builds the refresh status from Postgres (cycles and results) and Temporal (the running cycle,
 * the Schedule). Temporal gets a few seconds at most: without it the status still answers.
 */
export function createRefreshStatus(deps: {
  temporal: TemporalClient;
  refresh: RefreshStore;
  clients: ClientStore;
  taskQueue: string;
  logger: Logger;
}): RefreshStatusService {
  const { temporal, refresh, clients, taskQueue, logger } = deps;
  return async () => {
    const last = (await refresh.recentCycles(10)).find((cycle) => cycle.status !== 'running');
    const failures = last ? (await refresh.resultsOfCycle(last.id)).filter((r) => r.outcome === 'failed') : [];
    const names = failures.length ? new Map((await clients.list()).map((c) => [c.id, c.name])) : new Map<string, string>();
    let running: RunningCycle | null = null;
    let nextRunAt: string | null = null;
    let schedule: RefreshStatusView['schedule'] = null;
    let temporalStatus: RefreshStatusView['temporal'] = 'ok';
    try {
      const workflowId = await temporal.connection.withDeadline(Date.now() + 3_000, () => findRunningCycle(temporal, taskQueue));
      if (workflowId) {
        // A cycle whose worker is gone would hold the query: the status answers without its progress.
        const progress = await temporal.connection.withDeadline(Date.now() + 1_500, () =>
          temporal.workflow.getHandle(workflowId).query<CycleProgress>(progressQuery),
        );
        running = { workflowId, ...progress };
      }
      try {
        const described = await temporal.connection.withDeadline(Date.now() + 3_000, () => temporal.schedule.getHandle(REFRESH_SCHEDULE_ID).describe());
        nextRunAt = described.info.nextActionTimes[0]?.toISOString() ?? null;
        schedule = { id: REFRESH_SCHEDULE_ID, paused: described.state.paused, intervalMs: (described.spec.intervals?.[0]?.every as number | undefined) ?? null };
      } catch (err) {
        // No schedule yet: no worker has started against this Temporal.
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      }
    } catch (err) {
      temporalStatus = 'unavailable';
      logger.debug({ err }, 'refresh status without Temporal');
    }
    return {
      lastCycle: last
        ? {
            workflowId: last.workflowId,
            trigger: last.trigger,
            status: last.status,
            startedAt: last.startedAt.toISOString(),
            finishedAt: last.finishedAt?.toISOString() ?? null,
            ...last.totals,
            failures: failures.map((f) => ({
              clientId: f.clientId,
              clientName: names.get(f.clientId) ?? null,
              errorCode: f.errorCode,
              errorMessage: f.errorMessage,
              attempts: f.attempts,
            })),
          }
        : null,
      running,
      nextRunAt,
      schedule,
      temporal: temporalStatus,
    };
  };
}
