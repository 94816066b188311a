import type Koa from 'koa';
import type { Logger } from '../../boot/logger';
import { dayBoundsUnix } from '../../dates';
import { SANDBOX_UNKNOWN_TOKEN_FIELD } from '../../meta/classify';
import { kindOfId } from './accounts';
import {
  instagramFollowersOn,
  instagramTotalValue,
  instagramDailyValue,
  pacificEndTime,
  pacificToday,
  pageDailyFollows,
  shiftDay,
} from './data';
import {
  GraphErrorResponse,
  facebookErrorPage,
  graphError,
  instagramPermissionMissing,
  breakdownNotSupported,
  instagramMetricRefused,
  invalidMetric,
  minimalError,
  pagePermissionMissing,
  pageRangeTooLong,
  reduceData,
  tokenExpired,
  tokenInvalidated,
  unknownToken,
  unsupportedGet,
} from './graph-errors';
import type { Quota, SandboxState, ServedCall } from './state';

/** The oldest Graph API version the sandbox still answers, as Meta retires versions after two years. */
const OLDEST_VERSION = 21;
const DAY_SECONDS = 86_400;

/**
 * How far back the sandbox keeps insights, like Meta: Page insights two years, Instagram
 * account insights 90 days (the figure the service assumes). Outside them Meta answers an empty
 * data set, never an error, and so does the sandbox.
 */
export const SANDBOX_HISTORY_DAYS = { page: 730, instagram: 90 } as const;

/**
 * The Page metrics the sandbox answers, with Meta's titles: every Page metric of the catalogue
 * (src/domain/vocabulary.ts; a unit test holds them equal) and the variants Meta also serves.
 */
const PAGE_METRICS: Record<string, { title: string; description: string }> = {
  page_daily_follows_unique: {
    title: 'Daily New Follows',
    description: 'Daily: The number of accounts that followed your Page for the first time.',
  },
  page_daily_follows: { title: 'Daily Follows', description: 'Daily: The number of new follows of your Page.' },
  page_follows: { title: 'Page Follows', description: 'Lifetime: The number of accounts that follow your Page.' },
  page_daily_unfollows_unique: {
    title: 'Daily Unfollows',
    description: 'Daily: The number of accounts that unfollowed your Page.',
  },
  page_media_view: {
    title: 'Views',
    description: 'Daily: The number of times your content was played or displayed.',
  },
  page_total_media_view_unique: {
    title: 'Viewers',
    description: 'Daily: The number of people who saw any of your content at least once.',
  },
  page_post_engagements: {
    title: 'Post Engagements',
    description:
      'Daily: The number of times people have engaged with your posts through reactions, comments, shares and more.',
  },
  page_total_actions: {
    title: 'Total Actions',
    description: "Daily: The number of clicks on your Page's contact info and call-to-action button.",
  },
  page_views_total: {
    title: 'Total Page Views',
    description: "Daily: The number of times a Page's profile has been viewed.",
  },
  page_video_views: {
    title: 'Total Video Views',
    description: "Daily: The number of times your Page's videos played for at least 3 seconds.",
  },
};

/**
 * The Instagram account metrics the sandbox answers: every Instagram insights metric of the
 * catalogue and `website_clicks`, which Meta still lists. `breakdowns`: those it answers by
 * (the sandbox's numbers cover `follow_type`).
 */
const INSTAGRAM_METRICS: Record<
  string,
  { title: string; description: string; totalValueOnly: boolean; breakdowns?: string[] }
