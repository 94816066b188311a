import fc from 'fast-check';
import { dayAfterFetch, type DayRow, keptFrom, mergeDay } from '../../src/domain/last-known-good';
import {
  METRIC_NAMES,
  type FetchPlatformsResult,
  type MetricName,
  type MetricValue,
  type UnavailableReason,
} from '../../src/meta/types';
import type { CacheData } from '../../src/stores/cache';
import { UNAVAILABLE_REASONS } from '../../src/domain/vocabulary';

const REASONS: readonly UnavailableReason[] = UNAVAILABLE_REASONS;

const reason = fc.constantFrom(...REASONS);
const metricValue: fc.Arbitrary<MetricValue> = fc.oneof(
  fc.nat().map((value): MetricValue => ({ value })),
  reason.map((r): MetricValue => ({ value: null, reason: r })),
);
const instant = fc.date({
  min: new Date('2024-01-01T00:00:00Z'),
  max: new Date('2027-01-01T00:00:00Z'),
  noInvalidDate: true,
});

/** A stored row: each metric a number or null (with a reason), some numbers kept from an older fetch. */
const row: fc.Arbitrary<DayRow> = fc
  .record({
    values: fc.tuple(...METRIC_NAMES.map(() => fc.option(fc.nat(), { nil: null }))),
    reasons: fc.tuple(...METRIC_NAMES.map(() => reason)),
    kept: fc.tuple(...METRIC_NAMES.map(() => fc.option(instant, { nil: undefined }))),
    fetchedAt: fc.option(instant, { nil: null }),
  })
  .map(({ values, reasons, kept, fetchedAt }) => {
    const data = {} as CacheData;
    const unavailable: NonNullable<CacheData['unavailable']> = {};
    const keptSince: NonNullable<CacheData['keptFrom']> = {};
    METRIC_NAMES.forEach((name, i) => {
      data[name] = values[i];
      if (values[i] === null) unavailable[name] = reasons[i];
      const since = kept[i];
      if (values[i] !== null && since) keptSince[name] = since.toISOString();
    });
    if (Object.keys(unavailable).length) data.unavailable = unavailable;
    if (Object.keys(keptSince).length) data.keptFrom = keptSince;
    return { data, fetchedAt };
  });

/** What a fetch gave: any subset of the metrics, each a number or null with a reason. */
const fetched = fc.tuple(...METRIC_NAMES.map(() => fc.option(metricValue, { nil: undefined }))).map((values) => {
  const day: Partial<Record<MetricName, MetricValue>> = {};
  METRIC_NAMES.forEach((name, i) => {
    if (values[i]) day[name] = values[i];
  });
  return day;
});

const previousRow = fc.option(row, { nil: undefined });
const pending = fc.constantFrom<UnavailableReason>('throttled', 'fetch_failed');

describe('the last-known-good merge', () => {
  it('never replaces a number with null, whatever the fetch gave', () => {
    fc.assert(
      fc.property(previousRow, fetched, pending, (previous, day, why) => {
        const merged = mergeDay(previous, day, why, METRIC_NAMES);
        for (const name of METRIC_NAMES) {
          const known = previous?.data?.[name];
          if (typeof known === 'number') expect(typeof merged[name]).toBe('number');
        }
      }),
    );
  });

  it('takes every number the fetch gave, and keeps the one it lacks unchanged', () => {
    fc.assert(
      fc.property(previousRow, fetched, pending, (previous, day, why) => {
        const merged = mergeDay(previous, day, why, METRIC_NAMES);
        for (const name of METRIC_NAMES) {
          const value = day[name]?.value;
          const known = previous?.data?.[name];
          if (typeof value === 'number') expect(merged[name]).toBe(value);
          else if (typeof known === 'number') expect(merged[name]).toBe(known);
          else expect(merged[name]).toBeNull();
        }
      }),
    );
  });

  it('gives every null a reason and no number a reason', () => {
    fc.assert(
      fc.property(previousRow, fetched, pending, (previous, day, why) => {
        const merged = mergeDay(previous, day, why, METRIC_NAMES);
        for (const name of METRIC_NAMES) {
          if (merged[name] === null) expect(REASONS).toContain(merged.unavailable?.[name]);
          else expect(merged.unavailable?.[name]).toBeUndefined();
        }
      }),
    );
  });

  it('dates a kept number from the fetch that gave it, and a fetched one from the new fetch (no keptFrom)', () => {
    fc.assert(
      fc.property(previousRow, fetched, pending, (previous, day, why) => {
        const merged = mergeDay(previous, day, why, METRIC_NAMES);
        for (const name of METRIC_NAMES) {
          const fetchedNumber = typeof day[name]?.value === 'number';
          const kept = !fetchedNumber && typeof previous?.data?.[name] === 'number';
          expect(merged.keptFrom?.[name]).toBe(kept ? keptFrom(previous, name) : undefined);
        }
      }),
    );
  });

  it('keeps a number first kept long ago dated from then, not from the fetch in between', () => {
    const previous: DayRow = {
      data: {
        facebookNewFollowers: 5,
        instagramFollowers: 7,
        instagramReach: 1,
        instagramProfileViews: 2,
        keptFrom: { facebookNewFollowers: '2026-01-01T00:00:00.000Z' },
      },
      fetchedAt: new Date('2026-01-03T00:00:00.000Z'),
    };
    const merged = mergeDay(
      previous,
      { facebookNewFollowers: { value: null, reason: 'fetch_failed' } },
      'fetch_failed',
    );
    expect(merged.facebookNewFollowers).toBe(5);
    // The Instagram numbers not fetched now came with the previous row's fetch.
    const previousFetch = '2026-01-03T00:00:00.000Z';
    expect(merged.keptFrom).toEqual({
      facebookNewFollowers: '2026-01-01T00:00:00.000Z',
      instagramFollowers: previousFetch,
      instagramReach: previousFetch,
      instagramProfileViews: previousFetch,
    });
  });

  it('shows a platform never fetched as pending on a new row, and keeps the reason it had on an old one', () => {
    const merged = mergeDay(undefined, { facebookNewFollowers: { value: 3 } }, 'throttled');
    expect(merged).toEqual({
      facebookNewFollowers: 3,
      instagramFollowers: null,
      instagramReach: null,
      instagramProfileViews: null,
      unavailable: { instagramFollowers: 'throttled', instagramReach: 'throttled', instagramProfileViews: 'throttled' },
    });
    const again = mergeDay({ data: merged, fetchedAt: new Date() }, { instagramReach: { value: 9 } }, 'fetch_failed');
    expect(again.unavailable).toEqual({ instagramFollowers: 'throttled', instagramProfileViews: 'throttled' });
    expect(again.facebookNewFollowers).toBe(3);
  });

  it('writes the metrics kept, and never drops a number of a metric switched off since', () => {
    const kept = [
      'facebookNewFollowers',
      'instagramFollowers',
      'instagramReach',
      'instagramProfileViews',
      'instagramViews',
    ] as const;
    const first = mergeDay(undefined, { instagramViews: { value: 70 } }, 'throttled', kept);
    expect(first.instagramViews).toBe(70);
    expect(first).not.toHaveProperty('facebookUnfollows');
    const pending = mergeDay(undefined, {}, 'throttled', kept);
    expect(pending).toMatchObject({ instagramViews: null, unavailable: { instagramViews: 'throttled' } });
    // METRICS no longer names instagramViews: the row keeps its number, as kept from the earlier fetch.
    const fetchedAt = new Date('2026-05-10T12:00:00.000Z');
    const later = mergeDay({ data: first, fetchedAt }, { instagramReach: { value: 5 } }, 'fetch_failed');
    expect(later.instagramViews).toBe(70);
    expect(later.keptFrom?.instagramViews).toBe(fetchedAt.toISOString());
  });
});

