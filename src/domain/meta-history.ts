/**
 * How far back Meta serves insights. Older days are never asked: Meta answers them with an empty
 * data set, which must read as `beyond_meta_history`, not as a day without numbers.
 */

import { daysBetween } from '../dates';
import type { Platform } from '../meta/types';

/**
 * Days before today Meta serves, per platform. Page insights: two years (Meta answers an empty
 * data set beyond them). Instagram account insights: Meta documents no figure (its reference
 * only says a missing range answers an empty data set), so 90 days is assumed, the window most
 * connectors ask for; older days are not asked.
 */
export const META_HISTORY_DAYS = { facebook: 730, instagram: 90 } as const;

/** True when `day` is older than Meta keeps `platform`'s insights, seen from `today`. */
export function beyondMetaHistory(platform: Platform, day: string, today: string): boolean {
  return daysBetween(day, today) > META_HISTORY_DAYS[platform];
}

/** True when `day` is the oldest Meta still keeps (or older): an empty answer there means gone, not missing. */
export function atMetaHistoryEdge(platform: Platform, day: string, today: string): boolean {
  return daysBetween(day, today) >= META_HISTORY_DAYS[platform];
}
