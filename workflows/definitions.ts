/**
 * The contract between processes: task queue, workflow types and ids, signals, queries and
 * the shapes that cross them. The API, worker, CLI and tests import it; it imports nothing
 * that is not deterministic.
 */

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** The one task queue every worker of this service polls. */
export const TASK_QUEUE = 'social-media-cache';

/** Result of the worker health-check workflow. */
export interface WorkerHealth {
  /** The database's clock, read by an activity: proves a worker and Postgres both answer. */
  databaseTime: string;
}

/** Set on every client refresh, so the Web UI and CLI find a client's runs (`ClientId = "…"`). */
export const CLIENT_ID_SEARCH_ATTRIBUTE = defineSearchAttributeKey('ClientId', SearchAttributeType.KEYWORD);

/** The Schedule that starts a refresh cycle every REFRESH_INTERVAL. */
export const REFRESH_SCHEDULE_ID = 'social-media-cache-refresh';

/** Base workflow id of cycles; scheduled runs get `<id>-<RFC3339 time>` from Temporal. */
export const REFRESH_CYCLE_WORKFLOW_ID = 'social-media-cache-refresh-cycle';

/**
 * Workflow id of a client's refresh, the same for scheduled and on-demand refreshes, so that
 * at most one refresh of a client is in flight at a time: the id in lower case (as Postgres
 * prints it), so no spelling of it starts a second refresh.
 */
export function clientRefreshWorkflowId(clientId: string): string {
  return `social-media-cache-refresh-${clientId.toLowerCase()}`;
}

/**
 * The longest wait on Meta a client's refresh sleeps out itself (a platform's throttle, a hold
 * stored earlier); a longer one is left to the refresh that comes after it, the hold in Postgres
 * keeping every path from calling meanwhile.
 */
export const MAX_WAIT_IN_REFRESH_MS = 60 * 60_000;

/** Clients per parent run before it continues as new; see the issue note for the event budget. */
export const DEFAULT_PAGE_SIZE = 100;

export type { ClientOutcome, CycleTrigger, RefreshTotals, RefreshTrigger } from '../src/domain/refresh';
import type { ClientOutcome, CycleTrigger, RefreshTotals, RefreshTrigger } from '../src/domain/refresh';

/** Totals with every count, also those carried over by a run of older code that had fewer. */
export function completeTotals(totals: Partial<RefreshTotals> | undefined): RefreshTotals {
  return {
    total: totals?.total ?? 0,
    refreshed: totals?.refreshed ?? 0,
    failed: totals?.failed ?? 0,
    skippedTokenInvalid: totals?.skippedTokenInvalid ?? 0,
    skippedFresh: totals?.skippedFresh ?? 0,
    alreadyRunning: totals?.alreadyRunning ?? 0,
    pending: totals?.pending ?? 0,
  };
}

export interface RefreshAllInput {
  trigger: CycleTrigger;
  /** Pause between two child starts, in ms. */
  spacingMs: number;
  /** Days refreshed per client: today and the days before. */
  lookbackDays: number;
  /** A client whose numbers were fetched less than this ago (ms) is passed over as `skipped_fresh`. */
  skipIfFresherMs?: number;
  /** Clients per run before continue-as-new. */
  pageSize?: number;
  /** REFRESH_LANES: lanes started at once, each keeping the spacing (`auto`: the fewest that fit 80 % of `intervalMs`). */
  lanes?: 'auto' | number;
  /** REFRESH_MAX_LANES: the most lanes `auto` takes. */
  maxLanes?: number;
  /** REFRESH_INTERVAL, which `auto` lanes fit the cycle in. */
  intervalMs?: number;
  /** Carried over continue-as-new. */
  state?: {
    cycleId: string;
    cursor: string | null;
    totals: RefreshTotals;
    /** Whether a child was started already (the next start waits the spacing first). */
    startedAny: boolean;
    /** Children started since the last spacing timer (sub-second spacings start several per timer). */
    startedInGroup?: number;
    /** When the current group's first child started, epoch ms (workflow time). */
    groupStartedAt?: number;
    /** On lanes: when the next group was due (the last pacing timer's firing). */
    groupDueAt?: number;
    /** Earliest time the next child may start (app-level throttling), epoch ms. */
    notBefore?: number;
    lastAppPercent?: number;
    /** Children started so far (each records its own result). */
    started?: number;
    /** The cycle's lanes, chosen at its start (absent: one). */
    lanes?: number;
    /** How long the cycle's starts take on those lanes, and whether that fits 80 % of the interval. */
    needsMs?: number;
    fits?: boolean;
  };
}

export interface RefreshClientInput {
  clientId: string;
  trigger: RefreshTrigger;
  lookbackDays: number;
  /** The cycle's `refresh_runs.id`, for scheduled refreshes. */
  cycleId?: string;
  /**
   * Days to fetch besides the lookback (`YYYY-MM-DD` in the client's timezone): a backfill, or
   * missing days a read met. Days already final are skipped by the activity.
   */
  days?: string[];
}

export interface RefreshClientResult {
  clientId: string;
  outcome: Exclude<ClientOutcome, 'already_running'>;
  /** Meta's error code, or the error's type when Meta gave none. */
  errorCode?: string;
  errorType?: string;
  message?: string;
  attempts: number;
  durationMs: number;
  /** App-level usage percentage Meta reported on the last call (X-App-Usage). */
  appPercent?: number;
  /** Set when Meta throttled the whole app: how long to stop calling, in ms. */
  appThrottledForMs?: number;
  /** On-demand requests that arrived while this refresh ran and were folded into it. */
  coalescedRequests: number;
}

export interface CycleProgress {
  cycleId: string | null;
  trigger: CycleTrigger;
  total: number;
  done: number;
  refreshed: number;
  failed: number;
  skippedTokenInvalid: number;
  skippedFresh: number;
  alreadyRunning: number;
  pending: number;
  /** Children started so far. */
  started: number;
  currentClientId: string | null;
  /** Pause applied before the next child start, in ms (grows when Meta's usage is high). */
  currentSpacingMs: number;
  /** Lanes in use now (fewer than the cycle's while Meta's app usage is above 75 %). */
  lanes?: number;
  /** How long the cycle's starts take on its lanes; `fits` false when even REFRESH_MAX_LANES cannot fit 80 % of the interval. */
  needsMs?: number;
  fits?: boolean;
}

/** What a `refreshRequested` signal carries; `days` are fetched by the running refresh after its current fetch. */
export interface RefreshRequest {
  requestedAt: string;
  by: 'reader' | 'admin';
  days?: string[];
}

/**
 * Asks a running client refresh to count an on-demand request; it is folded into the running
 * refresh, which also fetches the request's `days` before it ends.
 */
export const refreshRequestedSignal = defineSignal<[RefreshRequest]>('refreshRequested');

/** Progress of a running cycle: done / total / failed and the client being refreshed. */
export const progressQuery = defineQuery<CycleProgress>('progress');

/** Input of a delivery: only ids and the schedule; what is sent is read from Postgres by the activity. */
export interface DeliverAlertInput {
  deliveryId: string;
  retry: { initialMs: number; maximumMs: number; forMs: number };
  attemptTimeoutMs: number;
}

/**
 * Workflow id of an event's delivery to one target (an endpoint's id, or `email`): Temporal
 * refuses a second start, so an event is sent to a target once however often it is dispatched.
 */
export function alertDeliveryWorkflowId(eventId: string, target: string): string {
  return `social-media-cache-alert-${eventId}-${target}`;
}