function fetchResult(day: string, overrides: { followers?: MetricValue } = {}): FetchPlatformsResult {
  return {
    fetchedAt: '2026-05-10T12:00:00.000Z',
    days: [day],
    facebook: { status: 'fetched', data: { state: 'ok', days: { [day]: { facebookNewFollowers: { value: 11 } } } } },
    instagram: {
      status: 'fetched',
      data: {
        state: 'ok',
        followers: overrides.followers ?? { value: 500 },
        days: { [day]: { instagramReach: { value: 40 }, instagramProfileViews: { value: 4 } } },
      },
    },
    usage: { business: {}, maxPercent: 0 },
    calls: 3,
  };
}

describe('a day written after a fetch', () => {
  const numbers = (n: number): CacheData => ({
    facebookNewFollowers: n,
    instagramFollowers: n,
    instagramReach: n,
    instagramProfileViews: n,
  });

  it("keeps an admin's numbers written while Meta answered, and fills in only what that row lacks", () => {
    const before: DayRow = { data: numbers(1), fetchedAt: new Date('2026-05-10T11:00:00Z') };
    const current: DayRow = {
      data: { ...numbers(2), instagramReach: null, unavailable: { instagramReach: 'no_data' } },
      fetchedAt: new Date('2026-05-10T11:30:00Z'),
    };
    const day = dayAfterFetch({
      result: fetchResult('2026-05-10'),
      day: '2026-05-10',
      today: '2026-05-10',
      before,
      current,
      pending: 'fetch_failed',
    });
    expect(day).toMatchObject({
      facebookNewFollowers: 2,
      instagramFollowers: 2,
      instagramReach: 40,
      instagramProfileViews: 2,
    });
  });

  it('takes the fetch over the row it read before fetching', () => {
    const before: DayRow = { data: numbers(1), fetchedAt: new Date('2026-05-10T11:00:00Z') };
    const day = dayAfterFetch({
      result: fetchResult('2026-05-10'),
      day: '2026-05-10',
      today: '2026-05-10',
      before,
      current: before,
      pending: 'fetch_failed',
    });
    expect(day).toEqual({
      facebookNewFollowers: 11,
      instagramFollowers: 500,
      instagramReach: 40,
      instagramProfileViews: 4,
    });
  });

  it("gives a past day the followers snapshot taken that day, never today's count", () => {
    const current: DayRow = { data: numbers(1), fetchedAt: new Date('2026-05-09T23:00:00Z') };
    const past = dayAfterFetch({
      result: fetchResult('2026-05-09'),
      day: '2026-05-09',
      today: '2026-05-10',
      before: current,
      current,
      pending: 'fetch_failed',
    });
    expect(past.instagramFollowers).toBe(1);
    const none = dayAfterFetch({
      result: fetchResult('2026-05-08'),
      day: '2026-05-08',
      today: '2026-05-10',
      before: undefined,
      current: undefined,
      pending: 'fetch_failed',
    });
    expect(none.instagramFollowers).toBeNull();
    expect(none.unavailable?.instagramFollowers).toBe('no_snapshot');
  });
});
