/**
 * The rule the service exists for: a failure never replaces good numbers. A day's row after a
 * fetch takes the fetched numbers, keeps every number the fetch lacks, and says since when a kept
 * number is that old (`keptFrom`), so it is never shown as newer than it is.
 */

import { CORE_METRICS, METRIC_NAMES, metricsOf } from './vocabulary';
import type { FetchPlatformsResult, MetricName, MetricValue, UnavailableReason } from '../meta/types';
import type { CacheData } from '../stores/cache';

/** A day's row as the merge needs it: its numbers and when they were fetched. */
export interface DayRow {
  data: CacheData | null;
  fetchedAt: Date | null;
}

/** The numbers a fetch gave for one day: a value, or null with the reason Meta gave none. */
export type FetchedDay = Partial<Record<MetricName, MetricValue>>;

/**
 * Since when a number kept from `previous` is that old: the time it was first kept, or else the
 * previous row's own fetch (the number came with it). Undefined for a row never fetched.
 */
export function keptFrom(previous: DayRow | undefined, name: MetricName): string | undefined {
  return previous?.data?.keptFrom?.[name] ?? previous?.fetchedAt?.toISOString();
}

/**
 * The day's row after a fetch: the fetched platforms' numbers over the row's, keeping the
 * last-known-good rule per metric (a fetch that lacks a number the row has keeps the number);
 * a platform not fetched keeps the row's numbers and reasons as they are, and on a new row
 * shows `pending` (null, with the reason of its failure) until it is fetched.
 */
export function mergeDay(
  previous: DayRow | undefined,
  fetched: FetchedDay,
  pending: UnavailableReason,
  metrics: readonly MetricName[] = CORE_METRICS,
): CacheData {
  const data = {} as CacheData;
  const unavailable: NonNullable<CacheData['unavailable']> = {};
  const kept: NonNullable<CacheData['keptFrom']> = {};
  const before = previous?.data;
  // The metrics kept, those fetched, and those the row already has (a metric switched off keeps its numbers).
  const names = METRIC_NAMES.filter(
    (name) => metrics.includes(name) || name in fetched || (before !== undefined && before !== null && name in before),
  );
  for (const name of names) {
    const metric = fetched[name];
    const known = before?.[name];
    if (metric && metric.value !== null) {
      data[name] = metric.value;
    } else if (typeof known === 'number') {
      data[name] = known;
      const since = keptFrom(previous, name);
      if (since) kept[name] = since;
    } else if (metric) {
      data[name] = null;
      unavailable[name] = metric.reason;
    } else {
      data[name] = null;
      unavailable[name] = (before && known === null && before.unavailable?.[name]) || pending;
    }
  }
  if (Object.keys(unavailable).length) data.unavailable = unavailable;
  if (Object.keys(kept).length) data.keptFrom = kept;
  return data;
}

/**
 * The metrics a fetch gave for one day, by platform fetched; `followers` is the day's Instagram
 * followers. A day a platform did not answer (deferred near its budget, left when an error stopped
 * the fetch midway, not its to ask) is left as it is, like a platform not fetched; a platform held
 * back (a throttle Meta estimated, a Page gone) gives each of its numbers the hold's reason, which
 * the merge puts only where no number is known.
 */
export function fetchedMetrics(
  result: FetchPlatformsResult,
  day: string,
  followers: MetricValue | undefined,
  metrics: readonly MetricName[] = CORE_METRICS,
): FetchedDay {
  const fetched: FetchedDay = {};
  const fb = result.facebook;
  if (fb.status === 'fetched' && fb.data.days[day]) Object.assign(fetched, fb.data.days[day]);
  if (fb.status === 'held')
    for (const name of metricsOf('facebook', metrics)) fetched[name] = { value: null, reason: fb.reason };
  const ig = result.instagram;
  const igDay = ig.status === 'fetched' ? ig.data.days[day] : undefined;
  if (igDay) {
    if (followers) fetched.instagramFollowers = followers;
    Object.assign(fetched, igDay);
  }
  if (ig.status === 'held')
    for (const name of metricsOf('instagram', metrics)) fetched[name] = { value: null, reason: ig.reason };
  return fetched;
}

/**
 * Instagram followers for `day`: a snapshot of now, so only today takes the fetched count; a
 * past day keeps the snapshot taken that day, or has none.
 */
export function followersFor(
  result: FetchPlatformsResult,
  day: string,
  today: string,
  current: DayRow | undefined,
): MetricValue | undefined {
  if (result.instagram.status !== 'fetched') return undefined;
  const followers = result.instagram.data.followers;
  if (day === today) return followers;
  const snapshot = current?.data?.instagramFollowers;
  return typeof snapshot === 'number'
    ? { value: snapshot }
    : followers.value === null
      ? followers
      : { value: null, reason: 'no_snapshot' };
}

/**
 * A day's row at write time after a fetch. `before` is the row as the refresh read it before
 * fetching, `current` as it is now (locked): a row written since then (an admin's POST while
 * Meta answered) has numbers newer than the fetch's start, which stay; the fetch fills in only
 * what that row lacks, and a failure never replaces a number.
 */
export function dayAfterFetch(input: {
  result: FetchPlatformsResult;
  day: string;
  today: string;
  before: DayRow | undefined;
  current: DayRow | undefined;
  pending: UnavailableReason;
  /** The metrics kept (METRICS); absent: the seed's four. */
  metrics?: readonly MetricName[];
}): CacheData {
  const { result, day, today, before, current, pending, metrics } = input;
  const writtenMeanwhile =
    !!current?.fetchedAt && (!before?.fetchedAt || current.fetchedAt.getTime() > before.fetchedAt.getTime());
  const fetched = fetchedMetrics(result, day, followersFor(result, day, today, current), metrics);
  if (writtenMeanwhile) {
    for (const name of Object.keys(fetched) as MetricName[])
      if (typeof current?.data?.[name] === 'number') delete fetched[name];
  }
  return mergeDay(current, fetched, pending, metrics);
}
