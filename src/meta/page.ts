/**
 * Facebook's part of a fetch: the Page's daily numbers, every metric asked in one insights call
 * per window of at most 90 days (Meta refuses longer ones, and asks for smaller ones when it is
 * overloaded). A refusal costs what it is about: a permission or a Page that is gone, the Page; a
 * metric, its numbers (the others are asked again without it); a day, that day's window. An error
 * midway keeps the windows already answered.
 */

import { z } from 'zod';
import { addDays, dayOfEndTime, daysBetween } from '../dates';
import { atMetaHistoryEdge, beyondMetaHistory } from '../domain/meta-history';
import { metricOf, type MetricName } from '../domain/vocabulary';
import type { Logger } from '../boot/logger';
import type { MetaError } from './errors';
import { type GraphCalls, parse } from './graph';
import { askSplitting, graphMetricOf, namesOf } from './metric-requests';
import { isDayRefusal, isObjectGone, isPermissionRefusal, isReduceDataError } from './refusals';
import type { DayMetrics, FacebookNumbers, FacebookState, MetricRefusal, MetricValue } from './types';
import { toMetric, unavailable } from './values';

/** Facebook new followers per day; the removed `page_fan_adds_unique` answered the same question. */
export const PAGE_FOLLOWS_METRIC = 'page_daily_follows_unique';

/** Meta refuses Page insights windows longer than this. */
const MAX_WINDOW_DAYS = 90;

const pageInsightsSchema = z.object({
  data: z.array(
    z.object({
      name: z.string(),
      values: z.array(z.object({ value: z.unknown().optional(), end_time: z.string() })).optional(),
    }),
  ),
});

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

/** The reason every Facebook number of a refused Page carries. */
const PAGE_REASON = {
  permission_missing: 'facebook_permission_missing',
  not_accessible: 'page_not_accessible',
} as const;

/** Every metric of `names` with the same value. */
const each = (names: readonly MetricName[], value: MetricValue): DayMetrics =>
  Object.fromEntries(names.map((name) => [name, value]));

/**
 * The Page's `names` per day of `days` (sorted): every day answered gets each metric's number or
 * the reason Meta gave none. A refused Page gives its state and the reason on every day not yet
 * answered; a metric Meta refuses is `metric_unsupported` on every day and named in `refused`; an
 * error that is neither (a throttle, a 5xx) after some windows were answered stops the fetch there
 * and names the days left (`stopped`), and before any was answered is thrown.
 */
export async function fetchPage(
  graph: GraphCalls,
  pageId: string,
  days: string[],
  today: string,
  log: Logger,
  names: readonly MetricName[] = ['facebookNewFollowers'],
): Promise<FacebookNumbers> {
  const result: Record<string, DayMetrics> = {};
  const refused: MetricRefusal[] = [];
  let state: FacebookState = 'ok';
  const day = (d: string) => (result[d] ??= {});
  // Days Meta no longer keeps are not asked, per metric (Meta would answer an empty data set).
  const beyond = (name: MetricName, d: string) =>
    beyondMetaHistory('facebook', d, today) || daysBetween(d, today) > metricOf(name).historyDays;
  for (const d of days)
    for (const name of names) if (beyond(name, d)) day(d)[name] = unavailable('beyond_meta_history');
  let asked = names.filter((name) => days.some((d) => !beyond(name, d)));
  const queue = pageWindows(days.filter((d) => asked.some((name) => !beyond(name, d))));
  let progress = false;
  while (queue.length > 0) {
    const window = queue[0];
    const metrics = [...new Set(asked.map((name) => graphMetricOf(name)!))];
    let answers: { metrics: string[]; body: unknown }[];
    try {
      const split = await askSplitting(metrics, (batch) =>
        graph.get(`${encodeURIComponent(pageId)}/insights`, {
          metric: batch.join(','),
          period: 'day',
          since: window[0],
          until: addDays(window[window.length - 1], 1),
        }),
      );
      answers = split.answers;
      for (const { metric, error } of split.refused) {
        const lost = namesOf(metric, asked);
        log.warn({ metric, fields: lost, code: error.code }, 'Meta refused a Page metric; reporting it as unsupported');
        for (const name of lost) refused.push({ name, code: error.errorCode, message: error.message });
        asked = asked.filter((name) => !lost.includes(name));
        for (const w of queue) for (const d of w) Object.assign(day(d), each(lost, unavailable('metric_unsupported')));
      }
    } catch (err) {
      const refusedPage = pageRefusal(err);
      if (refusedPage) {
        state = refusedPage;
        log.warn({ code: (err as MetaError).errorCode, state }, 'Meta refused the Page; its numbers are unavailable');
        for (const w of queue)
          for (const d of w) Object.assign(day(d), each(asked, unavailable(PAGE_REASON[refusedPage])));
        return {
          state,
          days: result,
          refusal: { code: (err as MetaError).errorCode, message: (err as MetaError).message },
          ...(refused.length ? { refused } : {}),
        };
      }
      queue.shift();
      if (isReduceDataError(err) && window.length > 1) {
        // Meta asks for less at a time: the window is asked again in halves.
        const half = Math.ceil(window.length / 2);
        queue.unshift(window.slice(0, half), window.slice(half));
        continue;
      }
      if (isDayRefusal(err, metrics)) {
        log.warn(
          { code: err.errorCode, days: window.length },
          'Meta refused a window of Page days; only those days are unavailable',
        );
        for (const d of window) Object.assign(day(d), each(asked, unavailable('meta_refused')));
        progress = true;
        continue;
      }
      if (!progress) throw err;
      const rest = [window, ...queue].flat();
      log.warn(
        { code: (err as MetaError).errorCode, left: rest.length },
        'the Page fetch stopped midway; the days answered are kept',
      );
      return {
        state,
        days: result,
        stopped: { days: rest, error: err as MetaError },
        ...(refused.length ? { refused } : {}),
      };
    }
    queue.shift();
    progress = true;
    const wanted = new Set(window);
    for (const answer of answers) {
      const insights = parse(pageInsightsSchema, answer.body, `GET /${pageId}/insights`);
      for (const metric of answer.metrics) {
        const targets = namesOf(metric, asked);
        const values = insights.data.find((entry) => entry.name === metric)?.values ?? [];
        for (const { value, end_time } of values) {
          const d = dayOfEndTime(end_time);
          if (d !== undefined && wanted.has(d)) Object.assign(day(d), each(targets, toMetric(value)));
        }
      }
    }
    // A day at the edge of Meta's history (Meta's clock is US-Pacific) that came back empty is gone, not missing.
    for (const d of window)
      for (const name of asked)
        if (!(name in day(d)))
          day(d)[name] = atMetaHistoryEdge('facebook', d, today)
            ? unavailable('beyond_meta_history')
            : unavailable('no_data');
  }
  // Metrics refused in an earlier window read as unsupported on every day.
  for (const { name } of refused) for (const d of days) day(d)[name] ??= unavailable('metric_unsupported');
  return { state, days: result, ...(refused.length ? { refused } : {}) };
}

/** The Page's state a refusal says (a permission missing, a Page gone); undefined for other errors. */
export function pageRefusal(err: unknown): Exclude<FacebookState, 'ok'> | undefined {
  if (isObjectGone(err)) return 'not_accessible';
  if (isPermissionRefusal(err)) return 'permission_missing';
  return undefined;
}
