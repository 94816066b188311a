import type { Client as TemporalClient } from '@temporalio/client';
import { ScheduleNotFoundError, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Context, Middleware } from 'koa';
import { LRUCache } from 'lru-cache';
import type { ZodType } from 'zod';
import type { Config } from '../config';
import { Db, pingDatabase } from '../db';
import type { Logger } from '../logger';
import { CacheStore } from '../stores/cache';
import { Client, ClientStore } from '../stores/clients';
import { RefreshStore } from '../stores/refresh';
import { pingTemporal } from '../temporal/client';
import { requestRefresh, RefreshRequestResult } from '../temporal/request-refresh';
import { findRunningCycle, startManualCycle } from '../temporal/cycles';
import { CycleProgress, progressQuery, REFRESH_SCHEDULE_ID, TASK_QUEUE } from '../../workflows/definitions';
import { CacheReader, DayRead, RefreshStatus } from './cache-reader';
import { badRequest, clientNotFound, conflict, HttpError, serviceUnavailable, tooManyRequests } from './errors';
import type { ApiMetrics } from './metrics';
import { renderStatusPage, StatusPageModel } from './status-page';
import { Access, parseBody } from './middleware';
import * as schemas from './schemas';

/** One route: how it is served and how the OpenAPI document describes it. */
export interface RouteDef {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  summary: string;
  access: Access;
  query?: ZodType;
  params?: ZodType;
  body?: ZodType;
  /** Bodies the handler validates itself (one of several shapes, chosen by the query). */
  bodyOneOf?: ZodType[];
  /** An HTML page: a browser without a key is asked for one (Basic auth, password = key). */
  html?: boolean;
  responses: Record<number, string>;
  handler: Middleware;
}

export interface RouteDeps {
  config: Config;
  db: Db;
  temporal: TemporalClient;
  logger: Logger;
  metrics: ApiMetrics;
  tokenKey?: Buffer;
  /** Where refreshes are started (tests use a task queue of their own). */
  taskQueue?: string;
  /** Numbers come from the Graph sandbox: the status page says so. */
  demo?: boolean;
}

