/**
 * How long a refresh waits before asking Meta again. Meta asks callers to stop calling while
 * throttled, so a throttle without Meta's estimate waits minutes, doubling per attempt; a
 * transient failure (a 5xx, a timeout) of one platform is asked again within seconds.
 */

/** Meta codes that throttle the whole app rather than one Page or account. */
export const APP_THROTTLE_CODES: ReadonlySet<number> = new Set([4, 341]);

/** The longest wait after a throttle that came without Meta's estimate. */
export const MAX_THROTTLE_BACKOFF_MS = 30 * 60_000;

/** The longest wait before a platform's transient failure is asked again. */
export const MAX_TRANSIENT_BACKOFF_MS = 5 * 60_000;

/** The first wait before a platform's transient failure is asked again. */
export const FIRST_TRANSIENT_BACKOFF_MS = 2_000;

/** A Page that is gone (100/33) is asked again after this, or at once when its id or the token changes. */
export const PAGE_GONE_RECHECK_MS = 24 * 60 * 60_000;

/** A refresh that Meta makes wait at least this long is `pending` in its cycle, which then need not wait for it. */
export const PENDING_AFTER_MS = 60_000;

/** The wait after the `n`-th throttle (1-based) that came without Meta's estimate, from `firstMs`. */
export function throttleBackoff(firstMs: number, n: number): number {
  return Math.min(MAX_THROTTLE_BACKOFF_MS, firstMs * 2 ** (n - 1));
}

/** The wait before round `round` (1-based) asks a platform that failed transiently again. */
export function transientBackoff(round: number): number {
  return Math.min(MAX_TRANSIENT_BACKOFF_MS, FIRST_TRANSIENT_BACKOFF_MS * 2 ** (round - 1));
}

/** What a retry delay is decided on: whether Meta throttled, and its estimate if it gave one. */
export interface RetryCause {
  throttled: boolean;
  retryAfterMs?: number;
}

/** The wait before one platform is fetched again: Meta's estimate, else the backoff of its kind. */
export function platformRetryDelay(cause: RetryCause, round: number, firstThrottleMs: number): number {
  return cause.throttled ? (cause.retryAfterMs ?? throttleBackoff(firstThrottleMs, round)) : transientBackoff(round);
}

/**
 * How long the whole app stays blocked after a throttle with `code`: Meta's estimate, else the
 * first backoff (not doubled: the block is shared by every client's refresh). Undefined when the
 * code throttles one Page or account only.
 */
export function appThrottleMs(
  code: number | undefined,
  retryAfterMs: number | undefined,
  firstThrottleMs: number,
): number | undefined {
  if (code === undefined || !APP_THROTTLE_CODES.has(code)) return undefined;
  return retryAfterMs ?? firstThrottleMs;
}

/** The wait until an app-level block ends, at least a second (Temporal's retry needs a delay). */
export function appBlockWait(blockedUntil: Date, now: number): number {
  return Math.max(1_000, blockedUntil.getTime() - now);
}

/** True when a wait is long enough to show the refresh as `pending` in its cycle. */
export function isLongWait(waitMs: number): boolean {
  return waitMs >= PENDING_AFTER_MS;
}
