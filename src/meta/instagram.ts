/**
 * Instagram's part of a fetch: followers once, then every insights metric of a day in one call
 * per day (one per `breakdown` a metric needs), paced against the account's budget so a backfill
 * never spends what regular refreshes need.
 */

import { z } from 'zod';
import { dayBoundsUnix, daysBetween } from '../dates';
import { atMetaHistoryEdge, beyondMetaHistory } from '../domain/meta-history';
import { CORE_METRICS, metricOf, metricsOf, type MetricName } from '../domain/vocabulary';
import type { Logger } from '../boot/logger';
import type { MetaError } from './errors';
import {
  askSplitting,
  graphMetricOf,
  type InsightsGroup,
  insightsGroups,
  isBreakdownRefusal,
  namesOf,
} from './metric-requests';
import { isDayRefusal, isObjectGone, isPermissionRefusal } from './refusals';
import { type GraphCalls, parse } from './graph';
import type {
  DayMetrics,
  InstagramNumbers,
  InstagramPacing,
  InstagramState,
  MetaUsage,
  MetricRefusal,
  MetricValue,
} from './types';
import { toMetric, unavailable } from './values';

/** Wait before deferred Instagram days are asked again when Meta gave no estimate. */
const DEFAULT_DEFER_MS = 10 * 60_000;

const breakdownSchema = z.object({
  dimension_keys: z.array(z.string()).optional(),
  results: z.array(z.object({ dimension_values: z.array(z.string()), value: z.unknown().optional() })).optional(),
});

const instagramInsightsSchema = z.object({
  data: z.array(
    z.object({
      name: z.string(),
      total_value: z
        .object({ value: z.unknown().optional(), breakdowns: z.array(breakdownSchema).optional() })
        .optional(),
    }),
  ),
});

type InsightsEntry = z.infer<typeof instagramInsightsSchema>['data'][number];

const instagramUserSchema = z.object({ followers_count: z.unknown().optional() });

/** Every metric of `names` with the same value. */
const each = (names: readonly MetricName[], value: MetricValue): DayMetrics =>
  Object.fromEntries(names.map((name) => [name, value]));

/** The account's state an error says (a permission missing, an account not linked); undefined for other errors. */
const missing = (err: unknown): InstagramState | undefined =>
  isObjectGone(err) ? 'not_linked' : isPermissionRefusal(err) ? 'permission_missing' : undefined;

const reasonOf = (state: InstagramState) =>
  state === 'not_linked' ? 'instagram_not_linked' : 'instagram_permission_missing';

/** Every day unavailable for the account's `state`. */
function refusedAccount(state: InstagramState, days: string[], names: readonly MetricName[]): InstagramNumbers {
  return {
    state,
    followers: unavailable(reasonOf(state)),
    days: Object.fromEntries(days.map((day) => [day, each(names, unavailable(reasonOf(state)))])),
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
  names: readonly MetricName[],
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
    return refusedAccount(state, days, names);
  }
}

/**
 * Followers, then the insights metrics of `options.metrics` per day. Meta's permission (10,
 * 200–299) and unlinked (100/33) answers become numbers with reasons and the account's state, per
 * metric: followers read before insights were refused keep their value. A metric Meta refuses is
 * `metric_unsupported` from then on and named in `refused`; the others are asked without it. A day
 * Meta refuses for itself (a subcode, a code 100 not about a metric) is `meta_refused` and the next
 * day is asked; an error that stops the loop (a throttle, a 5xx) after a day was answered keeps the
 * days answered and names the rest (`stopped`).
 */
