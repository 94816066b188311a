/**
 * When a day's numbers stop changing. Meta's insights for a day can lag up to 48 hours after it
 * ends, so numbers fetched later than that are final: refreshes leave such days alone.
 */

import { addDays, startOfDay } from '../dates';
import type { CacheData } from '../stores/cache';

/** How long after a day ends Meta may still change its numbers. */
export const SETTLE_MS = 48 * 3_600_000;

/** Reasons that say a platform was never fetched for the day: such a row is not final whatever its fetch time. */
const PENDING_REASONS = new Set(['throttled', 'fetch_failed']);

/** True when numbers fetched at `fetchedAt` for `day` (a calendar day in `timezone`) are final. */
export function fetchedSettled(day: string, timezone: string, fetchedAt: Date): boolean {
  return fetchedAt.getTime() >= startOfDay(addDays(day, 1), timezone) + SETTLE_MS;
}

/** True when a day's row holds final numbers: fetched after the day settled, no platform left pending. */
export function isFinal(
  day: string,
  timezone: string,
  row: { data: CacheData | null; fetchedAt: Date | null } | undefined,
): boolean {
  if (!row?.data || !row.fetchedAt || !fetchedSettled(day, timezone, row.fetchedAt)) return false;
  return !Object.values(row.data.unavailable ?? {}).some((reason) => PENDING_REASONS.has(reason));
}
