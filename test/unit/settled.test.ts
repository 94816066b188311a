import fc from 'fast-check';
import { startOfDay } from '../../src/dates';
import { fetchedSettled, isFinal, SETTLE_MS } from '../../src/domain/settled';
import type { CacheData } from '../../src/stores/cache';

const DAY = '2026-03-10';
const TZ = 'Europe/Warsaw';
/** When 2026-03-10 ends in Warsaw, plus Meta's 48 h. */
const settlesAt = startOfDay('2026-03-11', TZ) + SETTLE_MS;
const data: CacheData = { facebookNewFollowers: 1, instagramFollowers: 2, instagramReach: 3, instagramProfileViews: 4 };

describe('finality', () => {
  it('counts a day final only once fetched 48 h after it ended in the client timezone', () => {
    expect(settlesAt).toBe(Date.parse('2026-03-12T23:00:00Z'));
    expect(isFinal(DAY, TZ, { data, fetchedAt: new Date(settlesAt - 1) })).toBe(false);
    expect(isFinal(DAY, TZ, { data, fetchedAt: new Date(settlesAt) })).toBe(true);
  });

  it('is never final without numbers, or with a platform still pending', () => {
    const late = new Date(settlesAt + 86_400_000);
    expect(isFinal(DAY, TZ, undefined)).toBe(false);
    expect(isFinal(DAY, TZ, { data: null, fetchedAt: late })).toBe(false);
    expect(isFinal(DAY, TZ, { data, fetchedAt: null })).toBe(false);
    for (const reason of ['throttled', 'fetch_failed'] as const) {
      expect(
        isFinal(DAY, TZ, {
          data: { ...data, instagramReach: null, unavailable: { instagramReach: reason } },
          fetchedAt: late,
        }),
      ).toBe(false);
    }
    // A reason Meta gave (no data) is an answer: the day is final with it.
    expect(
      isFinal(DAY, TZ, {
        data: { ...data, instagramReach: null, unavailable: { instagramReach: 'no_data' } },
        fetchedAt: late,
      }),
    ).toBe(true);
  });

  it('stays final for any later fetch time (a settled day does not unsettle)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10 * 86_400_000, max: 10 * 86_400_000 }),
        fc.nat({ max: 30 * 86_400_000 }),
        (offset, later) => {
          const at = settlesAt + offset;
          if (fetchedSettled(DAY, TZ, new Date(at))) expect(fetchedSettled(DAY, TZ, new Date(at + later))).toBe(true);
        },
      ),
    );
  });
});
