/**
 * When cached numbers are fresh: younger than CACHE_TTL. A fresh row is served as it is; a stale
 * one is served at once with a background refresh.
 */

/** Milliseconds since `lastUpdated`, never negative (clocks may disagree by a little). */
export function cacheAgeMs(lastUpdated: Date, now: number): number {
  return Math.max(0, now - lastUpdated.getTime());
}

/** True while a row of age `ageMs` is fresh under `ttlMs`. */
export function isFresh(ageMs: number, ttlMs: number): boolean {
  return ageMs < ttlMs;
}

/** Whole seconds a row of age `ageMs` stays fresh (0 when stale). */
export function freshForSeconds(ageMs: number, ttlMs: number): number {
  return isFresh(ageMs, ttlMs) ? Math.floor((ttlMs - ageMs) / 1000) : 0;
}

/**
 * How a cached day is served: fresh (`cache`) while younger than the TTL, or whatever its age
 * once final, since a refresh would fetch nothing new for it (refreshes skip final days) and so
 * must never be started for it; `stale-cache` otherwise.
 */
export function cachedSource(ageMs: number, ttlMs: number, final: boolean): 'cache' | 'stale-cache' {
  return final || isFresh(ageMs, ttlMs) ? 'cache' : 'stale-cache';
}
