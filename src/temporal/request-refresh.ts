import { Client, WorkflowIdConflictPolicy, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../logger';
import type { ClientStore } from '../stores/clients';
import {
  CLIENT_ID_SEARCH_ATTRIBUTE,
  clientRefreshWorkflowId,
  RefreshClientInput,
  refreshRequestedSignal,
  TASK_QUEUE,
} from '../../workflows/definitions';

export type RefreshRequestStatus = 'started' | 'in_progress' | 'cooldown' | 'token_invalid' | 'unavailable' | 'not_found';

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
 * Asks the client's refresh to fetch `days` besides its lookback: joins the running refresh
 * (the `refreshRequested` signal carries the days, fetched after its current fetch) or starts
 * one. No cooldown: the caller claimed each day once (`CacheStore.claimMissingDays`) or is an
 * admin's backfill.
 */
async function requestDays(deps: RefreshRequestDeps, clientId: string, days: string[], by: 'reader' | 'admin'): Promise<RefreshRequestResult> {
  const workflowId = clientRefreshWorkflowId(clientId);
  try {
    const running = await isRunning(deps.temporal, workflowId);
    const input: RefreshClientInput = { clientId, trigger: by === 'admin' ? 'manual' : 'on_demand', lookbackDays: deps.lookbackDays, days };
    await deps.temporal.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
      deps.temporal.workflow.signalWithStart('refreshClient', {
        workflowId,
        taskQueue: deps.taskQueue ?? TASK_QUEUE,
        args: [input],
        signal: refreshRequestedSignal,
        signalArgs: [{ requestedAt: new Date().toISOString(), by, days }],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        typedSearchAttributes: [{ key: CLIENT_ID_SEARCH_ATTRIBUTE, value: clientId }],
        workflowExecutionTimeout: '3h',
      }),
    );
    return { status: running ? 'in_progress' : 'started' };
  } catch (err) {
    deps.logger?.warn({ err, clientId }, 'could not request days: Temporal unavailable');
    return { status: 'unavailable' };
  }
}

/**
 * Asks for one client's refresh without waiting for Meta. The cooldown is claimed in Postgres
 * (one winner across API processes); the refresh itself is a `signalWithStart` on the client's
 * workflow id, so concurrent requests join one running refresh instead of starting another.
 * `force` marks an admin's request (trigger `manual`); the cooldown applies to it too. With
 * `days`, the refresh fetches those days too (see `requestDays`).
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
    const running = await isRunning(deps.temporal, workflowId);
    const input: RefreshClientInput = { clientId, trigger: force ? 'manual' : 'on_demand', lookbackDays: deps.lookbackDays };
    await deps.temporal.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
      deps.temporal.workflow.signalWithStart('refreshClient', {
      workflowId,
      taskQueue: deps.taskQueue ?? TASK_QUEUE,
      args: [input],
      signal: refreshRequestedSignal,
      signalArgs: [{ requestedAt: new Date().toISOString(), by: force ? 'admin' : 'reader' }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [{ key: CLIENT_ID_SEARCH_ATTRIBUTE, value: clientId }],
      workflowExecutionTimeout: '3h',
      }),
    );
    return { status: running ? 'in_progress' : 'started' };
  } catch (err) {
    deps.logger?.warn({ err, clientId }, 'could not start a refresh: Temporal unavailable');
    // The request did not reach Temporal: give the slot back so the next read tries again.
    await deps.clients.releaseRefreshSlot(clientId, claim.previous);
    return { status: 'unavailable' };
  }
}
