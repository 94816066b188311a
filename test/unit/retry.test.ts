import fc from 'fast-check';
import {
  appBlockWait,
  appThrottleMs,
  isLongWait,
  MAX_THROTTLE_BACKOFF_MS,
  MAX_TRANSIENT_BACKOFF_MS,
  PENDING_AFTER_MS,
  platformRetryDelay,
  throttleBackoff,
  transientBackoff,
} from '../../src/domain/retry';

const FIRST = 2 * 60_000;

describe('retry delays', () => {
  it('doubles a throttle backoff per attempt from the first wait, up to 30 minutes', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => throttleBackoff(FIRST, n) / 60_000)).toEqual([2, 4, 8, 16, 30, 30]);
  });

  it('never waits less than the first backoff nor more than the cap, and never less for a later attempt', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 * 60_000 }), fc.integer({ min: 1, max: 40 }), (first, n) => {
        const wait = throttleBackoff(first, n);
        expect(wait).toBeGreaterThanOrEqual(Math.min(first, MAX_THROTTLE_BACKOFF_MS));
        expect(wait).toBeLessThanOrEqual(Math.max(first, MAX_THROTTLE_BACKOFF_MS));
        expect(throttleBackoff(first, n + 1)).toBeGreaterThanOrEqual(wait);
      }),
    );
  });

  it('asks a transient failure again in seconds, doubling up to 5 minutes', () => {
    expect([1, 2, 3].map(transientBackoff)).toEqual([2_000, 4_000, 8_000]);
    expect(transientBackoff(20)).toBe(MAX_TRANSIENT_BACKOFF_MS);
  });

  it("waits Meta's estimate for a throttle when it gave one, the backoff of the round otherwise", () => {
    expect(platformRetryDelay({ throttled: true, retryAfterMs: 7 * 60_000 }, 3, FIRST)).toBe(7 * 60_000);
    expect(platformRetryDelay({ throttled: true }, 2, FIRST)).toBe(4 * 60_000);
    // An estimate on a transient failure means nothing: it is asked again within seconds.
    expect(platformRetryDelay({ throttled: false, retryAfterMs: 7 * 60_000 }, 2, FIRST)).toBe(4_000);
  });

  it('blocks the whole app only for the app-level codes (4, 341), for the estimate or the first backoff', () => {
    expect(appThrottleMs(4, undefined, FIRST)).toBe(FIRST);
    expect(appThrottleMs(341, 90_000, FIRST)).toBe(90_000);
    expect(appThrottleMs(17, 90_000, FIRST)).toBeUndefined();
    expect(appThrottleMs(32, undefined, FIRST)).toBeUndefined();
    expect(appThrottleMs(undefined, 90_000, FIRST)).toBeUndefined();
  });

  it('waits out an app block to its end, at least a second even when it just ended', () => {
    const now = Date.parse('2026-05-01T10:00:00Z');
    expect(appBlockWait(new Date(now + 45_000), now)).toBe(45_000);
    expect(appBlockWait(new Date(now - 5_000), now)).toBe(1_000);
  });

  it('shows a refresh as pending in its cycle from a minute of waiting', () => {
    expect(isLongWait(PENDING_AFTER_MS - 1)).toBe(false);
    expect(isLongWait(PENDING_AFTER_MS)).toBe(true);
  });
});