> = {
  reach: {
    title: 'Accounts reached',
    description: 'The number of unique accounts that have seen your content, at least once, including in ads.',
    totalValueOnly: false,
    breakdowns: ['follow_type'],
  },
  profile_views: {
    title: 'Profile views',
    description: 'The number of times that your profile was visited.',
    totalValueOnly: true,
  },
  views: {
    title: 'Views',
    description: 'The number of times your content was played or displayed.',
    totalValueOnly: true,
  },
  accounts_engaged: {
    title: 'Accounts engaged',
    description: 'The number of accounts that have interacted with your content.',
    totalValueOnly: true,
  },
  total_interactions: {
    title: 'Content interactions',
    description: 'The total number of interactions with your content.',
    totalValueOnly: true,
  },
  likes: { title: 'Likes', description: 'The number of likes on your posts, reels and videos.', totalValueOnly: true },
  comments: {
    title: 'Comments',
    description: 'The number of comments on your posts, reels, videos and live videos.',
    totalValueOnly: true,
  },
  shares: {
    title: 'Shares',
    description: 'The number of shares of your posts, stories, reels, videos and live videos.',
    totalValueOnly: true,
  },
  saves: { title: 'Saves', description: 'The number of saves of your posts, reels and videos.', totalValueOnly: true },
  replies: {
    title: 'Replies',
    description: 'The number of replies you received from your story.',
    totalValueOnly: true,
  },
  profile_links_taps: {
    title: 'Profile links taps',
    description: 'The number of taps on your business address, call button, email button and text button.',
    totalValueOnly: true,
  },
  follows_and_unfollows: {
    title: 'Follows and unfollows',
    description:
      'The number of accounts that followed you and the number of accounts that unfollowed you or left Instagram in the selected time period.',
    totalValueOnly: true,
    breakdowns: ['follow_type'],
  },
  website_clicks: {
    title: 'Link taps',
    description: 'The number of taps on the link in your profile.',
    totalValueOnly: true,
  },
};

/** The Graph metrics the sandbox serves per platform, for the test that holds them to the catalogue. */
export const SANDBOX_METRICS = { page: Object.keys(PAGE_METRICS), instagram: Object.keys(INSTAGRAM_METRICS) } as const;

/** The values of a `follow_type` breakdown the sandbox answers, per metric. */
const FOLLOW_TYPE_VALUES: Record<string, string[]> = {
  reach: ['FOLLOWER', 'NON_FOLLOWER'],
  follows_and_unfollows: ['FOLLOWER', 'NON_FOLLOWER'],
};

const PAGE_FIELDS = ['id', 'name', 'instagram_business_account', 'followers_count', 'fan_count', 'category', 'link'];
const INSTAGRAM_FIELDS = ['id', 'username', 'name', 'followers_count', 'follows_count', 'media_count'];

const PAGE_SCOPES = [
  'pages_show_list',
  'pages_read_engagement',
  'read_insights',
  'instagram_basic',
  'instagram_manage_insights',
];

type Kind = 'page' | 'instagram';
type Answer = GraphErrorResponse | { status: number; body: unknown } | { status: number; text: string };

/** Serves Meta's Graph paths (`/{version}/…`); everything under `/__sandbox` passes on. */
export function graphMiddleware(state: SandboxState, logger?: Logger): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path === '/__sandbox' || ctx.path.startsWith('/__sandbox/')) return next();
    const query: Record<string, string> = {};
    for (const [key, value] of Object.entries(ctx.query)) {
      const first = Array.isArray(value) ? value[0] : value;
      if (first !== undefined) query[key] = first;
    }
    const token = query.access_token ?? /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
    delete query.access_token;
    let segments: string[];
    try {
      segments = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      segments = ['', ctx.path];
    }
    const [version = '', objectId = ''] = segments;
    const call = state.record({
      at: new Date(state.now()).toISOString(),
      method: ctx.method,
      path: `/${segments.slice(1).join('/')}`,
      version,
      objectId: objectId || '/',
      query,
    });

    let answer: Answer | undefined;
    let headers: Record<string, string> = {};
    try {
      const served = await serve(ctx, state, { segments, query, token, version, objectId });
      if (served === 'gone') {
        ctx.respond = false;
        return;
      }
      ({ answer, headers } = served);
    } catch (err) {
      logger?.error({ err }, 'graph sandbox failed on a call');
      answer = graphError(1);
    }
    respond(ctx, call, answer, headers);
    logger?.debug(
      { method: call.method, path: call.path, query: call.query, status: call.status, code: call.code },
      'graph sandbox call',
    );
  };
}

