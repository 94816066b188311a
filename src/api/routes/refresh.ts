import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Context } from 'koa';
import { findRunningCycle, startManualCycle } from '../../temporal/cycles';
import { clientNotFound, conflict, HttpError, serviceUnavailable, tooManyRequests } from '../errors';
import { heldPlatforms } from '../support/holds';
import { refreshStatusResponseSchema } from '../support/refresh-status';
import { defineRoute } from './types';
import type { RouteContext, RouteDef } from './types';

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** Refresh control: the status of cycles, and starting one now. */
export function refreshRoutes({ config, temporal, logger, taskQueue, refreshStatus }: RouteContext): RouteDef[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/automated/refresh-social-media-cache',
      summary:
        "Refresh status: the last cycle's summary, the running cycle's progress, the next scheduled time. A read key gets counts and times only; " +
        "an admin key also gets the failed clients (ids, names, Meta's error texts), the workflow ids and the Schedule. Each answer is reused for about a second.",
      access: 'read',
      responses: { 200: 'status: `RefreshStatus` for an admin key, `RefreshStatusSummary` for a read key' },
      responseBodies: { 200: refreshStatusResponseSchema },
      handler: async (ctx) => {
        ctx.body = {
          success: true,
          data: await (ctx.state.role === 'admin' ? refreshStatus.admin() : refreshStatus.read()),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/automated/refresh-social-media-cache',
      summary: 'Start a refresh cycle of every client now (admin)',
      access: 'admin',
      responses: { 202: 'cycle started', 409: 'a cycle is already running', 503: 'Temporal unavailable' },
      handler: async (ctx) => {
        let workflowId: string;
        try {
          const running = await findRunningCycle(temporal, taskQueue);
          if (running)
            throw conflict('cycle_running', `a refresh cycle is already running (${running})`, { workflowId: running });
          workflowId = await startManualCycle(temporal, config.refresh, { taskQueue });
        } catch (err) {
          if (err instanceof HttpError) throw err;
          // Started within the same second as another (a manual cycle's id is its start time), before
          // visibility lists that one as running: the conflict names it all the same.
          if (err instanceof WorkflowExecutionAlreadyStartedError) {
            throw conflict('cycle_running', `a refresh cycle is already running (${err.workflowId})`, {
              workflowId: err.workflowId,
            });
          }
          logger.warn({ err }, 'could not start a refresh cycle');
          throw serviceUnavailable('temporal_unavailable', 'Temporal is not reachable; try again shortly');
        }
        ctx.status = 202;
        ctx.body = { success: true, data: { workflowId, status: 'started' } };
      },
    }),
  ];
}

/**
 * Refreshes one client now (admin): `202` when started or joined, `429` inside the cooldown or
 * while Meta throttles every platform of the client (with when a call is possible again), `409`
 * without a valid token or while its only object, the Page, is gone, `503` without Temporal. A
 * platform held back (throttled, gone) is named with its time in the `202`, and is not called.
 */
export async function forceRefresh(context: RouteContext, ctx: Context, clientId: string): Promise<void> {
  const { config } = context;
  const client = await context.clientOr404(clientId);
  const { held, all, availableAt, throttled } = await heldPlatforms(context.holds, client);
  if (all && availableAt) {
    const details = { held, availableAt };
    if (throttled)
      throw new HttpError(
        429,
        'meta_throttled',
        `Meta throttles ${held.map((h) => h.platform).join(' and ')} of this client; a call is possible again at ${availableAt}`,
        details,
        { 'Retry-After': String(seconds(Date.parse(availableAt) - Date.now())) },
      );
    throw conflict(
      'page_not_accessible',
      `Meta answered that the Page does not exist for this token; it is asked again at ${availableAt}, or at once when the Page id or the token is changed`,
      details,
    );
  }
  const result = await context.requestRefresh(clientId, { force: true });
  switch (result.status) {
    case 'started':
    case 'in_progress':
      ctx.status = 202;
      ctx.body = {
        success: true,
        data: { clientId },
        refresh: { status: result.status, ...(held.length ? { held } : {}) },
      };
      return;
    case 'cooldown':
      throw tooManyRequests(
        'refresh_cooldown',
        `this client was refreshed less than ${Math.round(config.refresh.cooldownMs / 1000)} s ago; try again later`,
        seconds(result.retryAfterMs ?? config.refresh.cooldownMs),
      );
    case 'token_invalid':
      throw conflict('token_invalid', 'the client has no valid Meta token; update it with PATCH /api/clients/:id');
    case 'not_found':
      throw clientNotFound(clientId);
    case 'unavailable':
      throw serviceUnavailable('temporal_unavailable', 'Temporal is not reachable; try again shortly');
  }
}
