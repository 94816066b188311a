import { lastDays } from '../../dates';
import type { Client } from '../../stores/clients';
import type { RefreshRequestStatus } from '../../temporal/request-refresh';
import { badRequest, clientNotFound, serviceUnavailable } from '../errors';
import * as schemas from '../schemas';
import { defineRoute } from './types';
import type { RouteContext, RouteDef } from './types';

/** A client as the API shows it: never the token. */
export function publicClient(client: Client) {
  return {
    id: client.id,
    name: client.name,
    facebookPageId: client.facebookPageId,
    instagramAccountId: client.instagramAccountId,
    timezone: client.timezone,
    tokenStatus: client.tokenStatus,
    tokenError: client.tokenError,
    hasToken: client.hasToken,
    instagramStatus: client.instagramStatus,
    facebookStatus: client.facebookStatus,
    tokenExpiresAt: client.tokenExpiresAt?.toISOString() ?? null,
    dataAccessExpiresAt: client.dataAccessExpiresAt?.toISOString() ?? null,
    tokenScopes: client.tokenScopes,
    createdAt: client.createdAt.toISOString(),
    updatedAt: client.updatedAt.toISOString(),
  };
}

/** Admin CRUD of clients and their Meta tokens (write-only, stored encrypted). */
export function clientRoutes(context: RouteContext): RouteDef[] {
  const { clients } = context;

  /**
   * Fetches the last BACKFILL_DAYS in the background (days already final are skipped by the
   * refresh): the days are marked requested, so reads meanwhile do not ask for them again, and
   * sent to the client's refresh, joining it when one runs.
   */
  async function backfill(client: Client): Promise<{ status: RefreshRequestStatus; days: number }> {
    const days = lastDays(client.timezone, context.config.refresh.backfillDays);
    const marked = await context.cache.claimMissingDays(client.id, days, 0);
    const result = await context.requestRefresh(client.id, { force: true, days });
    if (result.status === 'unavailable') await context.cache.releaseDays(client.id, marked);
    return { status: result.status, days: days.length };
  }

  function requireTokenKey(): void {
    if (!context.tokenKeys)
      throw serviceUnavailable(
        'token_encryption_unavailable',
        'TOKEN_ENCRYPTION_KEY is not set on the API: tokens cannot be stored',
      );
  }

  /** A 400 like any other invalid field when Postgres does not know the (canonical) zone. */
  async function requireKnownTimeZone(timezone: string | undefined): Promise<void> {
    if (timezone === undefined || (await clients.timeZoneKnown(timezone))) return;
    const message = `${schemas.TIMEZONE_MESSAGE} that Postgres knows (${timezone} is not in pg_timezone_names)`;
    throw badRequest('validation_failed', `body.timezone: ${message}`, [{ path: 'body.timezone', message }]);
  }

  return [
    defineRoute({
      method: 'get',
      path: '/api/clients',
      summary: 'List clients (admin)',
      access: 'admin',
      responses: { 200: 'clients, never their tokens' },
      handler: async (ctx) => {
        ctx.body = { success: true, data: (await clients.list()).map(publicClient) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/clients',
      summary:
        'Add a client with its Meta token (admin); the token is stored encrypted and never returned; its last BACKFILL_DAYS are fetched in the background',
      access: 'admin',
      body: schemas.createClientBody,
      responses: { 201: 'created', 400: 'invalid client' },
      handler: async (ctx) => {
        requireTokenKey();
        const input = ctx.state.body;
        await requireKnownTimeZone(input.timezone);
        const client = await clients.create(input);
        const backfilled = client.hasToken ? await backfill(client) : undefined;
        ctx.status = 201;
        ctx.set('Location', `/api/clients/${client.id}`);
        ctx.body = { success: true, data: publicClient(client), ...(backfilled ? { backfill: backfilled } : {}) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/clients/:id',
      summary: 'One client (admin)',
      access: 'admin',
      params: schemas.clientParams,
      responses: { 200: 'the client', 404: 'unknown client' },
      handler: async (ctx) => {
        const { id } = ctx.state.params;
        const client = await clients.get(id);
        if (!client) throw clientNotFound(id);
        ctx.body = { success: true, data: publicClient(client) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/clients/:id',
      summary:
        'Change a client (admin); a new accessToken resets its token status; a new token or Instagram account backfills the last BACKFILL_DAYS',
      access: 'admin',
      params: schemas.clientParams,
      body: schemas.updateClientBody,
      responses: { 200: 'changed', 404: 'unknown client' },
      handler: async (ctx) => {
        const { id } = ctx.state.params;
        const patch = ctx.state.body;
        if (patch.accessToken) requireTokenKey();
        await requireKnownTimeZone(patch.timezone);
        const before = await clients.get(id);
        const client = await clients.update(id, patch);
        if (!client) throw clientNotFound(id);
        context.invalidate(id);
        // A new token (e.g. replacing an invalid one) or a newly linked Instagram account: the days it missed are fetched.
        const relinked =
          patch.instagramAccountId !== undefined &&
          patch.instagramAccountId !== null &&
          patch.instagramAccountId !== before?.instagramAccountId;
        const backfilled =
          client.hasToken && (Boolean(patch.accessToken) || relinked) ? await backfill(client) : undefined;
        ctx.body = { success: true, data: publicClient(client), ...(backfilled ? { backfill: backfilled } : {}) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/clients/:id',
      summary: 'Remove a client and its cached numbers (admin)',
      access: 'admin',
      params: schemas.clientParams,
      responses: { 200: 'removed', 404: 'unknown client' },
      handler: async (ctx) => {
        const { id } = ctx.state.params;
        if (!(await clients.remove(id))) throw clientNotFound(id);
        context.invalidate(id);
        ctx.body = { success: true, data: { id, deleted: true } };
      },
    }),
  ];
}