function respond(ctx: Koa.Context, call: ServedCall, answer: Answer, headers: Record<string, string>): void {
  ctx.status = answer.status;
  for (const [name, value] of Object.entries(headers)) ctx.set(name, value);
  call.status = answer.status;
  if ('text' in answer) {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = answer.text;
    return;
  }
  const code = (answer.body as { error?: { code?: number } }).error?.code;
  if (code !== undefined) call.code = code;
  ctx.set('x-fb-trace-id', 'A' + Math.random().toString(36).slice(2, 12));
  ctx.type = 'application/json; charset=UTF-8';
  ctx.body = JSON.stringify(answer.body);
}

interface Request {
  segments: string[];
  query: Record<string, string>;
  token?: string;
  version: string;
  objectId: string;
}

async function serve(
  ctx: Koa.Context,
  state: SandboxState,
  { segments, query, token, version, objectId }: Request,
): Promise<'gone' | { answer: Answer; headers: Record<string, string> }> {
  const plain = (answer: Answer) => ({ answer, headers: {} });
  const versionMatch = /^v(\d+)\.(\d+)$/.exec(version);
  if (!versionMatch || segments.length < 2) {
    return plain(graphError(100, { message: `(#100) Unknown path components: ${ctx.path}` }));
  }
  if (Number(versionMatch[1]) < OLDEST_VERSION) {
    return plain(
      graphError(2635, {
        message: `(#2635) You are calling a deprecated version of the Graph API. Please update to the latest version: v24.0.`,
      }),
    );
  }
  if (ctx.method !== 'GET') {
    return plain(graphError(100, { message: `(#100) Unsupported ${ctx.method.toLowerCase()} request.` }));
  }

  const route =
    segments.length === 2
      ? objectId === 'debug_token'
        ? 'debug'
        : 'node'
      : segments.length === 3 && segments[2] === 'insights'
        ? 'insights'
        : 'unknown';
  const metrics =
    route === 'insights'
      ? (query.metric ?? '')
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean)
      : [];
  const kind = kindOfId(objectId, state.accounts);
  const injection = state.takeInjection(
    objectId,
    route === 'insights' || route === 'node' ? route : 'other',
    metrics,
    (day, timeZone) => windowCovers(kind, query, day, timeZone),
  );

  if (injection?.latencyMs !== undefined || injection?.hang) {
    const outcome = await state.hold(injection.hang ? undefined : injection.latencyMs, (gone) =>
      ctx.res.once('close', gone),
    );
    if (outcome === 'released' || ctx.res.destroyed) return 'gone';
  }

  if (!token) return plain(graphError(104));
  // debug_token is asked with the app token, `<app-id>|<app-secret>`, which Meta checks as such.
  if (route === 'debug' && token.includes('|')) {
    const app = state.appCredentials ? `${state.appCredentials.id}|${state.appCredentials.secret}` : undefined;
    if (app ? token !== app : !/^\d+\|\S+$/.test(token))
      return plain(graphError(190, { message: 'Invalid OAuth access token signature.' }));
    return plain(debugToken(state, query.input_token, state.now()));
  }
  const entry = state.token(token);
  if (!entry) return plain(unknownToken());
  if (entry.status === 'expired') return plain(tokenExpired(state.now()));
  if (entry.status === 'invalidated') return plain(tokenInvalidated());
  if (entry.status === 'no_permission') return plain(graphError(10));

  if (route === 'unknown') {
    const message =
      segments.length === 3
        ? `(#100) Tried accessing nonexisting field (${segments[2]}) on node type (${kind === 'page' ? 'Page' : 'IGUser'})`
        : `(#100) Unknown path components: /${segments.slice(2).join('/')}`;
    return plain(graphError(100, { message }));
  }
  if (route !== 'debug' && entry.objects && !entry.objects.includes(objectId)) return plain(unsupportedGet(objectId));

  // Meta counts every call with a valid token, throttled ones included.
  const now = state.now();
  const appOver = spend(state.app, now);
  const quota = route === 'debug' ? undefined : state.objectQuota(objectId);
  const objectOver = quota ? spend(quota, now) : false;
  const igMode =
    kind === 'instagram' && route !== 'debug' && injection?.code === undefined
      ? state.takeInstagramMode(objectId)
      : undefined;
  const pageMode =
    kind === 'page' && route !== 'debug' && injection?.code === undefined ? state.takePageMode(objectId) : undefined;
  const estimate =
    injection?.estimatedTimeToRegainAccess ??
    (igMode?.mode === 'throttled' ? (igMode.estimatedTimeToRegainAccess ?? 1) : undefined) ??
    (pageMode?.mode === 'throttled' ? (pageMode.estimatedTimeToRegainAccess ?? 1) : undefined);
  // With a user token Meta counts a Page's calls on the Page's platform budget (X-Page-Usage, code 32), not its BUC.
  const userToken = kind === 'page' && state.pageUsageHeader;
  const headers = state.usageHeaders
    ? usageHeaders(state.app, quota, objectId, kind, now, estimate, appOver, userToken)
    : {};
  const withHeaders = (answer: Answer) => ({ answer, headers });
  const pageThrottle = userToken ? 32 : 80001;

  if (injection?.code !== undefined) {
    const answer = graphError(injection.code, {
      subcode: injection.subcode,
      message: injection.message,
      type: injection.type,
      isTransient: injection.isTransient,
      status: injection.httpStatus,
      userTitle: injection.userTitle,
      userMessage: injection.userMessage,
    });
    if (injection.minimalBody)
      return withHeaders(minimalError(injection.code, answer.body.error.message, answer.status));
    return withHeaders(answer);
  }
  if (igMode?.mode === 'permission_missing') return withHeaders(instagramPermissionMissing(igMode.code ?? 10));
  if (igMode?.mode === 'not_linked') return withHeaders(unsupportedGet(objectId));
  if (igMode?.mode === 'throttled') return withHeaders(graphError(80002));
  if (pageMode?.mode === 'permission_missing') return withHeaders(pagePermissionMissing(pageMode.code ?? 10));
  if (pageMode?.mode === 'not_accessible') return withHeaders(unsupportedGet(objectId));
  if (pageMode?.mode === 'throttled') return withHeaders(graphError(pageThrottle));
  if (injection?.html) return withHeaders({ status: injection.httpStatus ?? 500, text: facebookErrorPage() });
  if (injection?.httpStatus !== undefined) {
    return withHeaders({
      status: injection.httpStatus,
      text: `<!DOCTYPE html><html><body><h1>${injection.httpStatus}</h1><p>Sorry, something went wrong.</p></body></html>`,
    });
  }
  if (injection?.metricUnsupported !== undefined || state.refusedMetrics(objectId).some((m) => metrics.includes(m))) {
    return withHeaders(invalidMetric());
  }
  // A metric Meta retired fails every request that names it, for every account.
  if (route === 'insights' && (kind === 'page' || kind === 'instagram')) {
    const retired = metrics.findIndex((m) => state.isRetired(kind, m));
    if (retired >= 0)
      return withHeaders(
        kind === 'page'
          ? invalidMetric()
          : instagramMetricRefused(
              retired,
              Object.keys(INSTAGRAM_METRICS).filter((m) => !state.isRetired('instagram', m)),
            ),
      );
  }
  if (appOver) return withHeaders(graphError(4));
  if (objectOver) return withHeaders(graphError(kind === 'page' ? pageThrottle : 80002));

  const context = {
    objectId,
    kind,
    query,
    now,
    version,
    token,
    baseUrl: `${ctx.protocol}://${ctx.host}`,
    state,
    emptyData: injection?.emptyData === true,
  };
  if (route === 'insights')
    return withHeaders(kind === 'page' ? pageInsights(metrics, context) : instagramInsights(metrics, context));
  if (route === 'node') return withHeaders(node(context));
  return withHeaders(debugToken(state, query.input_token, now));
}

