import type { Client as TemporalClient } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { CYCLE_STATUSES, CYCLE_TRIGGERS } from '../../domain/vocabulary';
import type { Logger } from '../../boot/logger';
import type { CycleRecord, RefreshStore } from '../../stores/refresh';
import { REFRESH_SCHEDULE_ID } from '../../../workflows/definitions';
import { reuseFor } from './reuse';

const count = z.number().int().nonnegative();
const totals = {
  total: count,
  refreshed: count,
  failed: count,
  skippedTokenInvalid: count,
  skippedFresh: count,
  alreadyRunning: count,
  pending: count.meta({ description: 'clients still waiting on Meta when the cycle ended; their outcomes land later' }),
};
const trigger = z.enum(CYCLE_TRIGGERS);
const cycleStatus = z.enum(CYCLE_STATUSES);
const time = z.string().meta({ description: 'ISO 8601' });
const temporal = z
  .enum(['ok', 'unavailable'])
  .meta({ description: '`unavailable`: Temporal did not answer, so the next run is unknown' });

const lastCycleSummary = z.strictObject({
  trigger,
  status: cycleStatus,
  startedAt: time,
  finishedAt: time.nullable(),
  ...totals,
});
const runningSummary = z.strictObject({
  trigger,
  ...totals,
  done: count.meta({ description: 'clients with an outcome (pending ones not counted)' }),
  started: count.meta({ description: 'client refreshes the cycle started so far' }),
});

/** What a read key gets: counts and times, no client, workflow or error of Meta. */
export const refreshStatusSummarySchema = z
  .strictObject({
    lastCycle: lastCycleSummary.nullable(),
    running: runningSummary.nullable(),
    nextRunAt: time.nullable(),
    temporal,
  })
  .meta({ title: 'RefreshStatusSummary', description: 'the answer to a read key: counts and times only' });

/** What an admin key gets: the summary plus which clients failed and why, and the workflows and Schedule behind it. */
export const refreshStatusViewSchema = z
  .strictObject({
    lastCycle: lastCycleSummary
      .extend({
        workflowId: z.string(),
        failures: z.array(
          z.strictObject({
            clientId: z.string(),
            clientName: z.string().nullable(),
            errorCode: z
              .string()
              .nullable()
              .meta({ description: "Meta's error code (e.g. `190`), or the failure's type when Meta gave none" }),
            errorMessage: z.string().nullable().meta({ description: "Meta's error text" }),
            attempts: count,
          }),
        ),
      })
      .nullable(),
    running: runningSummary
      .extend({
        workflowId: z.string(),
        cycleId: z.string(),
        currentClientId: z.string().nullable(),
        currentSpacingMs: z.number().nullable().meta({
          description: "the spacing between child starts in use at the last page (stretched under Meta's app usage)",
        }),
        lanes: z.number().nullable().meta({
          description:
            "lanes starting clients at once, each keeping the spacing (fewer while Meta's app usage is above 75 %)",
        }),
        needsMs: z.number().nullable().meta({ description: "how long the cycle's starts take on its lanes" }),
        fitsInterval: z.boolean().nullable().meta({
          description: 'false: even REFRESH_MAX_LANES cannot fit the fleet in 80 % of REFRESH_INTERVAL',
        }),
        intervalMs: z.number().nullable().meta({ description: 'the REFRESH_INTERVAL the lanes were planned for' }),
      })
      .nullable(),
    nextRunAt: time.nullable(),
    schedule: z.strictObject({ id: z.string(), paused: z.boolean(), intervalMs: z.number().nullable() }).nullable(),
    temporal,
  })
  .meta({
    title: 'RefreshStatus',
    description: 'the answer to an admin key: the summary, plus ids, client names and Meta error texts',
  });

/** The running cycle as the admin status shows it, read from Postgres: the parent writes what it started at each page, the children their results. */
export type RunningCycle = NonNullable<RefreshStatusView['running']>;
/** The last cycle's summary and failures, the running cycle, the Schedule: what `GET …/refresh-social-media-cache` answers an admin key. */
export type RefreshStatusView = z.output<typeof refreshStatusViewSchema>;
/** What the same route answers a read key. */
export type RefreshStatusSummary = z.output<typeof refreshStatusSummarySchema>;

/** The route's `200` body, either view. */
export const refreshStatusResponseSchema = z.strictObject({
  success: z.literal(true),
  data: z.union([refreshStatusViewSchema, refreshStatusSummarySchema]),
});

/** The refresh status by role; each answer is built from a fixed number of queries, whatever the fleet size. */
export interface RefreshStatusService {
  admin(): Promise<RefreshStatusView>;
  read(): Promise<RefreshStatusSummary>;
}

