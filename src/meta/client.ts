import { z } from 'zod';
import type { Logger } from '../logger';
import { classifyMetaError, isInvalidMetricError, isSandboxUnknownTokenBody, isUnsupportedGetError, redactToken, WHOLE_TOKEN_THROTTLE_CODES } from './classify';
import {
  MetaBadRequestError,
  MetaError,
  MetaPermissionError,
  MetaSandboxUnknownTokenError,
  MetaThrottledError,
  MetaTokenInvalidError,
  MetaTransientError,
} from './errors';
import { addDays, dayBoundsUnix, dayIn, dayOfEndTime, daysBetween, isCalendarDay, isTimeZone } from '../dates';
import {
  DEFAULT_INSTAGRAM_PACING,
  META_HISTORY_DAYS,
  PLATFORMS,
  type DayInsights,
  type FetchInsightsInput,
  type FetchInsightsResult,
  type FetchPlatformsInput,
  type FetchPlatformsResult,
  type InstagramNumbers,
  type InstagramPacing,
  type InstagramState,
  type MetaClient,
  type MetaUsage,
  type MetricValue,
  type Platform,
} from './types';
import { emptyUsage, mergeUsage, parseUsageHeaders } from './usage';

export const DEFAULT_GRAPH_URL = 'https://graph.facebook.com';

export interface MetaClientOptions {
  /** Base URL without the version: Meta's (the default) or the sandbox's. */
  graphUrl?: string;
  /** Graph API version, e.g. `v24.0`. */
  graphVersion: string;
  /** Limit of one HTTP request, body included. */
  timeoutMs: number;
  logger: Logger;
  /** Defaults to the global fetch; tests may pass their own. */
  fetch?: typeof fetch;
  /**
   * Set only when `graphUrl` is the Graph sandbox (META_MODE=sandbox, `npm start`'s demo): the
   * sandbox's "unknown token" marker is read as MetaSandboxUnknownTokenError instead of a 190.
   * Off, the marker means nothing, so real Meta can never trigger it.
   */
  sandbox?: boolean;
  /** The clock that tells today, for the days beyond Meta's history; defaults to Date.now. */
  now?: () => number;
}

/** Facebook new followers per day; the removed `page_fan_adds_unique` answered the same question. */
export const PAGE_FOLLOWS_METRIC = 'page_daily_follows_unique';

/** Both are marked "at risk" of retirement by Meta: requested together, split up when one is refused. */
export const INSTAGRAM_METRICS = ['reach', 'profile_views'] as const;
type InstagramMetric = (typeof INSTAGRAM_METRICS)[number];

const INSTAGRAM_FIELD = { reach: 'instagramReach', profile_views: 'instagramProfileViews' } as const;

/** Meta refuses Page insights windows longer than this. */
const MAX_WINDOW_DAYS = 90;

/** Days one fetch may cover: all of the Page history Meta keeps. */
const MAX_DAYS_PER_FETCH = META_HISTORY_DAYS.facebook + 1;

/** No pacing: every day is asked until Meta itself throttles. */
const UNPACED: InstagramPacing = { slowAbovePercent: Number.POSITIVE_INFINITY, stopAbovePercent: Number.POSITIVE_INFINITY, maxDelayMs: 0 };

/** Wait before deferred Instagram days are asked again when Meta gave no estimate. */
const DEFAULT_DEFER_MS = 10 * 60_000;

/** True when `day` is older than Meta keeps `platform`'s insights, seen from `today`. */
export function beyondMetaHistory(platform: Platform, day: string, today: string): boolean {
  return daysBetween(day, today) > META_HISTORY_DAYS[platform];
}

const pageInsightsSchema = z.object({
  data: z.array(
    z.object({
      name: z.string(),
      values: z.array(z.object({ value: z.unknown().optional(), end_time: z.string() })).optional(),
    }),
  ),
});

const instagramInsightsSchema = z.object({
  data: z.array(z.object({ name: z.string(), total_value: z.object({ value: z.unknown().optional() }).optional() })),
});

const instagramUserSchema = z.object({ followers_count: z.unknown().optional() });

const unavailable = (reason: Extract<MetricValue, { value: null }>['reason']): MetricValue => ({ value: null, reason });

/** Meta's number, or the reason it is missing: an empty answer for a day beyond Meta's history is that, not a lack of data. */
function toMetric(value: unknown, missing: 'no_data' | 'beyond_meta_history' = 'no_data'): MetricValue {
  return typeof value === 'number' && Number.isFinite(value) ? { value } : unavailable(missing);
}