/** One more call on a budget; true once the budget is spent. A spent window starts afresh. */
function spend(quota: Quota, now: number): boolean {
  if (now - quota.windowStart >= quota.windowMs) {
    quota.used = 0;
    quota.windowStart = now;
  }
  quota.used += 1;
  return quota.used > quota.calls;
}

/** Rounded up, so the first call already shows: Meta's headers are whole percentages too. */
function percent(quota: Quota): number {
  return Math.ceil((quota.used * 100) / quota.calls);
}

function minutesLeft(quota: Quota, now: number): number {
  return Math.max(1, Math.ceil((quota.windowStart + quota.windowMs - now) / 60_000));
}

function usageHeaders(
  app: Quota,
  quota: Quota | undefined,
  objectId: string,
  kind: Kind,
  now: number,
  /** Minutes to put in the estimate whatever the quota says (an injection's or an Instagram mode's). */
  estimateOverride: number | undefined,
  appOver: boolean,
  /** A Page called with a user token: `X-Page-Usage` instead of its business-use-case header. */
  pageUsage: boolean,
): Record<string, string> {
  const appPercent = percent(app);
  const headers: Record<string, string> = {
    'X-App-Usage': JSON.stringify({
      call_count: appPercent,
      total_time: Math.floor(appPercent * 0.6),
      total_cputime: Math.floor(appPercent * 0.4),
    }),
  };
  if (quota) {
    const p = percent(quota);
    let estimate = quota.used > quota.calls ? minutesLeft(quota, now) : 0;
    if (appOver) estimate = Math.max(estimate, minutesLeft(app, now));
    if (estimateOverride !== undefined) estimate = estimateOverride;
    if (pageUsage) {
      const usage: Record<string, number> = {
        call_count: p,
        total_cputime: Math.floor(p * 0.3),
        total_time: Math.floor(p * 0.35),
      };
      // Meta adds the estimate to this header only when the Page is throttled.
      if (estimate > 0) usage.estimated_time_to_regain_access = estimate;
      headers['X-Page-Usage'] = JSON.stringify(usage);
      return headers;
    }
    headers['X-Business-Use-Case-Usage'] = JSON.stringify({
      [objectId]: [
        {
          type: kind === 'page' ? 'pages' : 'instagram',
          call_count: p,
          total_cputime: Math.floor(p * 0.3),
          total_time: Math.floor(p * 0.35),
          estimated_time_to_regain_access: estimate,
        },
      ],
    });
  }
  return headers;
}

