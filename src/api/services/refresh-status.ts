import type { Client as TemporalClient } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { RefreshTotals } from '../../domain/refresh';
import type { Logger } from '../../logger';
import type { ClientStore } from '../../stores/clients';
import type { RefreshStore } from '../../stores/refresh';
import { REFRESH_SCHEDULE_ID } from '../../../workflows/definitions';

/**
 * The running cycle as the status shows it, read from Postgres: the parent writes what it
 * started at each page, the children their results. `done` counts clients with an outcome.
 */
export type RunningCycle = RefreshTotals & {
  workflowId: string;
  cycleId: string;
  trigger: 'schedule' | 'manual';
  done: number;
  started: number;
  currentClientId: string | null;
  currentSpacingMs: number | null;
};

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

/** The refresh Schedule as Temporal describes it: the next run, whether it is paused, whether Temporal answered. */
export async function describeSchedule(
  temporal: TemporalClient,
  logger: Logger,
): Promise<Pick<RefreshStatusView, 'nextRunAt' | 'schedule' | 'temporal'>> {
  try {
    const described = await temporal.connection.withDeadline(Date.now() + 3_000, () => temporal.schedule.getHandle(REFRESH_SCHEDULE_ID).describe());
    return {
      nextRunAt: described.info.nextActionTimes[0]?.toISOString() ?? null,
      schedule: { id: REFRESH_SCHEDULE_ID, paused: described.state.paused, intervalMs: (described.spec.intervals?.[0]?.every as number | undefined) ?? null },
      temporal: 'ok',
    };
  } catch (err) {
    // No schedule yet (no worker has started against this Temporal), or Temporal is away.
    if (err instanceof ScheduleNotFoundError) return { nextRunAt: null, schedule: null, temporal: 'ok' };
    logger.debug({ err }, 'refresh status without Temporal');
    return { nextRunAt: null, schedule: null, temporal: 'unavailable' };
  }
}

export type ScheduleDescriber = () => Promise<Awaited<ReturnType<typeof describeSchedule>>>;

/**
 * `describeSchedule`, reused for `ttlMs`: reads that come together share one call, and a status
 * polled by many dashboards asks Temporal at most once per `ttlMs` (the server answers a
 * Schedule's description from its scheduler workflow). An answer of `unavailable` is reused too,
 * so while Temporal is away each read does not wait out the call's deadline again.
 */
export function cachedScheduleDescriber(temporal: TemporalClient, logger: Logger, ttlMs: number): ScheduleDescriber {
  // `at`: when the answer came; a call in flight is never expired.
  let cached: { at: number; value: ReturnType<ScheduleDescriber> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ttlMs) {
      const entry = { at: Number.POSITIVE_INFINITY, value: describeSchedule(temporal, logger) };
      void entry.value.finally(() => (entry.at = Date.now()));
      cached = entry;
    }
    return cached.value;
  };
}

/** How long the status route reuses the Schedule's description. */
const STATUS_SCHEDULE_TTL_MS = 2_000;

/**
 * Builds the refresh status from Postgres (cycles, their progress and results) and Temporal (the
 * Schedule only): a busy worker never holds it, and without Temporal it still answers.
 */
export function createRefreshStatus(deps: {
  temporal: TemporalClient;
  refresh: RefreshStore;
  clients: ClientStore;
  logger: Logger;
}): RefreshStatusService {
  const { temporal, refresh, clients, logger } = deps;
  const describe = cachedScheduleDescriber(temporal, logger, STATUS_SCHEDULE_TTL_MS);
  return async () => {
    const cycles = await refresh.recentCycles(10);
    const last = cycles.find((cycle) => cycle.status !== 'running');
    const current = cycles.find((cycle) => cycle.status === 'running');
    const [failures, counts] = await Promise.all([
      last ? refresh.resultsOfCycle(last.id).then((rows) => rows.filter((r) => r.outcome === 'failed')) : [],
      current ? refresh.countResults(current.id) : undefined,
    ]);
    const names = failures.length ? new Map((await clients.list()).map((c) => [c.id, c.name])) : new Map<string, string>();
    let running: RunningCycle | null = null;
    if (current && counts) {
      const { running: _notReported, ...totals } = counts;
      running = {
        workflowId: current.workflowId,
        cycleId: current.id,
        trigger: current.trigger,
        total: current.totals.total,
        ...totals,
        done: totals.refreshed + totals.failed + totals.skippedTokenInvalid + totals.skippedFresh + totals.alreadyRunning,
        started: current.started,
        currentClientId: current.currentClientId,
        currentSpacingMs: current.currentSpacingMs,
      };
    }
    const { nextRunAt, schedule, temporal: temporalStatus } = await describe();
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
