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
 * Starts the client's refresh with `input`, or signals the one running (same workflow id), so
 * concurrent requests join one refresh. Answers `in_progress` when it joined, `started` else.
 */
async function signalRefresh(
  deps: RefreshRequestDeps,
  input: RefreshClientInput,
  signal: { by: 'reader' | 'admin'; days?: string[] },
): Promise<'started' | 'in_progress'> {
  const workflowId = clientRefreshWorkflowId(input.clientId);
  const running = await isRunning(deps.temporal, workflowId);
  await deps.temporal.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
    deps.temporal.workflow.signalWithStart('refreshClient', {
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
 * Asks the client's refresh to fetch `days` besides its lookback: joins the running refresh
 * (the `refreshRequested` signal carries the days, fetched after its current fetch) or starts
 * one. No cooldown: the caller claimed each day once (`CacheStore.claimMissingDays`) or is an
 * admin's backfill.
 */
async function requestDays(deps: RefreshRequestDeps, clientId: string, days: string[], by: 'reader' | 'admin'): Promise<RefreshRequestResult> {
  try {
    const input: RefreshClientInput = { clientId, trigger: by === 'admin' ? 'manual' : 'on_demand', lookbackDays: deps.lookbackDays, days };
    return { status: await signalRefresh(deps, input, { by, days }) };
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
    const input: RefreshClientInput = { clientId, trigger: force ? 'manual' : 'on_demand', lookbackDays: deps.lookbackDays };
    return { status: await signalRefresh(deps, input, { by: force ? 'admin' : 'reader' }) };
  } catch (err) {
    deps.logger?.warn({ err, clientId }, 'could not start a refresh: Temporal unavailable');
    // The request did not reach Temporal: give the slot back so the next read tries again.
    await deps.clients.releaseRefreshSlot(clientId, claim.previous);
    return { status: 'unavailable' };
  }
}
