import {
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { Logger } from '../boot/logger';
import type { ClientStore } from '../stores/clients';
import {
  CLIENT_ID_SEARCH_ATTRIBUTE,
  clientRefreshWorkflowId,
  RefreshClientInput,
  refreshRequestedSignal,
  TASK_QUEUE,
} from '../../workflows/definitions';
import { refreshClient } from '../../workflows';

export type RefreshRequestStatus =
  'started' | 'in_progress' | 'cooldown' | 'token_invalid' | 'unavailable' | 'not_found';

export interface RefreshRequestResult {
  status: RefreshRequestStatus;
  /** With `cooldown`: how long until a request is let through again. */
  retryAfterMs?: number;
}

export interface RefreshRequestDeps {
  temporal: Client;
  clients: ClientStore;
  cooldownMs: number;
  lookbackDays: number;
  taskQueue?: string;
  logger?: Logger;
}

/** How long a refresh request waits for Temporal before it answers `unavailable`. */
const TEMPORAL_DEADLINE_MS = 3_000;

async function isRunning(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    const description = await temporal.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
      temporal.workflow.getHandle(workflowId).describe(),
    );
    return description.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * Starts the client's refresh with `input` (same workflow id for every request, so one refresh
 * per client runs). An admin's request signals the running one instead, so it joins it; a read's
 * never signals: a signal that lands as a refresh's local step completes makes Temporal reject
 * that task and run the step, and its Meta calls, again — a read would so spend a refresh's calls
 * outside its budget. A read meeting a running refresh gets `in_progress` and nothing is sent.
 */
async function signalRefresh(
  deps: RefreshRequestDeps,
  input: RefreshClientInput,
  signal: { by: 'reader' | 'admin'; days?: string[] },
): Promise<'started' | 'in_progress'> {
  const workflowId = clientRefreshWorkflowId(input.clientId);
  const running = await isRunning(deps.temporal, workflowId);
  if (signal.by === 'reader') {
    if (running) return 'in_progress';
    try {
      await deps.temporal.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
        deps.temporal.workflow.start(refreshClient, {
          workflowId,
          taskQueue: deps.taskQueue ?? TASK_QUEUE,
          args: [input],
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
          typedSearchAttributes: [{ key: CLIENT_ID_SEARCH_ATTRIBUTE, value: input.clientId }],
          workflowExecutionTimeout: '3h',
        }),
      );
    } catch (err) {
      // Another request started it since `isRunning` looked.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'in_progress';
      throw err;
    }
    return 'started';
  }
  await deps.temporal.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
    deps.temporal.workflow.signalWithStart(refreshClient, {
      workflowId,
      taskQueue: deps.taskQueue ?? TASK_QUEUE,
      args: [input],
      signal: refreshRequestedSignal,
      signalArgs: [{ requestedAt: new Date().toISOString(), ...signal }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [{ key: CLIENT_ID_SEARCH_ATTRIBUTE, value: input.clientId }],
      workflowExecutionTimeout: '3h',
    }),
  );
  return running ? 'in_progress' : 'started';
}

/**
 * Asks the client's refresh to fetch `days`, and only them (no lookback): starts one, or (an
 * admin's backfill) joins the running one, whose `refreshRequested` signal carries the days,
 * fetched after its current fetch. The caller claimed each day once
 * (`CacheStore.claimMissingDays`). A read's request also spends the client's `days` slot, one per
 * cooldown across API processes, so a read key asking a new old day every second costs one fetch
 * per cooldown, not one per read; a read that meets a running refresh sends nothing and gives the
 * slot back (`in_progress`: the caller gives the days back, a later read asks again). An admin's
 * backfill has no cooldown.
 */
async function requestDays(
  deps: RefreshRequestDeps,
  clientId: string,
  days: string[],
  by: 'reader' | 'admin',
): Promise<RefreshRequestResult> {
  const claim = by === 'reader' ? await deps.clients.claimRefreshSlot(clientId, deps.cooldownMs, 'days') : undefined;
  if (claim && !claim.claimed) return { status: 'cooldown', retryAfterMs: claim.retryAfterMs };
  try {
    const input: RefreshClientInput = {
      clientId,
      trigger: by === 'admin' ? 'manual' : 'on_demand',
      lookbackDays: 0,
      days,
    };
    const status = await signalRefresh(deps, input, { by, days });
    if (claim?.claimed && status === 'in_progress')
      await deps.clients.releaseRefreshSlot(clientId, claim.previous, 'days');
    return { status };
  } catch (err) {
    deps.logger?.warn({ err, clientId }, 'could not request days: Temporal unavailable');
    if (claim?.claimed) await deps.clients.releaseRefreshSlot(clientId, claim.previous, 'days');
    return { status: 'unavailable' };
  }
}

/**
 * Asks for one client's refresh without waiting for Meta. The cooldown is claimed in Postgres
 * (one winner across API processes); the refresh itself is started on the client's workflow id,
 * so concurrent requests never start a second one (an admin's joins the running one by signal,
 * a read's answers `in_progress`; see `signalRefresh`).
 * `force` marks an admin's request (trigger `manual`); the cooldown applies to it too. With
 * `days`, the refresh fetches those days instead of the lookback, under their own slot (see
 * `requestDays`).
 */
export async function requestRefresh(
  deps: RefreshRequestDeps,
  clientId: string,
  { force = false, days }: { force?: boolean; days?: string[] } = {},
): Promise<RefreshRequestResult> {
  const client = await deps.clients.get(clientId);
  if (!client) return { status: 'not_found' };
  if (!client.hasToken || client.tokenStatus === 'invalid') return { status: 'token_invalid' };
  if (days?.length) return requestDays(deps, clientId, days, force ? 'admin' : 'reader');
  const workflowId = clientRefreshWorkflowId(clientId);

  const claim = await deps.clients.claimRefreshSlot(clientId, deps.cooldownMs);
  if (!claim.claimed) {
    try {
      if (await isRunning(deps.temporal, workflowId)) return { status: 'in_progress' };
    } catch {
      // Temporal is down: the cooldown answer still holds.
    }
    return { status: 'cooldown', retryAfterMs: claim.retryAfterMs };
  }

  try {
    const input: RefreshClientInput = {
      clientId,
      trigger: force ? 'manual' : 'on_demand',
      lookbackDays: deps.lookbackDays,
    };
    const status = await signalRefresh(deps, input, { by: force ? 'admin' : 'reader' });
    // A read sent nothing to the running refresh (which may not fetch the lookback): the slot is not spent.
    if (!force && status === 'in_progress') await deps.clients.releaseRefreshSlot(clientId, claim.previous);
    return { status };
  } catch (err) {
    deps.logger?.warn({ err, clientId }, 'could not start a refresh: Temporal unavailable');
    // The request did not reach Temporal: give the slot back so the next read tries again.
    await deps.clients.releaseRefreshSlot(clientId, claim.previous);
    return { status: 'unavailable' };
  }
}
