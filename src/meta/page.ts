/**
 * Facebook's part of a fetch: the Page's new followers per day, one insights call per window of
 * at most 90 days (Meta refuses longer ones).
 */

import { z } from 'zod';
import { addDays, dayOfEndTime, daysBetween } from '../dates';
import { atMetaHistoryEdge, beyondMetaHistory } from '../domain/meta-history';
import type { Logger } from '../boot/logger';
import { isInvalidMetricError } from './classify';
import { type GraphCalls, parse } from './graph';
import type { MetricValue } from './types';
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

/** New followers per day of `days` (sorted), each a number or the reason Meta gave none. */
export async function fetchPageFollows(
  graph: GraphCalls,
  pageId: string,
  days: string[],
  today: string,
  log: Logger,
): Promise<Map<string, MetricValue>> {
  const result = new Map<string, MetricValue>();
  // Days Meta no longer keeps are not asked (Meta would answer an empty data set).
  for (const day of days)
    if (beyondMetaHistory('facebook', day, today)) result.set(day, unavailable('beyond_meta_history'));
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
      log.warn(
        { metric: PAGE_FOLLOWS_METRIC, code: err.code },
        'Meta refused the Page metric; reporting it as unsupported',
      );
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
    for (const day of window)
      if (!result.has(day) && atMetaHistoryEdge('facebook', day, today))
        result.set(day, unavailable('beyond_meta_history'));
  }
  return result;
}
