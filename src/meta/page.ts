/**
 * Facebook's part of a fetch: the Page's new followers per day, one insights call per window of
 * at most 90 days (Meta refuses longer ones, and asks for smaller ones when it is overloaded).
 * A refusal costs what it is about: a permission or a Page that is gone, the Page; a metric, its
 * numbers; a day, that day's window. An error midway keeps the windows already answered.
 */

import { z } from 'zod';
import { addDays, dayOfEndTime, daysBetween } from '../dates';
import { atMetaHistoryEdge, beyondMetaHistory } from '../domain/meta-history';
import type { Logger } from '../boot/logger';
import type { MetaError } from './errors';
import { type GraphCalls, parse } from './graph';
import { isDayRefusal, isMetricRefusal, isObjectGone, isPermissionRefusal, isReduceDataError } from './refusals';
import type { FacebookNumbers, FacebookState, MetricValue } from './types';
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

/**
 * New followers per day of `days` (sorted): every day answered gets a number or the reason Meta
 * gave none. A refused Page gives its state and the reason on every day not yet answered; an error
 * that is neither (a throttle, a 5xx) after some windows were answered stops the fetch there and
 * names the days left (`stopped`), and before any was answered is thrown.
 */
export async function fetchPageFollows(
  graph: GraphCalls,
  pageId: string,
  days: string[],
  today: string,
  log: Logger,
): Promise<FacebookNumbers> {
  const result: Record<string, MetricValue> = {};
  let state: FacebookState = 'ok';
  // Days Meta no longer keeps are not asked (Meta would answer an empty data set).
  for (const day of days)
    if (beyondMetaHistory('facebook', day, today)) result[day] = unavailable('beyond_meta_history');
  const queue = pageWindows(days.filter((day) => !(day in result)));
  let progress = false;
  while (queue.length > 0) {
    const window = queue[0];
    let body: unknown;
    try {
      body = await graph.get(`${encodeURIComponent(pageId)}/insights`, {
        metric: PAGE_FOLLOWS_METRIC,
        period: 'day',
        since: window[0],
        until: addDays(window[window.length - 1], 1),
      });
    } catch (err) {
      const refused = pageRefusal(err);
      if (refused) {
        state = refused;
        log.warn({ code: (err as MetaError).errorCode, state }, 'Meta refused the Page; its numbers are unavailable');
        for (const w of queue) for (const day of w) result[day] = unavailable(PAGE_REASON[refused]);
        return {
          state,
          days: result,
          refusal: { code: (err as MetaError).errorCode, message: (err as MetaError).message },
        };
      }
      queue.shift();
      if (isReduceDataError(err) && window.length > 1) {
        // Meta asks for less at a time: the window is asked again in halves.
        const half = Math.ceil(window.length / 2);
        queue.unshift(window.slice(0, half), window.slice(half));
        continue;
      }
      if (isMetricRefusal(err, [PAGE_FOLLOWS_METRIC])) {
        log.warn(
          { metric: PAGE_FOLLOWS_METRIC, code: err.code },
          'Meta refused the Page metric; reporting it as unsupported',
        );
        for (const day of window) result[day] = unavailable('metric_unsupported');
        progress = true;
        continue;
      }
      if (isDayRefusal(err, [PAGE_FOLLOWS_METRIC])) {
        log.warn(
          { code: err.errorCode, days: window.length },
          'Meta refused a window of Page days; only those days are unavailable',
        );
        for (const day of window) result[day] = unavailable('meta_refused');
        progress = true;
        continue;
      }
      if (!progress) throw err;
      const rest = [window, ...queue].flat();
      log.warn(
        { code: (err as MetaError).errorCode, left: rest.length },
        'the Page fetch stopped midway; the days answered are kept',
      );
      return { state, days: result, stopped: { days: rest, error: err as MetaError } };
    }
    queue.shift();
    progress = true;
    const insights = parse(pageInsightsSchema, body, `GET /${pageId}/insights`);
    const values = insights.data.find((entry) => entry.name === PAGE_FOLLOWS_METRIC)?.values ?? [];
    const wanted = new Set(window);
    for (const { value, end_time } of values) {
      const day = dayOfEndTime(end_time);
      if (day !== undefined && wanted.has(day)) result[day] = toMetric(value);
    }
    // A day at the edge of Meta's history (Meta's clock is US-Pacific) that came back empty is gone, not missing.
    for (const day of window)
      if (!(day in result))
        result[day] = atMetaHistoryEdge('facebook', day, today)
          ? unavailable('beyond_meta_history')
          : unavailable('no_data');
  }
  return { state, days: result };
}

/** The Page's state a refusal says (a permission missing, a Page gone); undefined for other errors. */
export function pageRefusal(err: unknown): Exclude<FacebookState, 'ok'> | undefined {
  if (isObjectGone(err)) return 'not_accessible';
  if (isPermissionRefusal(err)) return 'permission_missing';
  return undefined;
}