/**
 * The Meta Graph API client: for one client and a list of days, one Page insights call per
 * 90-day window, `followers_count` once, and one Instagram insights call per day. Facebook and
 * Instagram are fetched on their own: one platform's error never discards the other's numbers.
 */
export function createMetaClient(options: MetaClientOptions): MetaClient {
  const base = `${(options.graphUrl ?? DEFAULT_GRAPH_URL).replace(/\/+$/, '')}/${options.graphVersion}`;

  async function fetchPlatforms(input: FetchPlatformsInput): Promise<FetchPlatformsResult> {
    const days = checkInput(input);
    const wanted = new Set<Platform>(input.platforms ?? PLATFORMS);
    const today = dayIn(input.timezone, new Date((options.now ?? Date.now)()));
    const graph = new GraphCalls(base, options, input.accessToken, input.signal);
    const log = options.logger.child({ facebookPageId: input.facebookPageId, instagramAccountId: input.instagramAccountId });

    let facebook: FetchPlatformsResult['facebook'] = { status: 'not_requested' };
    if (wanted.has('facebook')) {
      try {
        facebook = { status: 'fetched', data: { days: Object.fromEntries(await fetchPageFollows(graph, input.facebookPageId, days, today, log)) } };
      } catch (err) {
        // A Page-level permission error is the token's, not the platform's.
        if (endsWholeFetch(err) || err instanceof MetaPermissionError) throw err;
        facebook = { status: 'failed', error: err as MetaError };
        log.debug({ code: (err as MetaError).errorCode }, 'Facebook failed; Instagram is still fetched');
      }
    }

    let instagram: FetchPlatformsResult['instagram'] = { status: 'not_requested' };
    if (wanted.has('instagram')) {
      try {
        instagram = {
          status: 'fetched',
          data: await fetchInstagram(graph, input.instagramAccountId, days, input.timezone, log, {
            today,
            followers: input.instagramFollowers ?? true,
            pacing: input.instagramPacing ?? DEFAULT_INSTAGRAM_PACING,
            signal: input.signal,
          }),
        };
      } catch (err) {
        if (endsWholeFetch(err)) throw err;
        instagram = { status: 'failed', error: err as MetaError };
      }
    }

    const result: FetchPlatformsResult = { fetchedAt: new Date().toISOString(), days, facebook, instagram, usage: graph.usage, calls: graph.calls };
    log.debug({ calls: result.calls, usage: result.usage, days: days.length, facebook: facebook.status, instagram: instagram.status }, 'fetched Meta insights');
    return result;
  }

  return {
    fetchPlatforms,
    async fetchInsights(input: FetchInsightsInput): Promise<FetchInsightsResult> {
      // All or nothing, as before pacing: every day is asked, whatever the budget.
      const fetched = await fetchPlatforms({ ...input, platforms: PLATFORMS, instagramPacing: UNPACED });
      if (fetched.facebook.status !== 'fetched') throw fetched.facebook.status === 'failed' ? fetched.facebook.error : new Error('Facebook was not fetched');
      if (fetched.instagram.status !== 'fetched') throw fetched.instagram.status === 'failed' ? fetched.instagram.error : new Error('Instagram was not fetched');
      const fb = fetched.facebook.data;
      const ig = fetched.instagram.data;
      return {
        fetchedAt: fetched.fetchedAt,
        instagramFollowers: ig.followers,
        days: input.days.map(
          (day): DayInsights => ({
            day,
            facebookNewFollowers: fb.days[day] ?? unavailable('no_data'),
            instagramReach: ig.days[day].instagramReach,
            instagramProfileViews: ig.days[day].instagramProfileViews,
          }),
        ),
        usage: fetched.usage,
        calls: fetched.calls,
      };
    },
  };
}

/** Errors no platform can work around: the token, the app or the caller are the problem. */
function endsWholeFetch(err: unknown): boolean {
  if (!(err instanceof MetaError)) return true;
  if (err instanceof MetaTokenInvalidError || err instanceof MetaSandboxUnknownTokenError) return true;
  return err instanceof MetaThrottledError && err.code !== undefined && WHOLE_TOKEN_THROTTLE_CODES.has(err.code);
}

/**
 * Followers, then reach and profile views per day. Meta's permission (10, 200–299) and
 * unlinked (100/33) answers become numbers with reasons and the account's state, per metric:
 * followers read before insights were refused keep their value.
 */
