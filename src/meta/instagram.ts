/**
 * Instagram's part of a fetch: followers once, then reach and profile views one call per day,
 * paced against the account's budget so a backfill never spends what regular refreshes need.
 */

import { z } from 'zod';
import { dayBoundsUnix } from '../dates';
import { atMetaHistoryEdge, beyondMetaHistory } from '../domain/meta-history';
import type { Logger } from '../boot/logger';
import type { MetaError } from './errors';
import { isDayRefusal, isMetricRefusal, isObjectGone, isPermissionRefusal } from './refusals';
import { type GraphCalls, parse } from './graph';
import type { InstagramNumbers, InstagramPacing, InstagramState, MetaUsage, MetricValue } from './types';
import { toMetric, unavailable } from './values';

/** Both are marked "at risk" of retirement by Meta: requested together, split up when one is refused. */
export const INSTAGRAM_METRICS = ['reach', 'profile_views'] as const;
type InstagramMetric = (typeof INSTAGRAM_METRICS)[number];

const INSTAGRAM_FIELD = { reach: 'instagramReach', profile_views: 'instagramProfileViews' } as const;

/** Wait before deferred Instagram days are asked again when Meta gave no estimate. */
const DEFAULT_DEFER_MS = 10 * 60_000;

const instagramInsightsSchema = z.object({
  data: z.array(z.object({ name: z.string(), total_value: z.object({ value: z.unknown().optional() }).optional() })),
});

const instagramUserSchema = z.object({ followers_count: z.unknown().optional() });

/** Reach and profile views both unavailable, for the reason the account gave. */
const all = (reason: 'instagram_not_linked' | 'instagram_permission_missing') => ({
  instagramReach: unavailable(reason),
  instagramProfileViews: unavailable(reason),
});

/** The account's state an error says (a permission missing, an account not linked); undefined for other errors. */
const missing = (err: unknown): InstagramState | undefined =>
  isObjectGone(err) ? 'not_linked' : isPermissionRefusal(err) ? 'permission_missing' : undefined;

const reasonOf = (state: InstagramState) =>
  state === 'not_linked' ? 'instagram_not_linked' : 'instagram_permission_missing';

/** Every day unavailable for the account's `state`. */
function refusedAccount(state: InstagramState, days: string[]): InstagramNumbers {
  return {
    state,
    followers: unavailable(reasonOf(state)),
    days: Object.fromEntries(days.map((day) => [day, all(reasonOf(state))])),
  };
}

/**
 * The followers count (a snapshot of now: asked only when the fetch covers today), or the
 * account's numbers when Meta refused the account itself.
 */
async function fetchFollowers(
  graph: GraphCalls,
  igId: string,
  days: string[],
  ask: boolean,
  log: Logger,
): Promise<MetricValue | InstagramNumbers> {
  if (!ask) return unavailable('no_snapshot');
  try {
    const user = parse(
      instagramUserSchema,
      await graph.get(encodeURIComponent(igId), { fields: 'followers_count' }),
      `GET /${igId}`,
    );
    return toMetric(user.followers_count);
  } catch (err) {
    const state = missing(err);
    if (!state) throw err;
    log.warn(
      { code: (err as MetaError).errorCode, state },
      'Meta refused the Instagram account; its numbers are unavailable',
    );
    return refusedAccount(state, days);
  }
}

/**
 * Followers, then reach and profile views per day. Meta's permission (10, 200–299) and
 * unlinked (100/33) answers become numbers with reasons and the account's state, per metric:
 * followers read before insights were refused keep their value. A day Meta refuses for itself
 * (a subcode, a code 100 not about a metric) is `meta_refused` and the next day is asked; an
 * error that stops the loop (a throttle, a 5xx) after a day was answered keeps the days answered
 * and names the rest (`stopped`).
 */