/** A client as the API shows it: never the token. */
function publicClient(client: Client) {
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
    createdAt: client.createdAt.toISOString(),
    updatedAt: client.updatedAt.toISOString(),
  };
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Every route the API serves. */
export function createRoutes(deps: RouteDeps): { routes: RouteDef[]; reader: CacheReader } {
  const { config, db, temporal, logger, metrics } = deps;
  const clients = new ClientStore(db, deps.tokenKey);
  const cache = new CacheStore(db);
  const refresh = new RefreshStore(db);
  const taskQueue = deps.taskQueue ?? TASK_QUEUE;
  const refreshDeps = { temporal, clients, cooldownMs: config.refresh.cooldownMs, lookbackDays: config.refresh.lookbackDays, logger, taskQueue };
  const reader = new CacheReader({
    clients,
    cache,
    ttlMs: config.cacheTtlMs,
    lookbackDays: config.refresh.lookbackDays,
    logger,
    requestRefresh: async (clientId) => {
      const result = await requestRefresh(refreshDeps, clientId);
      metrics.refreshRequests.inc({ status: result.status });
      return result;
    },
  });

  async function clientOr404(clientId: string): Promise<Client> {
    const client = await reader.client(clientId);
    if (!client) throw clientNotFound(clientId);
    return client;
  }

  /** Sets Cache-Control, Age and ETag for these days; returns the headers and whether If-None-Match matched. */
  function cacheHeaders(ctx: Context, reads: DayRead[]): { headers: Record<string, string>; notModified: boolean } {
    const freshFor = Math.min(...reads.map((r) => r.freshForSeconds));
    const ages = reads.map((r) => r.ageSeconds).filter((a): a is number => a !== null);
    const etag = reads.length === 1 ? reads[0].etag : `W/"${reads.map((r) => r.etag.slice(3, -1)).join('.').slice(0, 200)}"`;
    const headers: Record<string, string> = {
      'Cache-Control': `private, max-age=${freshFor}, stale-while-revalidate=${Math.floor(config.cacheTtlMs / 1000)}`,
      Vary: 'Authorization',
      ETag: etag,
      ...(ages.length ? { Age: String(Math.max(...ages)) } : {}),
    };
    ctx.set(headers);
    return { headers, notModified: matchesEtag(ctx, etag) };
  }

  function matchesEtag(ctx: Context, etag: string): boolean {
    const ifNoneMatch = ctx.get('if-none-match');
    return !!ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*');
  }

  /**
   * Fresh single-day answers, serialized, for at most one second: a dashboard's burst of reads
   * costs one lookup. A write or an edit through this process drops the client's entries.
   */
  const freshResponses = new LRUCache<string, { body: Buffer; headers: Record<string, string> }>({ max: 20_000, ttl: 1_000 });

  function invalidate(clientId: string): void {
    reader.invalidate(clientId);
    for (const key of freshResponses.keys()) if (key.startsWith(`${clientId}|`)) freshResponses.delete(key);
  }

  const routes: RouteDef[] = [
    {
      method: 'get',
      path: '/healthz',
      summary: 'The process is up',
      access: 'public',
      responses: { 200: 'up' },
      handler: (ctx) => {
        ctx.body = { status: 'ok' };
      },
    },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Ready to serve reads: 503 when Postgres is unreachable; Temporal is reported but optional',
      access: 'public',
      responses: { 200: 'ready', 503: 'Postgres unreachable' },
      handler: async (ctx) => {
        const [postgres, temporalCheck] = await Promise.all([pingDatabase(db), pingTemporal(temporal)]);
        ctx.status = postgres.ok ? 200 : 503;
        ctx.body = { status: postgres.ok ? 'ready' : 'unavailable', checks: { postgres, temporal: temporalCheck } };
      },
    },
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      access: 'public',
      responses: { 200: 'metrics in the Prometheus text format' },
      handler: async (ctx) => {
        ctx.type = metrics.registry.contentType;
        ctx.body = await metrics.registry.metrics();
      },
    },
    {
      method: 'get',
      path: '/api/social-media-cache',
      summary: "One client's numbers for one day (default: today in the client's timezone), from the cache",
      access: 'read',
      query: schemas.cacheQuery,
      responses: { 200: 'the cached numbers (fresh, stale or empty)', 304: 'not modified since the ETag', 404: 'unknown client' },
      handler: async (ctx) => {
        const { clientId, period } = ctx.state.query as { clientId: string; period?: string };
        const key = `${clientId}|${period ?? ''}`;
        const hit = freshResponses.get(key);
        if (hit) {
          metrics.cacheRead('cache');
          ctx.set(hit.headers);
          if (matchesEtag(ctx, hit.headers.ETag)) {
            ctx.status = 304;
            return;
          }
          ctx.type = 'application/json';
          ctx.body = hit.body;
          return;
        }
        const client = await clientOr404(clientId);
        const read = await reader.readDay(client, period ?? reader.today(client));
        metrics.cacheRead(read.source);
        const status = await reader.refreshFor(client, [read]);
        const { headers, notModified } = cacheHeaders(ctx, [read]);
        const body = { success: true, data: read.data, source: read.source, period: read.period, refresh: { status } };
        if (read.source === 'cache') freshResponses.set(key, { body: Buffer.from(JSON.stringify(body)), headers });
        if (notModified) {
          ctx.status = 304;
          return;
        }
        ctx.body = body;
      },
    },
    {
      method: 'get',
      path: '/api/social-media-cache/range',
      summary: "One client's daily numbers from `from` to `to` (at most 92 days), each with its freshness",
      access: 'read',
      query: schemas.rangeQuery,
      responses: { 200: 'one entry per day', 304: 'not modified since the ETag', 400: 'bad range', 404: 'unknown client' },
      handler: async (ctx) => {
        const { clientId, from, to } = ctx.state.query as { clientId: string; from: string; to: string };
        const span = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
        if (span > 92) throw badRequest('range_too_long', `the range spans ${span} days; ask for at most 92`);
        const client = await clientOr404(clientId);
        const reads = await reader.readRange(client, from, to);
        for (const read of reads) metrics.cacheRead(read.source);
        const status = await reader.refreshFor(client, reads);
        if (cacheHeaders(ctx, reads).notModified) {
          ctx.status = 304;
          return;
        }
        ctx.body = {
          success: true,
          data: reads.map((r) => ({ period: r.period, ...r.data, source: r.source })),
          refresh: { status },
        };
      },
    },
    {
      method: 'post',
      path: '/api/social-media-cache',
      summary: 'Write one day of numbers (admin), or with ?forceRefresh=true refresh one client now',
      access: 'admin',
      query: schemas.writeQuery,
      bodyOneOf: [schemas.writeBody, schemas.forceRefreshBody],
      responses: {
        200: 'written',
        202: 'refresh started or already running',
        404: 'unknown client',
        409: 'the client has no valid token',
        429: 'inside the refresh cooldown (see Retry-After)',
        503: 'Temporal unavailable',
      },
      handler: async (ctx) => {
        const { forceRefresh } = ctx.state.query as { forceRefresh?: 'true' | 'false' };
        if (forceRefresh === 'true') {
          const { clientId } = await parseBody(ctx, schemas.forceRefreshBody);
          await clientOr404(clientId);
          const result = await requestRefresh(refreshDeps, clientId, { force: true });
          metrics.refreshRequests.inc({ status: result.status });
          answerForcedRefresh(ctx, clientId, result);
          return;
        }
        const { clientId, period, data } = await parseBody(ctx, schemas.writeBody);
        const client = await clientOr404(clientId);
        const day = period ?? reader.today(client);
        const unavailable = { ...data.unavailable };
        for (const name of ['facebookNewFollowers', 'instagramFollowers', 'instagramReach', 'instagramProfileViews'] as const) {
          if (data[name] === null) unavailable[name] ??= 'no_data';
          else delete unavailable[name];
        }
        const written = await cache.writeDay(
          client.id,
          day,
          { ...data, ...(Object.keys(unavailable).length ? { unavailable } : { unavailable: undefined }) },
          new Date(),
        );
        invalidate(client.id);
        const read = await reader.readDay(client, day);
        ctx.body = { success: true, written, data: read.data, source: read.source, period: day };
      },
    },
    {
      method: 'get',
      path: '/api/automated/refresh-social-media-cache',
      summary: "Refresh status: the last cycle's summary and failures, the running cycle's progress, the next scheduled time",
      access: 'read',
      responses: { 200: 'status' },
      handler: async (ctx) => {
        ctx.body = { success: true, data: await refreshStatus() };
      },
    },
    {
      method: 'post',
      path: '/api/automated/refresh-social-media-cache',
      summary: 'Start a refresh cycle of every client now (admin)',
      access: 'admin',
      responses: { 202: 'cycle started', 409: 'a cycle is already running', 503: 'Temporal unavailable' },
      handler: async (ctx) => {
        let workflowId: string;
        try {
          const running = await findRunningCycle(temporal, taskQueue);
          if (running) throw conflict('cycle_running', `a refresh cycle is already running (${running})`, { workflowId: running });
          workflowId = await startManualCycle(temporal, config.refresh, { taskQueue });
        } catch (err) {
          if (err instanceof HttpError) throw err;
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw conflict('cycle_running', 'a refresh cycle is already running');
          logger.warn({ err }, 'could not start a refresh cycle');
          throw serviceUnavailable('temporal_unavailable', 'Temporal is not reachable; try again shortly');
        }
        ctx.status = 202;
        ctx.body = { success: true, data: { workflowId, status: 'started' } };
      },
    },
    {
      method: 'get',
      path: '/api/clients',
      summary: 'List clients (admin)',
      access: 'admin',
      responses: { 200: 'clients, never their tokens' },
      handler: async (ctx) => {
        ctx.body = { success: true, data: (await clients.list()).map(publicClient) };
      },
    },
    {
      method: 'post',
      path: '/api/clients',
      summary: 'Add a client with its Meta token (admin); the token is stored encrypted and never returned',
      access: 'admin',
      body: schemas.createClientBody,
      responses: { 201: 'created', 400: 'invalid client' },
      handler: async (ctx) => {
        requireTokenKey();
        const client = await clients.create(ctx.state.body as schemas.CreateClientInput);
        ctx.status = 201;
        ctx.set('Location', `/api/clients/${client.id}`);
        ctx.body = { success: true, data: publicClient(client) };
      },
    },
    {
      method: 'get',
      path: '/api/clients/:id',
      summary: 'One client (admin)',
      access: 'admin',
      params: schemas.clientParams,
      responses: { 200: 'the client', 404: 'unknown client' },
      handler: async (ctx) => {
        const { id } = ctx.state.params as { id: string };
        const client = await clients.get(id);
        if (!client) throw clientNotFound(id);
        ctx.body = { success: true, data: publicClient(client) };
      },
    },
    {
      method: 'patch',
      path: '/api/clients/:id',
      summary: 'Change a client (admin); a new accessToken resets its token status',
      access: 'admin',
      params: schemas.clientParams,
      body: schemas.updateClientBody,
      responses: { 200: 'changed', 404: 'unknown client' },
      handler: async (ctx) => {
        const { id } = ctx.state.params as { id: string };
        const patch = ctx.state.body as schemas.UpdateClientInput;
        if (patch.accessToken) requireTokenKey();
        const client = await clients.update(id, patch);
        if (!client) throw clientNotFound(id);
        invalidate(id);
        ctx.body = { success: true, data: publicClient(client) };
      },
    },
    {
      method: 'delete',
      path: '/api/clients/:id',
      summary: 'Remove a client and its cached numbers (admin)',
      access: 'admin',
      params: schemas.clientParams,
      responses: { 200: 'removed', 404: 'unknown client' },
      handler: async (ctx) => {
        const { id } = ctx.state.params as { id: string };
        if (!(await clients.remove(id))) throw clientNotFound(id);
        invalidate(id);
        ctx.body = { success: true, data: { id, deleted: true } };
      },
    },
    {
      method: 'get',
      path: '/status',
      summary: "Status page (HTML, admin): each client's freshness, last refresh and token; the running cycle; the next one",
      access: 'admin',
      html: true,
      responses: { 200: 'an HTML page' },
      handler: async (ctx) => {
        const [status, list, results] = await Promise.all([refreshStatus(), clients.list(), refresh.latestResultPerClient()]);
        const lastByClient = new Map(results.map((r) => [r.clientId, r]));
        const running = status.running as (CycleProgress & { workflowId: string }) | null;
        const model: StatusPageModel = {
          generatedAt: new Date().toISOString(),
          demo: !!deps.demo,
          temporalUiUrl: config.temporal.uiUrl,
          namespace: config.temporal.namespace,
          temporal: status.temporal,
          nextRunAt: status.nextRunAt,
          schedulePaused: (status.schedule as { paused?: boolean } | null)?.paused ?? null,
          running: running ? { workflowId: running.workflowId, total: running.total, done: running.done, failed: running.failed, currentClientId: running.currentClientId } : null,
          lastCycle: status.lastCycle,
          clients: await Promise.all(
            list.map(async (client) => {
              const read = await reader.readDay(client, reader.today(client));
              const last = lastByClient.get(client.id);
              return {
                id: client.id,
                name: client.name,
                tokenStatus: client.tokenStatus,
                tokenError: client.tokenError,
                period: read.period,
                freshness: read.source === 'cache' ? 'fresh' : read.source === 'stale-cache' ? 'stale' : 'empty',
                cacheAgeMs: read.data.cacheAge,
                lastResult: last
                  ? { outcome: last.outcome, errorCode: last.errorCode, errorMessage: last.errorMessage, at: (last.finishedAt ?? last.startedAt).toISOString() }
                  : null,
              } satisfies StatusPageModel['clients'][number];
            }),
          ),
        };
        ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
        ctx.set('Cache-Control', 'no-store');
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = renderStatusPage(model);
      },
    },
  ];

  function requireTokenKey(): void {
    if (!deps.tokenKey) throw serviceUnavailable('token_encryption_unavailable', 'TOKEN_ENCRYPTION_KEY is not set on the API: tokens cannot be stored');
  }

  function answerForcedRefresh(ctx: Context, clientId: string, result: RefreshRequestResult): void {
    switch (result.status) {
      case 'started':
      case 'in_progress':
        ctx.status = 202;
        ctx.body = { success: true, data: { clientId }, refresh: { status: result.status } };
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

  async function refreshStatus() {
    const last = (await refresh.recentCycles(10)).find((cycle) => cycle.status !== 'running');
    const failures = last ? (await refresh.resultsOfCycle(last.id)).filter((r) => r.outcome === 'failed') : [];
    const names = new Map((await clients.list()).map((c) => [c.id, c.name]));
    let running: unknown = null;
    let nextRunAt: string | null = null;
    let schedule: unknown = null;
    let temporalStatus: 'ok' | 'unavailable' = 'ok';
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
        schedule = { id: REFRESH_SCHEDULE_ID, paused: described.state.paused, intervalMs: described.spec.intervals?.[0]?.every ?? null };
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
  }

  return { routes, reader };
}

export type { RefreshStatus };