async function fetchInstagram(
  graph: GraphCalls,
  igId: string | null,
  days: string[],
  timezone: string,
  log: Logger,
  options: { today: string; followers: boolean; pacing: InstagramPacing; signal?: AbortSignal },
): Promise<InstagramNumbers> {
  const all = (reason: 'instagram_not_linked' | 'instagram_permission_missing') => ({
    instagramReach: unavailable(reason),
    instagramProfileViews: unavailable(reason),
  });
  const missing = (err: unknown): InstagramState | undefined =>
    err instanceof MetaPermissionError ? 'permission_missing' : isUnsupportedGetError(err) ? 'not_linked' : undefined;
  const reasonOf = (state: InstagramState) => (state === 'not_linked' ? 'instagram_not_linked' : 'instagram_permission_missing');

  if (igId === null) {
    return { state: 'not_linked', followers: unavailable('instagram_not_linked'), days: Object.fromEntries(days.map((day) => [day, all('instagram_not_linked')])) };
  }
  // Followers are a snapshot of now: asked only when the fetch covers today.
  let followers: MetricValue = unavailable('no_snapshot');
  if (options.followers) {
    try {
      const user = parse(instagramUserSchema, await graph.get(encodeURIComponent(igId), { fields: 'followers_count' }), `GET /${igId}`);
      followers = toMetric(user.followers_count);
    } catch (err) {
      const state = missing(err);
      if (!state) throw err;
      log.warn({ code: (err as MetaError).errorCode, state }, 'Meta refused the Instagram account; its numbers are unavailable');
      return { state, followers: unavailable(reasonOf(state)), days: Object.fromEntries(days.map((day) => [day, all(reasonOf(state))])) };
    }
  }
  const result: InstagramNumbers = { state: 'ok', followers, days: {} };
  const unsupported = new Set<InstagramMetric>();
  const beyond = { instagramReach: unavailable('beyond_meta_history'), instagramProfileViews: unavailable('beyond_meta_history') };
  for (const [index, day] of days.entries()) {
    if (result.state !== 'ok') {
      result.days[day] = all(reasonOf(result.state));
      continue;
    }
    if (beyondMetaHistory('instagram', day, options.today)) {
      result.days[day] = beyond;
      continue;
    }
    // Each call is decided on the usage Meta reported with the previous one.
    const budget = instagramBudget(graph.usage, igId, options.pacing);
    if (budget.stop) {
      const rest = days.slice(index).filter((d) => !beyondMetaHistory('instagram', d, options.today));
      for (const d of days.slice(index)) if (!rest.includes(d)) result.days[d] = beyond;
      result.deferred = { days: rest, afterMs: budget.retryAfterMs ?? DEFAULT_DEFER_MS };
      log.warn({ percent: budget.percent, deferred: rest.length }, "Instagram's budget is nearly spent; the remaining days are deferred");
      break;
    }
    if (budget.delayMs > 0) await pause(budget.delayMs, options.signal);
    try {
      const values = await fetchInstagramDay(graph, igId, dayBoundsUnix(day, timezone), unsupported, log, daysBetween(day, options.today) >= META_HISTORY_DAYS.instagram);
      result.days[day] = { instagramReach: values.reach, instagramProfileViews: values.profile_views };
    } catch (err) {
      const state = missing(err);
      if (!state) throw err;
      log.warn({ code: (err as MetaError).errorCode, state }, 'Meta refused Instagram insights; they are unavailable');
      result.state = state;
      result.days[day] = all(reasonOf(state));
    }
  }
  return result;
}

/**
 * Where the Instagram account stands against its budget (`X-Business-Use-Case-Usage`, by its
 * id): how long to wait before the next call, or whether to stop (with Meta's estimate).
 */
export function instagramBudget(
  usage: MetaUsage,
  igId: string,
  pacing: InstagramPacing,
): { percent: number; delayMs: number; stop: boolean; retryAfterMs?: number } {
  const entry = usage.business[igId];
  const percent = entry?.percent ?? 0;
  const estimateMs = entry && entry.estimatedTimeToRegainAccessMinutes > 0 ? entry.estimatedTimeToRegainAccessMinutes * 60_000 : undefined;
  const paced = Number.isFinite(pacing.stopAbovePercent);
  if (paced && (percent >= pacing.stopAbovePercent || estimateMs !== undefined)) return { percent, delayMs: 0, stop: true, retryAfterMs: estimateMs };
  if (percent <= pacing.slowAbovePercent) return { percent, delayMs: 0, stop: false };
  const share = (percent - pacing.slowAbovePercent) / (pacing.stopAbovePercent - pacing.slowAbovePercent);
  return { percent, delayMs: Math.round(pacing.maxDelayMs * share), stop: false };
}