interface CallContext {
  objectId: string;
  kind: Kind;
  query: Record<string, string>;
  now: number;
  version: string;
  token: string;
  baseUrl: string;
  state: SandboxState;
  emptyData: boolean;
}

const badParameter = (message: string) => graphError(100, { message: `(#100) ${message}` });

/** A day from `YYYY-MM-DD` or unix seconds (read as a UTC date), as Page insights accept both. */
function dayParam(value: string | undefined): string | undefined | null {
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`))) return value;
  if (/^\d+$/.test(value)) return new Date(Number(value) * 1000).toISOString().slice(0, 10);
  return null;
}

/** Unix seconds from unix seconds or `YYYY-MM-DD` (UTC midnight). */
function unixParam(value: string | undefined): number | undefined | null {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const ms = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(ms) ? null : ms / 1000;
  }
  return null;
}

/**
 * Whether an insights call's since/until window covers `day`: a Page window by its dates
 * (`since` ≤ day < `until`), an Instagram window by its unix times against the day in `timeZone`.
 */
function windowCovers(kind: Kind, query: Record<string, string>, day: string, timeZone: string): boolean {
  if (kind === 'page') {
    const since = dayParam(query.since);
    const until = dayParam(query.until);
    return typeof since === 'string' && typeof until === 'string' && since <= day && day < until;
  }
  const since = unixParam(query.since);
  const until = unixParam(query.until);
  if (typeof since !== 'number' || typeof until !== 'number') return false;
  const bounds = dayBoundsUnix(day, timeZone);
  return since < bounds.until && until > bounds.since;
}

function dayCount(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

function pagingUrl(c: CallContext, params: Record<string, string>): string {
  const query = new URLSearchParams({ access_token: c.token, ...params });
  return `${c.baseUrl}/${c.version}/${c.objectId}/insights?${query}`;
}

function pageInsights(metrics: string[], c: CallContext): Answer {
  if (metrics.length === 0) return invalidMetric();
  for (const metric of metrics) if (!(metric in PAGE_METRICS)) return invalidMetric();
  const period = c.query.period ?? 'day';
  if (period !== 'day') return badParameter(`Invalid period for ${metrics[0]}: ${period}`);
  const today = pacificToday(c.now);
  const since = dayParam(c.query.since);
  const until = dayParam(c.query.until);
  if (since === null) return badParameter('The since parameter is not a valid date or unix timestamp');
  if (until === null) return badParameter('The until parameter is not a valid date or unix timestamp');
  const last = until ?? shiftDay(today, 1);
  const first = since ?? shiftDay(last, -2);
  const span = dayCount(first, last);
  if (span <= 0) return badParameter('The since parameter must be earlier than the until parameter');
  if (span > 93) return pageRangeTooLong();
  const reduceAbove = c.state.reduceDataAboveDays;
  if (reduceAbove !== null && span > reduceAbove) return reduceData();

  const days: string[] = [];
  const oldest = shiftDay(today, -SANDBOX_HISTORY_DAYS.page);
  for (let day = first; day < last && day <= today; day = shiftDay(day, 1)) if (day >= oldest) days.push(day);
  const data = c.emptyData
    ? []
    : metrics.map((name) => ({
        name,
        period: 'day',
        values: days.map((day) => ({ value: pageDailyFollows(c.objectId, day, name), end_time: pacificEndTime(day) })),
        title: PAGE_METRICS[name].title,
        description: PAGE_METRICS[name].description,
        id: `${c.objectId}/insights/${name}/day`,
      }));
  const unix = (day: string) => String(Date.parse(`${day}T00:00:00Z`) / 1000);
  const params = { metric: metrics.join(','), period: 'day' };
  return {
    status: 200,
    body: {
      data,
      paging: {
        previous: pagingUrl(c, { ...params, since: unix(shiftDay(first, -span)), until: unix(first) }),
        next: pagingUrl(c, { ...params, since: unix(last), until: unix(shiftDay(last, span)) }),
      },
    },
  };
}

function instagramInsights(metrics: string[], c: CallContext): Answer {
  if (metrics.length === 0) return invalidMetric();
  for (const metric of metrics) if (!(metric in INSTAGRAM_METRICS)) return invalidMetric();
  const metricType = c.query.metric_type;
  if (metricType !== undefined && metricType !== 'total_value' && metricType !== 'time_series') {
    return badParameter('metric_type must be one of the following values: time_series, total_value');
  }
  const totalValue = metricType === 'total_value';
  const needTotal = metrics.filter((m) => INSTAGRAM_METRICS[m].totalValueOnly);
  if (!totalValue && needTotal.length > 0) {
    return badParameter(
      `The following metrics (${needTotal.join(', ')}) should be specified with parameter metric_type=total_value`,
    );
  }
  if (c.query.period === undefined) return badParameter('The parameter period is required');
  if (c.query.period !== 'day')
    return badParameter(`Incompatible period ${c.query.period} for the metric ${metrics[0]}`);
  const nowSeconds = Math.floor(c.now / 1000);
  const since = unixParam(c.query.since);
  const until = unixParam(c.query.until);
  if (since === null || until === null)
    return badParameter('The since and until parameters must be unix timestamps or dates');
  const end = until ?? nowSeconds;
  const start = since ?? end - DAY_SECONDS;
  if (end <= start) return badParameter('The since parameter must be earlier than the until parameter');
  if (end - start > 30 * DAY_SECONDS)
    return badParameter('There cannot be more than 30 days (2592000 s) between since and until');
  if (c.emptyData) return { status: 200, body: { data: [] } };
  // A range that starts before the history kept (a day of slack for the caller's timezone) has no data.
  if (start < nowSeconds - (SANDBOX_HISTORY_DAYS.instagram + 1) * DAY_SECONDS)
    return { status: 200, body: { data: [] } };

  if (totalValue) {
    const breakdown = c.query.breakdown;
    if (breakdown !== undefined) {
      if (breakdown !== 'follow_type') return badParameter(`The sandbox answers no breakdown ${breakdown}`);
      const without = metrics.filter((m) => !INSTAGRAM_METRICS[m].breakdowns?.includes(breakdown));
      if (without.length === metrics.length || (without.length && c.state.separateBreakdowns))
        return breakdownNotSupported(breakdown, without);
    }
    const values = metrics.map((name) => instagramTotalValue(c.objectId, name, start, end, nowSeconds));
    // Meta answers an empty data set, not 0, for a range it has no data for yet.
    if (values.some((v) => v === null)) return { status: 200, body: { data: [] } };
    const totalOf = (name: string, i: number) => {
      const dimensions = breakdown ? FOLLOW_TYPE_VALUES[name] : undefined;
      if (!dimensions) return { value: values[i] };
      const results = dimensions.map((dimension) => ({
        dimension_values: [dimension],
        value: instagramTotalValue(c.objectId, `${name}:${dimension}`, start, end, nowSeconds) ?? 0,
      }));
      // Meta gives follows_and_unfollows by its parts only; reach keeps its total beside them.
      return name === 'follows_and_unfollows'
        ? { breakdowns: [{ dimension_keys: [breakdown!], results }] }
        : { value: values[i], breakdowns: [{ dimension_keys: [breakdown!], results }] };
    };
    return {
      status: 200,
      body: {
        data: metrics.map((name, i) => ({
          name,
          period: 'day',
          title: INSTAGRAM_METRICS[name].title,
          description: INSTAGRAM_METRICS[name].description,
          total_value: totalOf(name, i),
          id: `${c.objectId}/insights/${name}/day`,
        })),
      },
    };
  }

  const days: string[] = [];
  const lastDay = new Date(Math.min(end, nowSeconds) * 1000 - 1).toISOString().slice(0, 10);
  for (let day = new Date(start * 1000).toISOString().slice(0, 10); day <= lastDay; day = shiftDay(day, 1))
    days.push(day);
  return {
    status: 200,
    body: {
      data: metrics.map((name) => ({
        name,
        period: 'day',
        values: days.map((day) => ({
          value: instagramDailyValue(c.objectId, name, day),
          end_time: pacificEndTime(day),
        })),
        title: INSTAGRAM_METRICS[name].title,
        description: INSTAGRAM_METRICS[name].description,
        id: `${c.objectId}/insights/${name}/day`,
      })),
      paging: {
        previous: pagingUrl(c, {
          metric: metrics.join(','),
          period: 'day',
          since: String(start - (end - start)),
          until: String(start),
        }),
        next: pagingUrl(c, {
          metric: metrics.join(','),
          period: 'day',
          since: String(end),
          until: String(end + (end - start)),
        }),
      },
    },
  };
}

function node(c: CallContext): Answer {
  const fields = (c.query.fields ?? (c.kind === 'page' ? 'name' : 'id'))
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const known = c.kind === 'page' ? PAGE_FIELDS : INSTAGRAM_FIELDS;
  const unknown = fields.find((field) => !known.includes(field));
  if (unknown !== undefined) {
    return badParameter(
      `Tried accessing nonexisting field (${unknown}) on node type (${c.kind === 'page' ? 'Page' : 'IGUser'})`,
    );
  }
  const account = c.state.accounts.find((a) => a.pageId === c.objectId || a.igId === c.objectId);
  const today = new Date(c.now).toISOString().slice(0, 10);
  const suffix = c.objectId.slice(-4);
  const body: Record<string, unknown> = {};
  for (const field of fields) {
    if (field === 'id') continue;
    if (c.kind === 'page') {
      if (field === 'name') body.name = account?.name ?? `Sandbox Page ${suffix}`;
      if (field === 'instagram_business_account' && account?.igId)
        body.instagram_business_account = { id: account.igId };
      if (field === 'followers_count') body.followers_count = pageDailyFollows(c.objectId, today, 'page_follows');
      if (field === 'fan_count') body.fan_count = Math.floor(pageDailyFollows(c.objectId, today, 'page_follows') * 0.9);
      if (field === 'category') body.category = 'Local business';
      if (field === 'link') body.link = `https://www.facebook.com/${c.objectId}`;
    } else {
      const followers = instagramFollowersOn(c.objectId, today);
      if (field === 'username')
        body.username = account ? account.name.toLowerCase().replace(/[^a-z0-9]+/g, '_') : `sandbox_${suffix}`;
      if (field === 'name') body.name = account?.name ?? `Sandbox Instagram ${suffix}`;
      if (field === 'followers_count') body.followers_count = followers;
      if (field === 'follows_count') body.follows_count = Math.floor(followers * 0.05) + 12;
      if (field === 'media_count') body.media_count = 40 + Math.floor(followers / 150);
    }
  }
  body.id = c.objectId;
  return { status: 200, body };
}

