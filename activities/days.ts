/** Which days a refresh asks Meta for, and how it writes what Meta gave. */

import { lastDays } from '../src/dates';
import { dayAfterFetch } from '../src/domain/last-known-good';
import { beyondMetaHistory } from '../src/domain/meta-history';
import { isFinal } from '../src/domain/settled';
import type { FetchPlatformsResult, UnavailableReason } from '../src/meta/types';
import type { CacheEntry, CacheStore } from '../src/stores/cache';
import type { RefreshInsightsInput } from './types';

/**
 * The lookback days and the requested ones, up to today, without the days Meta no longer keeps
 * and the days whose numbers are already final (fetched after Meta's 48 h): fetching them
 * again would spend Instagram's budget for the same numbers. `rows` are the days' rows as read.
 */
export async function daysToFetch(
  cache: CacheStore,
  clientId: string,
  timezone: string,
  today: string,
  input: Pick<RefreshInsightsInput, 'lookbackDays' | 'days'>,
): Promise<{ days: string[]; rows: ReadonlyMap<string, CacheEntry> }> {
  const wanted = [...new Set([...lastDays(timezone, input.lookbackDays), ...(input.days ?? [])])]
    .filter((day) => day <= today && !beyondMetaHistory('facebook', day, today))
    .sort();
  if (wanted.length === 0) return { days: [], rows: new Map() };
  const rows = new Map(
    (await cache.range(clientId, wanted[0], wanted[wanted.length - 1])).map((row) => [row.periodId, row]),
  );
  return { days: wanted.filter((day) => !isFinal(day, timezone, rows.get(day))), rows };
}

/**
 * Writes each day's fetched platforms under the last-known-good rule; a past day keeps the
 * followers snapshot taken that day. A platform that was not fetched keeps its numbers.
 */
export async function writeInsights(
  cache: CacheStore,
  clientId: string,
  today: string,
  result: FetchPlatformsResult,
  pending: UnavailableReason,
  rows: ReadonlyMap<string, CacheEntry>,
): Promise<number> {
  // Merged onto each row as it is at write time (locked): a client has one refresh in flight
  // (its workflow id), so a row written since `rows` was read was written by an admin's POST
  // while Meta answered; `dayAfterFetch` keeps that row's numbers.
  return cache.mergeDays(clientId, result.days, new Date(result.fetchedAt), (day, current) =>
    dayAfterFetch({ result, day, today, before: rows.get(day), current, pending }),
  );
}