/** Waits `ms`, or until the signal aborts (its reason is thrown). */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The distinct days, sorted; throws a bad request for input no call could answer. */
function checkInput(input: FetchInsightsInput): string[] {
  const bad = (message: string) => new MetaBadRequestError(message);
  if (input.days.length === 0) throw bad('no days to fetch');
  const invalid = input.days.find((day) => !isCalendarDay(day));
  if (invalid !== undefined) throw bad(`"${invalid}" is not a day written YYYY-MM-DD`);
  const days = [...new Set(input.days)].sort();
  if (days.length > MAX_DAYS_PER_FETCH) throw bad(`at most ${MAX_DAYS_PER_FETCH} days per fetch, got ${days.length}`);
  if (!isTimeZone(input.timezone)) throw bad(`"${input.timezone}" is not an IANA timezone`);
  if (!input.facebookPageId) throw bad('no Facebook Page id');
  return days;
}

/** Groups sorted days into since/until windows Meta accepts (at most 90 days each). */
function pageWindows(days: string[]): string[][] {
  const windows: string[][] = [];
  for (const day of days) {
    const current = windows[windows.length - 1];
    if (current && daysBetween(current[0], day) < MAX_WINDOW_DAYS) current.push(day);
    else windows.push([day]);
  }
  return windows;
}

async function fetchPageFollows(graph: GraphCalls, pageId: string, days: string[], today: string, log: Logger): Promise<Map<string, MetricValue>> {
  const result = new Map<string, MetricValue>();
  // Days Meta no longer keeps are not asked (Meta would answer an empty data set).
  for (const day of days) if (beyondMetaHistory('facebook', day, today)) result.set(day, unavailable('beyond_meta_history'));
  for (const window of pageWindows(days.filter((day) => !result.has(day)))) {
    let body: unknown;
    try {
      body = await graph.get(`${encodeURIComponent(pageId)}/insights`, {
        metric: PAGE_FOLLOWS_METRIC,
        period: 'day',
        since: window[0],
        until: addDays(window[window.length - 1], 1),
      });
    } catch (err) {
      if (!isInvalidMetricError(err)) throw err;
      log.warn({ metric: PAGE_FOLLOWS_METRIC, code: err.code }, 'Meta refused the Page metric; reporting it as unsupported');
      for (const day of window) result.set(day, unavailable('metric_unsupported'));
      continue;
    }
    const insights = parse(pageInsightsSchema, body, `GET /${pageId}/insights`);
    const values = insights.data.find((entry) => entry.name === PAGE_FOLLOWS_METRIC)?.values ?? [];
    const wanted = new Set(window);
    for (const { value, end_time } of values) {
      const day = dayOfEndTime(end_time);
      if (day !== undefined && wanted.has(day)) result.set(day, toMetric(value));
    }
    // A day at the edge of Meta's history (Meta's clock is US-Pacific) that came back empty is gone, not missing.
    for (const day of window) if (!result.has(day) && daysBetween(day, today) >= META_HISTORY_DAYS.facebook) result.set(day, unavailable('beyond_meta_history'));
  }
  return result;
}

/**
 * One day of Instagram reach and profile views. When Meta refuses the request as an invalid
 * metric, each metric is asked alone, so the refused one is known without reading Meta's
 * message; it stays out of the later days' requests.
 */
async function fetchInstagramDay(
  graph: GraphCalls,
  igId: string,
  bounds: { since: number; until: number },
  unsupported: Set<InstagramMetric>,
  log: Logger,
  /** The day is at the edge of Meta's history: an empty answer means Meta no longer keeps it. */
  atHistoryEdge = false,
): Promise<Record<InstagramMetric, MetricValue>> {
  const values: Record<InstagramMetric, MetricValue> = {
    reach: unavailable('metric_unsupported'),
    profile_views: unavailable('metric_unsupported'),
  };
  const ask = async (metrics: InstagramMetric[]) => {
    const body = await graph.get(`${encodeURIComponent(igId)}/insights`, {
      metric: metrics.join(','),
      period: 'day',
      metric_type: 'total_value',
      since: String(bounds.since),
      until: String(bounds.until),
    });
    const insights = parse(instagramInsightsSchema, body, `GET /${igId}/insights`);
    for (const metric of metrics) {
      values[metric] = toMetric(insights.data.find((entry) => entry.name === metric)?.total_value?.value, atHistoryEdge ? 'beyond_meta_history' : 'no_data');
    }
  };
  const markUnsupported = (metric: InstagramMetric) => {
    unsupported.add(metric);
    log.warn({ metric, field: INSTAGRAM_FIELD[metric] }, 'Meta refused an Instagram metric; reporting it as unsupported');
  };

  const metrics = INSTAGRAM_METRICS.filter((metric) => !unsupported.has(metric));
  if (metrics.length === 0) return values;
  try {
    await ask(metrics);
    return values;
  } catch (err) {
    if (!isInvalidMetricError(err)) throw err;
    if (metrics.length === 1) {
      markUnsupported(metrics[0]);
      return values;
    }
  }
  for (const metric of metrics) {
    try {
      await ask([metric]);
    } catch (err) {
      if (!isInvalidMetricError(err)) throw err;
      markUnsupported(metric);
    }
  }
  return values;
}