/** The refresh Schedule as Temporal describes it: the next run, whether it is paused, whether Temporal answered. */
export async function describeSchedule(
  temporal: TemporalClient,
  logger: Logger,
): Promise<Pick<RefreshStatusView, 'nextRunAt' | 'schedule' | 'temporal'>> {
  try {
    const described = await temporal.connection.withDeadline(Date.now() + 3_000, () =>
      temporal.schedule.getHandle(REFRESH_SCHEDULE_ID).describe(),
    );
    return {
      nextRunAt: described.info.nextActionTimes[0]?.toISOString() ?? null,
      schedule: {
        id: REFRESH_SCHEDULE_ID,
        paused: described.state.paused,
        intervalMs: (described.spec.intervals?.[0]?.every as number | undefined) ?? null,
      },
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
  return reuseFor(ttlMs, () => describeSchedule(temporal, logger));
}

/** How long the status route reuses the Schedule's description. */
const STATUS_SCHEDULE_TTL_MS = 2_000;

/**
 * How long each role's answer is reused: dashboards poll the status, and a burst of polls costs
 * one build. Short, so a cycle's end shows within about a second.
 */
export const REFRESH_STATUS_TTL_MS = 1_000;

function lastCycleSummaryOf(cycle: CycleRecord): z.output<typeof lastCycleSummary> {
  return {
    trigger: cycle.trigger,
    status: cycle.status,
    startedAt: cycle.startedAt.toISOString(),
    finishedAt: cycle.finishedAt?.toISOString() ?? null,
    ...cycle.totals,
  };
}

/**
 * Builds the refresh status from Postgres (cycles, their progress and results) and Temporal (the
 * Schedule only): a busy worker never holds it, and without Temporal it still answers. A read
 * key's answer takes two queries (the latest cycles, the running one's counts), an admin key's
 * one more (the last cycle's failures with their clients' names); each is reused for
 * `REFRESH_STATUS_TTL_MS`.
 */
export function createRefreshStatus(deps: {
  temporal: TemporalClient;
  refresh: RefreshStore;
  logger: Logger;
}): RefreshStatusService {
  const { temporal, refresh, logger } = deps;
  const describe = cachedScheduleDescriber(temporal, logger, STATUS_SCHEDULE_TTL_MS);

  const cycles = async () => {
    const recent = await refresh.recentCycles(10);
    const last = recent.find((cycle) => cycle.status !== 'running');
    const current = recent.find((cycle) => cycle.status === 'running');
    return { last, current };
  };
  const runningOf = async (current: CycleRecord | undefined) => {
    if (!current) return null;
    const { running: _notReported, ...counts } = await refresh.countResults(current.id);
    return {
      trigger: current.trigger,
      total: current.totals.total,
      ...counts,
      done: counts.refreshed + counts.failed + counts.skippedTokenInvalid + counts.skippedFresh + counts.alreadyRunning,
      started: current.started,
    };
  };

  const read = async (): Promise<RefreshStatusSummary> => {
    const { last, current } = await cycles();
    const [running, { nextRunAt, temporal: temporalStatus }] = await Promise.all([runningOf(current), describe()]);
    return { lastCycle: last ? lastCycleSummaryOf(last) : null, running, nextRunAt, temporal: temporalStatus };
  };

  const admin = async (): Promise<RefreshStatusView> => {
    const { last, current } = await cycles();
    const [failures, running, { nextRunAt, schedule, temporal: temporalStatus }] = await Promise.all([
      last ? refresh.failuresOfCycle(last.id) : [],
      runningOf(current),
      describe(),
    ]);
    return {
      lastCycle: last
        ? {
            workflowId: last.workflowId,
            ...lastCycleSummaryOf(last),
            failures: failures.map((f) => ({
              clientId: f.clientId,
              clientName: f.clientName,
              errorCode: f.errorCode,
              errorMessage: f.errorMessage,
              attempts: f.attempts,
            })),
          }
        : null,
      running:
        current && running
          ? {
              workflowId: current.workflowId,
              cycleId: current.id,
              ...running,
              currentClientId: current.currentClientId,
              currentSpacingMs: current.currentSpacingMs,
              lanes: current.lanes,
              needsMs: current.needsMs,
              fitsInterval: current.fitsInterval,
              intervalMs: current.intervalMs,
            }
          : null,
      nextRunAt,
      schedule,
      temporal: temporalStatus,
    };
  };

  return { read: reuseFor(REFRESH_STATUS_TTL_MS, read), admin: reuseFor(REFRESH_STATUS_TTL_MS, admin) };
}
