/**
 * The service's vocabulary, each list written once: the types are derived from these lists, and
 * zod enums, store SQL, page copy, the CLI, the workflows and the typed client take them from
 * here. Plain data: the workflow bundle imports this module too, so it imports nothing.
 */

/** The numbers of the dashboard, named as in the seed's `cache_data`, with the platform each comes from. */
export const METRICS = [
  { name: 'facebookNewFollowers', platform: 'facebook', label: 'Facebook new followers' },
  { name: 'instagramFollowers', platform: 'instagram', label: 'Instagram followers' },
  { name: 'instagramReach', platform: 'instagram', label: 'Instagram reach' },
  { name: 'instagramProfileViews', platform: 'instagram', label: 'Instagram profile views' },
] as const;

export type MetricName = (typeof METRICS)[number]['name'];
export type Platform = (typeof METRICS)[number]['platform'];

export const METRIC_NAMES = METRICS.map((metric) => metric.name) as [MetricName, ...MetricName[]];

/** The metrics one platform's fetch gives. */
export const metricsOf = (platform: Platform): MetricName[] =>
  METRICS.filter((metric) => metric.platform === platform).map((metric) => metric.name);

/** Why a number is `null`; a missing number is never 0. */
export const UNAVAILABLE_REASONS = [
  /** Meta answered (#100) invalid metric for it. */
  'metric_unsupported',
  /** The client has no Instagram account, or Meta answers that the Page has none linked (100/33). */
  'instagram_not_linked',
  /** The token lacks an Instagram permission (10, 200–299 on an Instagram call). */
  'instagram_permission_missing',
  /** The token lacks a Page permission (10, 200–299, or a code 100 naming a permission, on the Page's call). */
  'facebook_permission_missing',
  /** Meta answers that the Page does not exist for this token (100/33): deleted, unpublished, or access lost. */
  'page_not_accessible',
  /** Meta refused that one day (a code 100 with a subcode, or not about a metric); it is not asked again. */
  'meta_refused',
  /** Meta throttled that platform before this day was ever fetched; it is retried. */
  'throttled',
  /** That platform failed before this day was ever fetched. */
  'fetch_failed',
  /** Meta answered an empty data set for that day. */
  'no_data',
  /** A point-in-time number (followers) never captured on that day. */
  'no_snapshot',
  /** The day is older than Meta keeps that platform's insights (see META_HISTORY_DAYS). */
  'beyond_meta_history',
] as const;

export type UnavailableReason = (typeof UNAVAILABLE_REASONS)[number];

/** What started a refresh: the Schedule's cycle, a cycle asked for by hand, or one client on demand. */
export const REFRESH_TRIGGERS = ['schedule', 'manual', 'on_demand'] as const;
export type RefreshTrigger = (typeof REFRESH_TRIGGERS)[number];

/** What starts a cycle of every client. */
export const CYCLE_TRIGGERS = ['schedule', 'manual'] as const satisfies readonly RefreshTrigger[];
export type CycleTrigger = (typeof CYCLE_TRIGGERS)[number];

/**
 * A client's result in a cycle (or of an on-demand refresh). `skipped_fresh`: a cycle passed the
 * client over, its numbers fetched within REFRESH_SKIP_IF_FRESHER. `running`: the cycle started
 * the client's refresh, which has not reported yet. `pending`: the refresh waits on Meta (a
 * throttle's estimate) past its cycle's end. Both are replaced by the outcome when the refresh ends.
 */
export const CLIENT_OUTCOMES = [
  'refreshed',
  'failed',
  'skipped_token_invalid',
  'skipped_fresh',
  'already_running',
  'running',
  'pending',
] as const;
export type ClientOutcome = (typeof CLIENT_OUTCOMES)[number];

/** How a cycle ended; `running` until it does (or until reconciliation finds its workflow gone). */
export const CYCLE_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out'] as const;
export type CycleStatus = (typeof CYCLE_STATUSES)[number];

/** What Meta last said of a client's token: not asked yet, accepted, refused (190 and the like). */
export const TOKEN_STATUSES = ['unknown', 'valid', 'invalid'] as const;
export type TokenStatus = (typeof TOKEN_STATUSES)[number];

/** What the last fetch learnt of the client's Instagram account (README: the API, clients). */
export const INSTAGRAM_STATUSES = ['unknown', 'ok', 'permission_missing', 'not_linked', 'throttled', 'error'] as const;
export type InstagramStatus = (typeof INSTAGRAM_STATUSES)[number];

/** What the last fetch learnt of the client's Facebook Page, mirroring `instagramStatus`. */
export const FACEBOOK_STATUSES = [
  'unknown',
  'ok',
  'permission_missing',
  'not_accessible',
  'throttled',
  'error',
] as const;
export type FacebookStatus = (typeof FACEBOOK_STATUSES)[number];

/**
 * Why no call may go to one platform of a client until a time, kept in Postgres so that every
 * path and every worker respects it: Meta's throttle estimate, or a Page that is gone (asked
 * again once a day).
 */
export const HOLD_REASONS = ['throttled', 'not_accessible'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

/** A client's today on the status pages: fresh numbers, stale ones, or none. */
export const FRESHNESS = ['fresh', 'stale', 'empty'] as const;
export type Freshness = (typeof FRESHNESS)[number];

/**
 * Why a refresh failed, as Temporal's ApplicationFailure types and the results' `errorType`: the
 * Meta errors' class names (src/meta/errors.ts, whose test holds them to these), and the
 * refusals of the service's own.
 */
export const FAILURE_TYPES = {
  throttled: 'MetaThrottledError',
  transient: 'MetaTransientError',
  tokenInvalid: 'MetaTokenInvalidError',
  permission: 'MetaPermissionError',
  badRequest: 'MetaBadRequestError',
  sandboxUnknownToken: 'MetaSandboxUnknownTokenError',
  tokenUndecryptable: 'TokenUndecryptable',
  clientRemoved: 'ClientRemoved',
} as const;
export type FailureType = (typeof FAILURE_TYPES)[keyof typeof FAILURE_TYPES];