function parse<T>(schema: z.ZodType<T>, body: unknown, call: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new MetaBadRequestError(`Meta ${call} answered an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** The HTTP calls of one fetch: timeout, usage headers, error classification, and the count. */
class GraphCalls {
  calls = 0;
  usage: MetaUsage = emptyUsage();

  constructor(
    private readonly base: string,
    private readonly options: MetaClientOptions,
    private readonly token: string,
    private readonly signal?: AbortSignal,
  ) {}

  async get(path: string, params: Record<string, string>): Promise<unknown> {
    this.signal?.throwIfAborted();
    const query = new URLSearchParams(params);
    const call = `GET /${this.options.graphVersion}/${path}`;
    // The URL that is logged carries no token; the one that is sent does, as Meta expects.
    const loggedUrl = `${this.base}/${path}?${query}`;
    query.set('access_token', this.token);
    const url = `${this.base}/${path}?${query}`;
    const log = this.options.logger;

    this.calls += 1;
    const started = Date.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    const relayAbort = () => controller.abort();
    this.signal?.addEventListener('abort', relayAbort, { once: true });
    let status: number;
    let text: string;
    let headers: Headers;
    try {
      const response = await (this.options.fetch ?? fetch)(url, { signal: controller.signal, headers: { accept: 'application/json' } });
      status = response.status;
      headers = response.headers;
      text = await response.text();
    } catch (err) {
      if (this.signal?.aborted) throw this.signal.reason;
      const error = controller.signal.aborted
        ? new MetaTransientError(`Meta ${call} timed out after ${this.options.timeoutMs} ms`)
        : new MetaTransientError(this.redact(`Meta ${call} failed: ${networkReason(err)}`));
      log.debug({ url: loggedUrl, ms: Date.now() - started, error: error.message }, 'Meta call failed');
      throw error;
    } finally {
      clearTimeout(timer);
      this.signal?.removeEventListener('abort', relayAbort);
    }

    const usage = parseUsageHeaders(headers);
    this.usage = mergeUsage(this.usage, usage);
    const body = readJson(text);
    const ms = Date.now() - started;
    const ok = status >= 200 && status < 300 && typeof body === 'object' && body !== null && !('error' in body);
    if (ok) {
      log.debug({ url: loggedUrl, status, ms, usage }, 'Meta call');
      return body;
    }
    if (this.options.sandbox && isSandboxUnknownTokenBody(body)) {
      log.debug({ url: loggedUrl, status, ms }, 'the Graph sandbox does not know the token');
      throw new MetaSandboxUnknownTokenError(`the Graph sandbox does not know this token (${call}); start with META_MODE=live to call Meta`, {
        code: 190,
        httpStatus: status,
      });
    }
    const error = classifyMetaError({ httpStatus: status, body, usage, call, redact: (message) => this.redact(message) });
    log.debug(
      { url: loggedUrl, status, ms, usage, code: error.code, subcode: error.subcode, fbtraceId: error.fbtraceId, error: error.message },
      'Meta call failed',
    );
    throw error;
  }

  /** Meta's own messages do not echo tokens, but nothing guarantees it; fetch's may quote the URL. */
  private redact(text: string): string {
    return redactToken(text, this.token);
  }
}

/** `fetch failed (ECONNREFUSED)`; read by shape, as fetch's errors may come from another realm. */
function networkReason(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const { message, cause } = err as { message?: unknown; cause?: { code?: unknown } };
  const text = typeof message === 'string' ? message : String(err);
  const code = typeof cause === 'object' && cause !== null && cause.code !== undefined ? String(cause.code) : undefined;
  return code ? `${text} (${code})` : text;
}

function readJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
