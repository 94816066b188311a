/** Which days a refresh asks Meta for, and how it writes what Meta gave. */

import { lastDays } from '../src/dates';
import { dayAfterFetch } from '../src/domain/last-known-good';
import { beyondMetaHistory } from '../src/domain/meta-history';
import { isFinal } from '../src/domain/settled';
import { type MetricName, metricsOf, type Platform } from '../src/domain/vocabulary';
import { PLATFORMS, type FetchPlatformsResult, type UnavailableReason } from '../src/meta/types';
import type { CacheEntry, CacheStore } from '../src/stores/cache';
import type { RefreshInsightsInput } from './types';

/** Days to fetch, and each platform's share of them. */
export interface FetchDays {
  days: string[];
  /** Per platform, the days it asks: `days` without those it answered before in this refresh or refused for good. */
  platformDays: Record<Platform, string[]>;
  rows: ReadonlyMap<string, CacheEntry>;
}

/**
 * True when Meta refused that platform's part of the day (`meta_refused`) and gave none of its
 * numbers: asking again would spend a call on the same refusal every cycle.
 */
function refusedBefore(platform: Platform, row: CacheEntry | undefined): boolean {
  const data = row?.data;
  if (!data) return false;
  const names = metricsOf(platform);
  return (
    names.some((name) => data.unavailable?.[name] === 'meta_refused') &&
    names.every((name) => typeof data[name] !== 'number')
  );
}

/**
 * The lookback days and the requested ones (or, for a platform's retry, the days it still owes),
 * up to today, without the days Meta no longer keeps and the days whose numbers are already final
 * (fetched after Meta's 48 h): fetching them again would spend Instagram's budget for the same
 * numbers. A platform also leaves out the days Meta refused it before. `rows` are the days' rows as read.
 */
export async function daysToFetch(
  cache: CacheStore,
  clientId: string,
  timezone: string,
  today: string,
  input: Pick<RefreshInsightsInput, 'lookbackDays' | 'days' | 'platformDays'>,
): Promise<FetchDays> {
  const owed = input.platformDays;
  const asked = owed
    ? PLATFORMS.flatMap((platform) => owed[platform] ?? [])
    : [...lastDays(timezone, input.lookbackDays), ...(input.days ?? [])];
  const wanted = [...new Set(asked)].filter((day) => day <= today && !beyondMetaHistory('facebook', day, today)).sort();
  const none = { facebook: [], instagram: [] };
  if (wanted.length === 0) return { days: [], platformDays: none, rows: new Map() };
  const rows = new Map(
    (await cache.range(clientId, wanted[0], wanted[wanted.length - 1])).map((row) => [row.periodId, row]),
  );
  const days = wanted.filter((day) => !isFinal(day, timezone, rows.get(day)));
  const share = (platform: Platform) =>
    days.filter((day) => (!owed || (owed[platform] ?? []).includes(day)) && !refusedBefore(platform, rows.get(day)));
  return { days, platformDays: { facebook: share('facebook'), instagram: share('instagram') }, rows };
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
  metrics?: readonly MetricName[],
): Promise<number> {
  // Merged onto each row as it is at write time (locked): a client has one refresh in flight
  // (its workflow id), so a row written since `rows` was read was written by an admin's POST
  // while Meta answered; `dayAfterFetch` keeps that row's numbers.
  return cache.mergeDays(clientId, result.days, new Date(result.fetchedAt), (day, current) =>
    dayAfterFetch({ result, day, today, before: rows.get(day), current, pending, metrics }),
  );
}
