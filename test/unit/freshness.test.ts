import { cacheAgeMs, freshForSeconds, isFresh } from '../../src/domain/freshness';

describe('freshness', () => {
  const now = Date.parse('2026-05-01T10:00:00Z');
  const ttl = 60 * 60_000;

  it('is fresh until CACHE_TTL has passed, then stale', () => {
    expect(isFresh(cacheAgeMs(new Date(now - ttl + 1), now), ttl)).toBe(true);
    expect(isFresh(cacheAgeMs(new Date(now - ttl), now), ttl)).toBe(false);
  });

  it('counts whole seconds left, none once stale, and no negative age from a clock ahead', () => {
    expect(freshForSeconds(cacheAgeMs(new Date(now - 30 * 60_000 - 500), now), ttl)).toBe(1799);
    expect(freshForSeconds(ttl + 1, ttl)).toBe(0);
    expect(cacheAgeMs(new Date(now + 5_000), now)).toBe(0);
  });
});
