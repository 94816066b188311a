import { addDays, startOfDay } from '../../src/dates';
import { cachedSource } from '../../src/domain/freshness';
import { isFinal, SETTLE_MS } from '../../src/domain/settled';

const TIMEZONE = 'America/Los_Angeles';
const DATA = { facebookNewFollowers: 3, instagramFollowers: null, instagramReach: 12275, instagramProfileViews: 41 };

describe('when a day is final, and what a final day costs a read', () => {
  const day = '2026-11-20';
  const settlesAt = startOfDay(addDays(day, 1), TIMEZONE) + SETTLE_MS;

  it('makes a day final once it was fetched 48 h after it ended in the client timezone', () => {
    expect(isFinal(day, TIMEZONE, { data: DATA, fetchedAt: new Date(settlesAt - 1) })).toBe(false);
    expect(isFinal(day, TIMEZONE, { data: DATA, fetchedAt: new Date(settlesAt) })).toBe(true);
  });

  it('keeps a day with a platform never fetched (throttled, failed) from being final', () => {
    const fetchedAt = new Date(settlesAt + 3_600_000);
    expect(isFinal(day, TIMEZONE, { data: { ...DATA, unavailable: { instagramReach: 'throttled' } }, fetchedAt })).toBe(
      false,
    );
    expect(
      isFinal(day, TIMEZONE, { data: { ...DATA, unavailable: { instagramReach: 'fetch_failed' } }, fetchedAt }),
    ).toBe(false);
    expect(
      isFinal(day, TIMEZONE, { data: { ...DATA, unavailable: { instagramFollowers: 'no_snapshot' } }, fetchedAt }),
    ).toBe(true);
    expect(isFinal(day, TIMEZONE, undefined)).toBe(false);
  });

  it('serves a final day as fresh whatever its age, so no read ever refreshes it', () => {
    const ttlMs = 4 * 3_600_000;
    expect(cachedSource(ttlMs - 1, ttlMs, false)).toBe('cache');
    expect(cachedSource(ttlMs, ttlMs, false)).toBe('stale-cache');
    expect(cachedSource(ttlMs, ttlMs, true)).toBe('cache');
    expect(cachedSource(400 * 86_400_000, ttlMs, true)).toBe('cache');
  });
});
