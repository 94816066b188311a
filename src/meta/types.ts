/**
 * What the Meta Graph client gives the rest of the service. Refresh activities and the
 * sandbox's tests rely on these shapes; the JSON of Meta itself stays inside `src/meta/`.
 */

/** The dashboard's numbers and why one is missing: the domain's vocabulary. */
export { METRIC_NAMES, type MetricName, type Platform, type UnavailableReason } from '../domain/vocabulary';
import type { MetricName, Platform, UnavailableReason } from '../domain/vocabulary';

/** How far back Meta serves insights, per platform: the rule lives in the domain. */
export { META_HISTORY_DAYS } from '../domain/meta-history';

/** A number, or `null` with the reason it is missing. */
export type MetricValue = { value: number; reason?: undefined } | { value: null; reason: UnavailableReason };

/** One day's numbers of a platform's fetch, by catalogue metric. */
export type DayMetrics = Partial<Record<MetricName, MetricValue>>;

/** A metric Meta refused as invalid in this fetch (for the fleet's retirement watch), with Meta's code and words. */
export interface MetricRefusal {
  name: MetricName;
  code: string;
  message: string;
}

/** Percentages (0–100) of Meta's budgets used, from `X-App-Usage`, `X-Business-Use-Case-Usage` and `X-Page-Usage`. */
export interface MetaUsage {
  /** App-level usage: the largest of call_count, total_time, total_cputime; undefined when the header was absent. */
  appPercent?: number;
  /** Business-use-case usage per object id: the largest percentage over its entries. */
  business: Record<string, { type: string; percent: number; estimatedTimeToRegainAccessMinutes: number }>;
  /**
   * `X-Page-Usage`, sent instead of the business-use-case header on calls made with a user token
   * against a Page (code 32 when spent); undefined when the header was absent.
   */
  page?: { percent: number; estimatedTimeToRegainAccessMinutes: number };
  /** The largest percentage seen anywhere (0 when no header was sent). */
  maxPercent: number;
}

/** What any fetch needs: the client's ids and token, the days and their timezone. */
export interface FetchInsightsInput {
  accessToken: string;
  facebookPageId: string;
  /** Null when the client has no linked Instagram account. */
  instagramAccountId: string | null;
  /** Days to fetch, `YYYY-MM-DD`, in the client's timezone; at most 90. */
  days: string[];
  /** IANA timezone of the client (e.g. `Europe/Warsaw`), for Instagram's unix since/until. */
  timezone: string;
  /** Aborts the calls in flight (e.g. an activity's cancellation signal); its reason is thrown. */
  signal?: AbortSignal;
}

/** The two platforms a client's numbers come from; each is fetched and written on its own. */
export const PLATFORMS: readonly Platform[] = ['facebook', 'instagram'];

/** What Meta said about a client's Instagram account on the last fetch that reached it. */
export type InstagramState = 'ok' | 'permission_missing' | 'not_linked';

/** What Meta said about a client's Page on the last fetch that reached it. */
export type FacebookState = 'ok' | 'permission_missing' | 'not_accessible';

/**
 * A platform's fetch that an error stopped midway (a throttle, a 5xx): the days answered before it
 * are kept, and these were not asked. The error is the platform's failure for these days only.
 */
export interface StoppedFetch {
  days: string[];
  error: MetaErrorLike;
}

export interface FetchPlatformsInput extends FetchInsightsInput {
  /** The platforms to fetch; absent: both. */
  platforms?: readonly Platform[];
  /** Ask Instagram's followers count (a snapshot of now); default true. Off, followers are `no_snapshot`. */
  instagramFollowers?: boolean;
  /** How Instagram's per-day calls are paced against the account's budget; default DEFAULT_INSTAGRAM_PACING. */
  instagramPacing?: InstagramPacing;
  /**
   * The metrics to ask (the catalogue's names, each platform asks its own); absent: the seed's
   * four. Instagram's followers are asked whenever `instagramFollowers` allows.
   */
  metrics?: readonly MetricName[];
  /** A platform asks only these of `days` (the rest are not its to fetch: answered before, refused for good); absent: all. */
  platformDays?: Partial<Record<Platform, string[]>>;
}

