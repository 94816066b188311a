import { promisify } from 'node:util';
import zlib from 'node:zlib';
import coBody from 'co-body';
import type { Context } from 'koa';
import { z } from 'zod';
import { addDays } from '../../dates';
import type { CacheData } from '../../stores/cache';
import { StatusStore } from '../../stores/status';
import { clientNotFound, HttpError } from '../errors';
import { clientParams } from '../schemas';
import { heldPlatforms } from '../support/holds';
import { cachedScheduleDescriber } from '../support/refresh-status';
import type { SeriesDay } from '../status/charts';
import { assertSameOrigin, createCsrf } from '../status/csrf';
import { renderClientPage, RefreshMessage } from '../status/client-page';
import { METRICS, MetricKey, metricsShown } from '../status/copy';
import { OverviewQuery, renderOverview } from '../status/overview';
import { defineRoute } from './types';
import type { RouteContext, RouteDef } from './types';

/** Clients per page of the overview. */
export const STATUS_PAGE_SIZE = 50;
/** Problem rows shown above the list; the rest are a link away (`?problems=1`). */
const PROBLEMS_SHOWN = 50;
const CYCLES_SHOWN = 20;
const RESULTS_SHOWN = 20;
const OVERVIEW_DAYS = 30;
const CLIENT_DAYS = 90;
/** How long the Schedule's description is reused: a page reload does not wait on Temporal each time. */
const SCHEDULE_TTL_MS = 10_000;

/** The CSP of the status pages: no script at all, inline styles only, forms back to this origin. */
const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'";

const overviewQuery = z.strictObject({
  q: z.string().trim().max(200, { message: 'at most 200 characters' }).optional(),
  sort: z.enum(['name', 'freshness', 'recent']).optional(),
  page: z
    .string()
    .regex(/^[1-9]\d{0,5}$/, { message: 'a page number from 1' })
    .transform(Number)
    .optional(),
  problems: z.enum(['0', '1']).optional(),
});

const gzip = promisify(zlib.gzip);

/**
 * A page, gzipped when the browser takes it: the overview's 50 rows of sparklines are ~0.8 MB of
 * SVG text, compressed at the fastest level (nginx's default): for the overview of 100,000 clients
 * 770 KB became 117 KB in 8 ms, where the default level took 18 ms for 90 KB, and the page waits
 * for it. Compressed off the event loop (libuv's thread pool).
 */
async function answerHtml(ctx: Context, html: string, status = 200): Promise<void> {
  ctx.set('Content-Security-Policy', HTML_CSP);
  ctx.set('Cache-Control', 'no-store');
  ctx.vary('Accept-Encoding');
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  if (html.length >= 1024 && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = await gzip(html, { level: zlib.constants.Z_BEST_SPEED });
    return;
  }
  ctx.body = html;
}

/** Each metric's days from `from` on, oldest first, `null` where the day has no number (drawn as a gap). */
function seriesOf(
  days: Map<string, CacheData> | undefined,
  today: string,
  count: number,
  metrics: readonly { key: MetricKey }[] = METRICS,
): Record<MetricKey, SeriesDay[]> {
  const periods = Array.from({ length: count }, (_, i) => addDays(today, i - count + 1));
  return Object.fromEntries(
    metrics.map(({ key }) => [
      key,
      periods.map((day) => {
        const value = days?.get(day)?.[key];
        return { day, value: typeof value === 'number' ? value : null };
      }),
    ]),
  ) as Record<MetricKey, SeriesDay[]>;
}

/** A urlencoded form body of at most 4 KB; no body is an empty form. */
async function readForm(ctx: Context): Promise<Record<string, unknown>> {
  const length = Number(ctx.get('content-length') || 0);
  if (!length && !/chunked/i.test(ctx.get('transfer-encoding'))) return {};
  if (!ctx.is('application/x-www-form-urlencoded'))
    throw new HttpError(415, 'unsupported_media_type', 'send the form as application/x-www-form-urlencoded');
  return (await coBody.form(ctx.req, { limit: '4kb' })) as Record<string, unknown>;
}