export async function fetchInstagram(
  graph: GraphCalls,
  igId: string | null,
  days: string[],
  timezone: string,
  log: Logger,
  options: {
    today: string;
    followers: boolean;
    pacing: InstagramPacing;
    signal?: AbortSignal;
    metrics?: readonly MetricName[];
  },
): Promise<InstagramNumbers> {
  const insights = metricsOf('instagram', options.metrics ?? CORE_METRICS).filter(
    (name) => graphMetricOf(name) !== undefined,
  );
  if (igId === null) return refusedAccount('not_linked', days, insights);
  const followers = await fetchFollowers(graph, igId, days, options.followers, insights, log);
  if ('state' in followers) return followers;
  const result: InstagramNumbers = { state: 'ok', followers, days: {} };
  const refused: MetricRefusal[] = [];
  let asked = [...insights];
  const split = { breakdowns: false };
  const beyondAll = (day: string) => beyondMetaHistory('instagram', day, options.today);
  const beyond = (name: MetricName, day: string) =>
    beyondAll(day) || daysBetween(day, options.today) > metricOf(name).historyDays;
  let answered = false;
  const finish = () => {
    for (const { name } of refused)
      for (const day of Object.keys(result.days)) result.days[day][name] ??= unavailable('metric_unsupported');
    if (refused.length) result.refused = refused;
    return result;
  };
  for (const [index, day] of days.entries()) {
    if (result.state !== 'ok') {
      result.days[day] = each(insights, unavailable(reasonOf(result.state)));
      continue;
    }
    const past = asked.filter((name) => beyond(name, day));
    const today = asked.filter((name) => !beyond(name, day));
    if (today.length === 0) {
      result.days[day] = {
        ...each(past, unavailable('beyond_meta_history')),
        ...each(
          refused.map((r) => r.name),
          unavailable('metric_unsupported'),
        ),
      };
      continue;
    }
    // Each call is decided on the usage Meta reported with the previous one.
    const budget = instagramBudget(graph.usage, igId, options.pacing);
    if (budget.stop) {
      const rest = days.slice(index).filter((d) => !beyondAll(d));
      for (const d of days.slice(index))
        if (!rest.includes(d)) result.days[d] = each(insights, unavailable('beyond_meta_history'));
      result.deferred = { days: rest, afterMs: budget.retryAfterMs ?? DEFAULT_DEFER_MS };
      log.warn(
        { percent: budget.percent, deferred: rest.length },
        "Instagram's budget is nearly spent; the remaining days are deferred",
      );
      break;
    }
    if (budget.delayMs > 0) await pause(budget.delayMs, options.signal);
    try {
      const values = await fetchInstagramDay(graph, igId, dayBoundsUnix(day, timezone), today, {
        atHistoryEdge: atMetaHistoryEdge('instagram', day, options.today),
        split,
        onRefused: (metric, error) => {
          const lost = namesOf(metric, asked);
          log.warn(
            { metric, fields: lost, code: error.code },
            'Meta refused an Instagram metric; reporting it as unsupported',
          );
          for (const name of lost) refused.push({ name, code: error.errorCode, message: error.message });
          asked = asked.filter((name) => !lost.includes(name));
        },
      });
      result.days[day] = { ...each(past, unavailable('beyond_meta_history')), ...values };
      answered = true;
    } catch (err) {
      const state = missing(err);
      if (state) {
        log.warn(
          { code: (err as MetaError).errorCode, state },
          'Meta refused Instagram insights; they are unavailable',
        );
        result.state = state;
        result.days[day] = each(insights, unavailable(reasonOf(state)));
        continue;
      }
      if (
        isDayRefusal(
          err,
          today.map((name) => graphMetricOf(name)!),
        )
      ) {
        log.warn(
          { code: err.errorCode, subcode: err.subcode, day },
          'Meta refused one Instagram day; the others are asked',
        );
        result.days[day] = each(today, unavailable('meta_refused'));
        answered = true;
        continue;
      }
      if (!answered) throw err;
      const rest = days.slice(index).filter((d) => !beyondAll(d));
      for (const d of days.slice(index))
        if (!rest.includes(d)) result.days[d] = each(insights, unavailable('beyond_meta_history'));
      log.warn(
        { code: (err as MetaError).errorCode, left: rest.length },
        'the Instagram fetch stopped midway; the days answered are kept',
      );
      result.stopped = { days: rest, error: err as MetaError };
      break;
    }
  }
  return finish();
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
 * One day of Instagram's insights metrics `names`: one request per group Meta accepts together
 * (the same `metric_type` and `breakdown`). When Meta refuses a request as an invalid metric (its
 * message says so), the refused metric is found and reported (`onRefused`), and the others are
 * asked without it; it is `metric_unsupported` for the day.
 */
async function fetchInstagramDay(
  graph: GraphCalls,
  igId: string,
  bounds: { since: number; until: number },
  names: readonly MetricName[],
  options: {
    /** The day is at the edge of Meta's history: an empty answer means Meta no longer keeps it. */
    atHistoryEdge: boolean;
    onRefused: (metric: string, error: MetaError) => void;
    /** Shared by the fetch's days: set once Meta refused a breakdown beside other metrics. */
    split: { breakdowns: boolean };
  },
): Promise<DayMetrics> {
  const values: DayMetrics = {};
  const empty = options.atHistoryEdge ? 'beyond_meta_history' : 'no_data';
  const groups = insightsGroups(names, options.split.breakdowns);
  while (groups.length) {
    const group = groups.shift()!;
    let asked: Awaited<ReturnType<typeof askGroup>>;
    try {
      asked = await askGroup(group);
    } catch (err) {
      if (!isBreakdownRefusal(err) || options.split.breakdowns) throw err;
      // Meta refused the breakdown beside the other metrics: each breakdown is asked on its own from now on.
      options.split.breakdowns = true;
      groups.unshift(...insightsGroups(namesOfGroup(group, names), true));
      continue;
    }
    const { answers, refused } = asked;
    for (const { metrics, body } of answers)
      for (const metric of metrics) {
        const entry = body.data.find((e) => e.name === metric);
        for (const name of namesOf(metric, names)) values[name] = valueOf(name, entry, empty);
      }
    for (const { metric, error } of refused) {
      options.onRefused(metric, error);
      for (const name of namesOf(metric, names)) values[name] = unavailable('metric_unsupported');
    }
  }
  return values;

  function askGroup(group: InsightsGroup) {
    return askSplitting(group.graphMetrics, async (metrics) =>
      parse(
        instagramInsightsSchema,
        await graph.get(`${encodeURIComponent(igId)}/insights`, {
          metric: metrics.join(','),
          period: 'day',
          ...group.params,
          since: String(bounds.since),
          until: String(bounds.until),
        }),
        `GET /${igId}/insights`,
      ),
    );
  }
}

/** The catalogue metrics of `names` a group asks. */
function namesOfGroup(group: InsightsGroup, names: readonly MetricName[]): MetricName[] {
  return names.filter((name) => group.graphMetrics.includes(graphMetricOf(name) ?? ''));
}

/**
 * A metric's number in its insights entry: the total, or for a metric read from a breakdown, the
 * value of its dimension (`follows_and_unfollows` by `follow_type`: FOLLOWER, NON_FOLLOWER).
 */
function valueOf(
  name: MetricName,
  entry: InsightsEntry | undefined,
  empty: 'no_data' | 'beyond_meta_history',
): MetricValue {
  const graph = metricOf(name).graph;
  if (graph.edge !== 'insights' || !('dimension' in graph)) return toMetric(entry?.total_value?.value, empty);
  const results = entry?.total_value?.breakdowns?.find((b) => b.dimension_keys?.includes(graph.breakdown))?.results;
  return toMetric(results?.find((r) => r.dimension_values.includes(graph.dimension))?.value, empty);
}