/**
 * Pacing of Instagram's per-day insights calls by the account's `X-Business-Use-Case-Usage`
 * percentage: above `slowAbovePercent` each call waits up to `maxDelayMs` (more the nearer the
 * stop); at `stopAbovePercent` the remaining days are deferred, so a backfill never spends the
 * budget the regular refreshes need.
 */
export interface InstagramPacing {
  slowAbovePercent: number;
  stopAbovePercent: number;
  maxDelayMs: number;
}

export const DEFAULT_INSTAGRAM_PACING: InstagramPacing = {
  slowAbovePercent: 50,
  stopAbovePercent: 90,
  maxDelayMs: 5_000,
};

/**
 * One platform's part of a fetch: its numbers, the error that stopped it, or not asked for. `held`
 * is never the client's: a refresh puts it in for a platform it did not call because a hold in
 * Postgres (Meta's throttle estimate, a Page gone) forbids it until `until`.
 */
export type PlatformOutcome<T> =
  | { status: 'fetched'; data: T }
  | { status: 'failed'; error: MetaErrorLike }
  | { status: 'not_requested' }
  | { status: 'held'; reason: UnavailableReason; until: string };

/** The fields of a Meta error a caller decides on (the error object itself, see errors.ts). */
export interface MetaErrorLike extends Error {
  readonly code?: number;
  readonly subcode?: number;
  readonly errorCode: string;
}

export interface FacebookNumbers {
  state: FacebookState;
  /** Each metric asked, per day answered (or refused with a reason). */
  days: Record<string, DayMetrics>;
  /** With a refused state: Meta's code and message (no token in it). */
  refusal?: { code: string; message: string };
  stopped?: StoppedFetch;
  /** Metrics Meta refused as invalid (they are `metric_unsupported` on every day). */
  refused?: MetricRefusal[];
}

export interface InstagramNumbers {
  state: InstagramState;
  followers: MetricValue;
  /** Each insights metric asked, per requested day, except deferred days. */
  days: Record<string, DayMetrics>;
  /** Days not asked because the account's budget neared its end, and when to ask again (Meta's estimate, or a default). */
  deferred?: { days: string[]; afterMs: number };
  stopped?: StoppedFetch;
  /** Metrics Meta refused as invalid (they are `metric_unsupported` on every day). */
  refused?: MetricRefusal[];
}

export interface FetchPlatformsResult {
  /** When Meta answered (ISO 8601). */
  fetchedAt: string;
  /** The requested days, distinct and sorted. */
  days: string[];
  facebook: PlatformOutcome<FacebookNumbers>;
  instagram: PlatformOutcome<InstagramNumbers>;
  usage: MetaUsage;
  calls: number;
}

export interface MetaClient {
  /**
   * Each platform on its own: a platform's error is returned in its outcome and never
   * discards the other platform's numbers. Thrown are only errors that concern the whole
   * token or app: an invalid token (190), an app- or
   * user-level throttle (4, 17, 341), the sandbox's unknown token, bad input, an abort.
   */
  fetchPlatforms(input: FetchPlatformsInput): Promise<FetchPlatformsResult>;
  /**
   * What Meta's `debug_token` says of a token, asked with the app token; absent when the client
   * has no app credentials (META_APP_ID, META_APP_SECRET). Throws Meta's errors as `fetchPlatforms` does.
   */
  debugToken?(input: { accessToken: string; signal?: AbortSignal }): Promise<TokenDebugInfo>;
}

/** A token as `debug_token` describes it. */
export interface TokenDebugInfo {
  isValid: boolean;
  /** When the token expires; null: never (Meta's `expires_at: 0`) or not said. */
  expiresAt: Date | null;
  /** When the app's access to the person's data ends (renewed only by their consenting again); null: not said. */
  dataAccessExpiresAt: Date | null;
  /** The permissions granted to the token. */
  scopes: string[];
  /** With `isValid: false`: why, as Meta says it (e.g. 190/463, expired). */
  error?: { code?: number; subcode?: number; message?: string };
}
