import { rangeCsv, rangeTotals } from '../../domain/totals';
import { METRIC_NAMES } from '../../domain/vocabulary';
import { badRequest } from '../errors';
import { parseBody } from '../middleware';
import * as schemas from '../schemas';
import type { DayRead, RefreshStatus } from '../cache-reader';
import { cacheHeaders, matchesEtag, setCacheHeaders } from '../support/http-cache';
import { forceRefresh } from './refresh';
import { defineRoute } from './types';
import type { RouteContext, RouteDef } from './types';

/** True when the caller's Accept header prefers CSV to JSON (a spreadsheet's import, `curl -H 'Accept: text/csv'`). */
function wantsCsv(accept: string): boolean {
  if (!/text\/csv/i.test(accept)) return false;
  const quality = (type: RegExp) => {
    const part = accept.split(',').find((p) => type.test(p));
    if (!part) return -1;
    const q = /;\s*q=([\d.]+)/.exec(part);
    return q ? Number(q[1]) : 1;
  };
  return quality(/text\/csv/i) >= Math.max(quality(/application\/json/i), quality(/\*\/\*/));
}

/** The seed-compatible cache: one day, a range of days, and writes (or a forced refresh). */
export function cacheRoutes(context: RouteContext): RouteDef[] {
  const { config, reader, answers, metrics, cache, clients } = context;
  const answerBody = (read: DayRead, status: RefreshStatus) => ({
    success: true,
    data: read.data,
    source: read.source,
    period: read.period,
    refresh: { status },
  });
  /**
   * A fresh answer kept in memory, read again from Postgres (the client too: its token or
   * timezone may have changed elsewhere); undefined once the day is no longer fresh, so the
   * next read takes the full path and asks for its refresh.
   */
  const renewAnswer = async (clientId: string, period: string | undefined) => {
    const client = await clients.get(clientId);
    if (!client) return undefined;
    const read = await reader.readDay(client, period ?? reader.today(client), { fromPostgres: true });
    if (read.source !== 'cache') return undefined;
    return { body: answerBody(read, 'not_needed'), headers: cacheHeaders([read], config.cacheTtlMs) };
  };
  return [
    defineRoute({
      method: 'get',
      path: '/api/social-media-cache',
      summary: "One client's numbers for one day (default: today in the client's timezone), from the cache",
      access: 'read',
      query: schemas.cacheQuery,
      responseBodies: { 200: schemas.dayResponse },
      responses: {
        200: 'the cached numbers (fresh, stale or empty)',
        304: 'not modified since the ETag',
        404: 'unknown client',
      },
      handler: async (ctx) => {
        const { clientId, period } = ctx.state.query;
        const key = answers.key(clientId, period);
        const hit = answers.get(key);
        if (hit) {
          metrics.cacheRead('cache');
          answers.renewIfDue(key, hit, () => renewAnswer(clientId, period));
          ctx.set(hit.headers);
          if (matchesEtag(ctx, hit.headers.ETag)) {
            ctx.status = 304;
            return;
          }
          ctx.body = hit.body;
          return;
        }
        const client = await context.clientOr404(clientId);
        const read = await reader.readDay(client, period ?? reader.today(client));
        metrics.cacheRead(read.source);
        const status = await reader.refreshFor(client, [read]);
        const { headers, notModified } = setCacheHeaders(ctx, [read], config.cacheTtlMs);
        const body = answerBody(read, status);
        if (read.source === 'cache') answers.set(key, body, headers);
        if (notModified) {
          ctx.status = 304;
          return;
        }
        ctx.body = body;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/social-media-cache/range',
      summary:
        "One client's daily numbers from `from` to `to` (at most 92 days), each with its freshness, and the range's totals by metric kind; `Accept: text/csv` or `format=csv` answers a spreadsheet",
      access: 'read',
      query: schemas.rangeQuery,
      responseBodies: { 200: schemas.rangeResponse },
      responses: {
        200: 'one entry per day, and the totals (or, asked for CSV, a text/csv table)',
        304: 'not modified since the ETag',
        400: 'bad range',
        404: 'unknown client',
      },
      handler: async (ctx) => {
        const { clientId, from, to } = ctx.state.query;
        const span = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
        if (span > 92) throw badRequest('range_too_long', `the range spans ${span} days; ask for at most 92`);
        const csv = ctx.state.query.format === 'csv' || (!ctx.state.query.format && wantsCsv(ctx.get('Accept')));
        const client = await context.clientOr404(clientId);
        const reads = await reader.readRange(client, from, to);
        for (const read of reads) metrics.cacheRead(read.source);
        const refresh = await reader.refreshDays(client, reads);
        const { shown, retired } = await reader.metrics();
        if (setCacheHeaders(ctx, reads, config.cacheTtlMs, csv ? 'csv' : 'json').notModified) {
          ctx.status = 304;
          return;
        }
        const days = reads.map((r) => ({ period: r.period, ...r.data }));
        if (csv) {
          ctx.type = 'text/csv; charset=utf-8';
          ctx.set('Content-Disposition', `attachment; filename="social-media-cache_${client.id}_${from}_${to}.csv"`);
          ctx.body = rangeCsv(days, shown);
          return;
        }
        const seams = shown.flatMap((name) => {
          const seam = retired.get(name);
          return seam ? [[name, { since: seam.since, replacedBy: seam.replacedBy }] as const] : [];
        });
        ctx.body = {
          success: true,
          data: reads.map((r, i) => ({
            period: r.period,
            ...r.data,
            source: r.source,
            refresh: { status: refresh.days[i] },
          })),
          totals: rangeTotals(days, shown, reader.today(client)),
          ...(seams.length ? { retired: Object.fromEntries(seams) } : {}),
          refresh: { status: refresh.status },
        };
      },
    }),
    defineRoute({
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
        409: 'the client has no valid token, or its only object, the Page, is gone (`page_not_accessible`, with when it is asked again)',
        429: 'inside the refresh cooldown, or Meta throttles every platform of the client (`meta_throttled`); see Retry-After',
        503: 'Temporal unavailable',
      },
      handler: async (ctx) => {
        const { forceRefresh: force } = ctx.state.query;
        if (force === 'true') {
          const { clientId } = await parseBody(ctx, schemas.forceRefreshBody);
          await forceRefresh(context, ctx, clientId);
          return;
        }
        const { clientId, period, data } = await parseBody(ctx, schemas.writeBody);
        const client = await context.clientOr404(clientId);
        const day = period ?? reader.today(client);
        const unavailable = { ...data.unavailable };
        for (const name of METRIC_NAMES) {
          if (data[name] === null) unavailable[name] ??= 'no_data';
          else delete unavailable[name];
        }
        const written = await cache.writeDay(
          client.id,
          day,
          { ...data, ...(Object.keys(unavailable).length ? { unavailable } : { unavailable: undefined }) },
          new Date(),
        );
        context.invalidate(client.id);
        const read = await reader.readDay(client, day);
        ctx.body = { success: true, written, data: read.data, source: read.source, period: day };
      },
    }),
  ];
}