export async function fetchInstagram(
  graph: GraphCalls,
  igId: string | null,
  days: string[],
  timezone: string,
  log: Logger,
  options: { today: string; followers: boolean; pacing: InstagramPacing; signal?: AbortSignal },
): Promise<InstagramNumbers> {
  if (igId === null) return refusedAccount('not_linked', days);
  const followers = await fetchFollowers(graph, igId, days, options.followers, log);
  if ('state' in followers) return followers;
  const result: InstagramNumbers = { state: 'ok', followers, days: {} };
  const unsupported = new Set<InstagramMetric>();
  const beyond = {
    instagramReach: unavailable('beyond_meta_history'),
    instagramProfileViews: unavailable('beyond_meta_history'),
  };
  let answered = false;
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
      log.warn(
        { percent: budget.percent, deferred: rest.length },
        "Instagram's budget is nearly spent; the remaining days are deferred",
      );
      break;
    }
    if (budget.delayMs > 0) await pause(budget.delayMs, options.signal);
    try {
      const values = await fetchInstagramDay(
        graph,
        igId,
        dayBoundsUnix(day, timezone),
        unsupported,
        log,
        atMetaHistoryEdge('instagram', day, options.today),
      );
      result.days[day] = { instagramReach: values.reach, instagramProfileViews: values.profile_views };
      answered = true;
    } catch (err) {
      const state = missing(err);
      if (state) {
        log.warn(
          { code: (err as MetaError).errorCode, state },
          'Meta refused Instagram insights; they are unavailable',
        );
        result.state = state;
        result.days[day] = all(reasonOf(state));
        continue;
      }
      if (isDayRefusal(err, INSTAGRAM_METRICS)) {
        log.warn(
          { code: err.errorCode, subcode: err.subcode, day },
          'Meta refused one Instagram day; the others are asked',
        );
        result.days[day] = {
          instagramReach: unavailable('meta_refused'),
          instagramProfileViews: unavailable('meta_refused'),
        };
        answered = true;
        continue;
      }
      if (!answered) throw err;
      const rest = days.slice(index).filter((d) => !beyondMetaHistory('instagram', d, options.today));
      for (const d of days.slice(index)) if (!rest.includes(d)) result.days[d] = beyond;
      log.warn(
        { code: (err as MetaError).errorCode, left: rest.length },
        'the Instagram fetch stopped midway; the days answered are kept',
      );
      result.stopped = { days: rest, error: err as MetaError };
      break;
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
  const estimateMs =
    entry && entry.estimatedTimeToRegainAccessMinutes > 0
      ? entry.estimatedTimeToRegainAccessMinutes * 60_000
      : undefined;
  const paced = Number.isFinite(pacing.stopAbovePercent);
  if (paced && (percent >= pacing.stopAbovePercent || estimateMs !== undefined))
    return { percent, delayMs: 0, stop: true, retryAfterMs: estimateMs };
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

/**
 * One day of Instagram reach and profile views. When Meta refuses the request as an invalid
 * metric (its message says so), each metric is asked alone, so the refused one is known; it stays
 * out of the later days' requests.
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
      values[metric] = toMetric(
        insights.data.find((entry) => entry.name === metric)?.total_value?.value,
        atHistoryEdge ? 'beyond_meta_history' : 'no_data',
      );
    }
  };
  const markUnsupported = (metric: InstagramMetric) => {
    unsupported.add(metric);
    log.warn(
      { metric, field: INSTAGRAM_FIELD[metric] },
      'Meta refused an Instagram metric; reporting it as unsupported',
    );
  };

  const metrics = INSTAGRAM_METRICS.filter((metric) => !unsupported.has(metric));
  if (metrics.length === 0) return values;
  try {
    await ask(metrics);
    return values;
  } catch (err) {
    if (!isMetricRefusal(err, metrics)) throw err;
    if (metrics.length === 1) {
      markUnsupported(metrics[0]);
      return values;
    }
  }
  for (const metric of metrics) {
    try {
      await ask([metric]);
    } catch (err) {
      if (!isMetricRefusal(err, [metric])) throw err;
      markUnsupported(metric);
    }
  }
  return values;
}
