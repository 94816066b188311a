import { createHash } from 'node:crypto';

/**
 * The sandbox's numbers: a pure function of the object id, the metric and the day, so every
 * run (and every test) sees the same plausible values. Written apart from the client's date
 * code on purpose, so a mistake in one is not mirrored by the other.
 */

const DAY_SECONDS = 86_400;

/** A stable fraction in [0, 1) for the given parts. */
export function unit(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('|')).digest().readUInt32BE(0) / 2 ** 32;
}

/** Followers of an Instagram account at the start of the data (2024-01-01). */
function followersBase(igId: string): number {
  return Math.round(600 + unit(igId, 'followers') ** 2 * 60_000);
}

/** Instagram followers on a UTC day: a slow, steady growth from the base. */
export function instagramFollowersOn(igId: string, day: string): number {
  const sinceStart = Math.max(0, (Date.parse(`${day}T00:00:00Z`) - Date.parse('2024-01-01T00:00:00Z')) / 86_400_000);
  const growthPerDay = 0.2 + unit(igId, 'growth') * 6;
  return (
    followersBase(igId) + Math.floor(sinceStart * growthPerDay) + Math.floor(unit(igId, 'followers-noise', day) * 5)
  );
}

/** New Facebook follows of a Page on a (US-Pacific) day. */
export function pageDailyFollows(pageId: string, day: string, metric = 'page_daily_follows_unique'): number {
  const scale = 1 + unit(pageId, 'page-scale') * 30;
  const unique = Math.floor(scale * (0.2 + 1.6 * unit(pageId, 'follows', day)));
  if (metric === 'page_daily_follows') return unique + Math.floor(unique * 0.1 * unit(pageId, 'repeat', day));
  if (metric === 'page_follows') return 500 + Math.floor(unit(pageId, 'page-followers') * 20_000) + unique;
  if (metric === 'page_daily_unfollows_unique') return Math.floor(unique * 0.4 * unit(pageId, 'unfollows', day));
  const views = Math.round(scale * 40 * (0.5 + unit(pageId, 'media-views', day)));
  switch (metric) {
    case 'page_media_view':
      return views;
    case 'page_total_media_view_unique':
      return Math.round(views * (0.4 + 0.3 * unit(pageId, 'viewers', day)));
    case 'page_post_engagements':
      return Math.round(views * (0.02 + 0.06 * unit(pageId, 'engagements', day)));
    case 'page_total_actions':
      return Math.floor(unique * unit(pageId, 'actions', day));
    case 'page_views_total':
      return Math.round(views * 0.03 * unit(pageId, 'page-views', day));
    case 'page_video_views':
      return Math.round(views * (0.1 + 0.3 * unit(pageId, 'video-views', day)));
    default:
      return unique;
  }
}

/** The Page metrics the sandbox's numbers cover (Meta answers each with `values[]` per day). */
export const PAGE_DAILY_METRICS = [
  'page_daily_follows_unique',
  'page_daily_follows',
  'page_follows',
  'page_daily_unfollows_unique',
  'page_media_view',
  'page_total_media_view_unique',
  'page_post_engagements',
  'page_total_actions',
  'page_views_total',
  'page_video_views',
] as const;

/** An Instagram metric over one whole UTC day. */
export function instagramDailyValue(igId: string, metric: string, day: string): number {
  const reach = Math.round(instagramFollowersOn(igId, day) * (0.05 + 0.6 * unit(igId, 'reach', day)));
  switch (metric) {
    case 'reach':
      return reach;
    case 'profile_views':
      return Math.round(reach * (0.01 + 0.05 * unit(igId, 'profile_views', day)));
    case 'views':
      return Math.round(reach * (1.2 + 2 * unit(igId, 'views', day)));
    case 'accounts_engaged':
      return Math.round(reach * (0.02 + 0.08 * unit(igId, 'engaged', day)));
    case 'total_interactions':
      return Math.round(reach * (0.03 + 0.1 * unit(igId, 'interactions', day)));
    case 'website_clicks':
      return Math.round(reach * 0.01 * unit(igId, 'clicks', day));
    case 'profile_links_taps':
      return Math.round(reach * 0.015 * unit(igId, 'link-taps', day));
    // follows_and_unfollows by follow_type: accounts that followed, and that unfollowed (or left Instagram).
    case 'follows_and_unfollows:FOLLOWER':
      return Math.round(instagramFollowersOn(igId, day) * 0.004 * unit(igId, 'follows', day));
    case 'follows_and_unfollows:NON_FOLLOWER':
      return Math.round(instagramFollowersOn(igId, day) * 0.0015 * unit(igId, 'unfollows', day));
    case 'follows_and_unfollows':
      return (
        instagramDailyValue(igId, 'follows_and_unfollows:FOLLOWER', day) +
        instagramDailyValue(igId, 'follows_and_unfollows:NON_FOLLOWER', day)
      );
    // reach by follow_type: a partition of the accounts reached.
    case 'reach:FOLLOWER':
      return Math.round(reach * (0.3 + 0.4 * unit(igId, 'reach-followers', day)));
    case 'reach:NON_FOLLOWER':
      return reach - instagramDailyValue(igId, 'reach:FOLLOWER', day);
    default:
      return Math.round(reach * 0.1 * unit(igId, metric, day));
  }
}

/**
 * An Instagram metric over `[since, until)` (unix seconds): each UTC day counted for the
 * part of it inside the range, up to `now`. Null when no part of the range has happened yet,
 * where Meta answers an empty data set.
 */
export function instagramTotalValue(
  igId: string,
  metric: string,
  since: number,
  until: number,
  now: number,
): number | null {
  const end = Math.min(until, now);
  if (end <= since) return null;
  let total = 0;
  for (let dayStart = since - (since % DAY_SECONDS); dayStart < end; dayStart += DAY_SECONDS) {
    const overlap = Math.min(end, dayStart + DAY_SECONDS) - Math.max(since, dayStart);
    const day = new Date(dayStart * 1000).toISOString().slice(0, 10);
    total += (instagramDailyValue(igId, metric, day) * overlap) / DAY_SECONDS;
  }
  return Math.round(total);
}

/** `YYYY-MM-DD` plus `n` days. */
export function shiftDay(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** The n-th (1-based) Sunday of a month, as a day of the month. */
function nthSunday(year: number, month: number, n: number): number {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  return 1 + ((7 - firstWeekday) % 7) + (n - 1) * 7;
}

/**
 * Meta's `end_time` of a Page day: midnight US-Pacific at the end of the day, written in UTC
 * (`2026-01-02T08:00:00+0000` for 2026-01-01). US daylight time runs from the second Sunday of
 * March to the first Sunday of November (switching at 02:00, so both Sundays start on the
 * earlier offset's midnight).
 */
export function pacificEndTime(day: string): string {
  const next = shiftDay(day, 1);
  const [year, month, date] = next.split('-').map(Number);
  const key = month * 100 + date;
  const dstStart = 300 + nthSunday(year, 3, 2);
  const dstEnd = 1100 + nthSunday(year, 11, 1);
  const daylight = key > dstStart && key <= dstEnd;
  return `${next}T${daylight ? '07' : '08'}:00:00+0000`;
}

/** Today's date in US-Pacific time, the calendar of Page insights. */
export function pacificToday(nowMs: number): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: 'America/Los_Angeles',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(nowMs));
}