/** The operator's HTML status pages: the fleet overview, one client's page, and its refresh button. */
export function statusPageRoutes(context: RouteContext): RouteDef[] {
  const { config, temporal, logger, demo, db } = context;
  const status = new StatusStore(db, config.cacheTtlMs);
  const csrf = createCsrf(config.adminApiKeys);
  const cooldownMs = config.refresh.cooldownMs;
  const scheduleNow = cachedScheduleDescriber(temporal, logger, SCHEDULE_TTL_MS);

  async function clientPage(ctx: Context, id: string, message?: RefreshMessage, statusCode = 200): Promise<void> {
    const client = await status.client(id, cooldownMs);
    if (!client) throw clientNotFound(id);
    const [series, results, { shown }] = await Promise.all([
      status.series([id], addDays(client.today, -(CLIENT_DAYS - 1)), client.today),
      status.clientResults(id, RESULTS_SHOWN),
      context.catalogue.get(),
    ]);
    const metrics = metricsShown(shown);
    await answerHtml(
      ctx,
      renderClientPage({
        now: Date.now(),
        demo: !!demo,
        temporalUiUrl: config.temporal.uiUrl,
        namespace: config.temporal.namespace,
        client,
        metrics,
        series: seriesOf(series.get(id), client.today, CLIENT_DAYS, metrics),
        results,
        cooldownMs,
        csrfToken: csrf.token(`refresh:${id}`),
        message,
      }),
      statusCode,
    );
  }

  return [
    defineRoute({
      method: 'get',
      path: '/status',
      summary:
        'Status page (HTML, admin): clients needing action first, then every client (50 a page, searchable, sortable by freshness) with today’s numbers and 30-day sparklines; the last 20 cycles and Meta’s app usage',
      access: 'admin',
      html: true,
      query: overviewQuery,
      responses: { 200: 'an HTML page' },
      handler: async (ctx) => {
        const input = ctx.state.query;
        const query: OverviewQuery = {
          q: input.q ?? '',
          sort: input.sort ?? 'name',
          page: input.page ?? 1,
          problems: input.problems === '1',
        };
        const [described, { summary, problems, list, series }, cycles, usage, catalogue, events, failingEndpoints] =
          await Promise.all([
            scheduleNow(),
            status.overview(
              {
                search: query.q || undefined,
                sort: query.sort,
                problemsOnly: query.problems,
                limit: STATUS_PAGE_SIZE,
                offset: (query.page - 1) * STATUS_PAGE_SIZE,
              },
              PROBLEMS_SHOWN,
              OVERVIEW_DAYS,
            ),
            status.recentCycles(CYCLES_SHOWN),
            status.appUsage(),
            context.catalogue.get(),
            context.events.list({ limit: 10 }),
            context.alerts.troubledEndpoints(),
          ]);
        await answerHtml(
          ctx,
          renderOverview({
            now: Date.now(),
            demo: !!demo,
            temporalUiUrl: config.temporal.uiUrl,
            namespace: config.temporal.namespace,
            temporal: described.temporal,
            nextRunAt: described.nextRunAt,
            schedulePaused: described.schedule?.paused ?? null,
            summary,
            problems,
            list,
            series: new Map(list.clients.map((c) => [c.id, seriesOf(series.get(c.id), c.today, OVERVIEW_DAYS)])),
            query,
            pageSize: STATUS_PAGE_SIZE,
            cycles,
            usage,
            retired: [...catalogue.retired.values()],
            events: events.events,
            failingEndpoints,
          }),
        );
      },
    }),
    defineRoute({
      method: 'get',
      path: '/status/clients/:id',
      summary:
        "One client's status page (HTML, admin): its four numbers over 90 days, its last 20 refreshes with Meta's error codes, token and Instagram state, and a refresh button",
      access: 'admin',
      html: true,
      params: clientParams,
      responses: { 200: 'an HTML page', 404: 'unknown client' },
      handler: async (ctx) => {
        await clientPage(ctx, ctx.state.params.id);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/status/clients/:id/refresh',
      summary:
        "The client page's refresh button (HTML form, admin): a urlencoded `csrf` field from the page, same-origin only; refreshes the client as `POST /api/social-media-cache?forceRefresh=true` does and answers the client's page with what happened",
      access: 'admin',
      html: true,
      params: clientParams,
      htmlStatuses: [409, 429, 503],
      responses: {
        202: 'refresh started or already running (the client page, saying so)',
        403: 'missing or stale CSRF token, or a cross-site form',
        404: 'unknown client',
        409: 'the client has no valid token, or its Page is gone (the client page, saying so)',
        415: 'the body is not a urlencoded form',
        429: 'inside the refresh cooldown, or Meta throttles every platform of the client (the client page, saying when to try again; see Retry-After)',
        503: 'Temporal unavailable (the client page, saying so)',
      },
      handler: async (ctx) => {
        const { id } = ctx.state.params;
        assertSameOrigin(ctx);
        const form = await readForm(ctx);
        if (!csrf.verify(`refresh:${id}`, form.csrf)) {
          throw new HttpError(
            403,
            'csrf_invalid',
            'the form is missing its token or is older than two hours; reload the client page and press the button again',
          );
        }
        const client = await context.clientOr404(id);
        const hold = await heldPlatforms(context.holds, client);
        if (hold.all && hold.availableAt) {
          if (hold.throttled)
            ctx.set('Retry-After', String(Math.max(1, Math.ceil((Date.parse(hold.availableAt) - Date.now()) / 1000))));
          const message = { status: 'held', throttled: hold.throttled, availableAt: hold.availableAt } as const;
          return clientPage(ctx, id, message, hold.throttled ? 429 : 409);
        }
        const result = await context.requestRefresh(id, { force: true });
        switch (result.status) {
          case 'not_found':
            throw clientNotFound(id);
          case 'started':
          case 'in_progress':
            return clientPage(ctx, id, { status: result.status }, 202);
          case 'cooldown': {
            const retryAfterSeconds = Math.max(1, Math.ceil((result.retryAfterMs ?? cooldownMs) / 1000));
            ctx.set('Retry-After', String(retryAfterSeconds));
            return clientPage(ctx, id, { status: 'cooldown', retryAfterSeconds }, 429);
          }
          case 'token_invalid':
            return clientPage(ctx, id, { status: 'token_invalid' }, 409);
          case 'unavailable':
            return clientPage(ctx, id, { status: 'unavailable' }, 503);
        }
      },
    }),
  ];
}