function debugToken(state: SandboxState, inputToken: string | undefined, now: number): Answer {
  if (!inputToken) return badParameter('The parameter input_token is required');
  const entry = state.token(inputToken);
  const nowSeconds = Math.floor(now / 1000);
  if (!entry)
    return {
      status: 200,
      body: {
        data: {
          // Like the sandbox's 190 on other calls: a client built for the sandbox does not judge a token it never issued.
          error: { code: 190, message: 'Invalid OAuth access token.', [SANDBOX_UNKNOWN_TOKEN_FIELD]: true },
          is_valid: false,
          scopes: [],
        },
      },
    };
  const account = state.accounts.find((a) => a.token === inputToken);
  const data: Record<string, unknown> = {
    app_id: state.appCredentials?.id ?? '1000000000000001',
    type: entry.type ?? 'PAGE',
    application: 'social-media-cache (sandbox)',
    data_access_expires_at: entry.dataAccessExpiresAt ?? nowSeconds + 90 * DAY_SECONDS,
    expires_at: entry.expiresAt ?? 0,
    is_valid: true,
    profile_id: account?.pageId ?? entry.objects?.[0],
    scopes: entry.scopes ?? (entry.status === 'no_permission' ? ['pages_show_list'] : PAGE_SCOPES),
    user_id: '1000000000000099',
  };
  if (entry.status === 'expired' || entry.status === 'invalidated') {
    const error = (entry.status === 'expired' ? tokenExpired(now) : tokenInvalidated()).body.error;
    data.is_valid = false;
    data.expires_at = nowSeconds - 3 * DAY_SECONDS;
    data.error = { code: error.code, message: error.message, subcode: error.error_subcode };
  }
  return { status: 200, body: { data } };
}
