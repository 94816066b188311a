/**
 * The service's vocabulary, each list written once: the types are derived from these lists, and
 * zod enums, store SQL, page copy, the CLI, the workflows and the typed client take them from
 * here. Plain data: the workflow bundle imports this module too, so it imports nothing.
 */

/**
 * How a metric adds up over days (README: Range totals). `flow`: a day's count of events, summed
 * over a range (new follows, views). `stock`: a level at a moment, whose range value is its last
 * (followers). `unique`: distinct accounts in the day, which a range cannot sum, since one person
 * reached on three days is one account, not three (reach, accounts engaged).
 */
export const METRIC_KINDS = ['flow', 'stock', 'unique'] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

/** Whether Meta's own reference lists a metric, or it is known only from answers seen in the wild. */
export const METRIC_EVIDENCE = ['documented', 'observed'] as const;
export type MetricEvidence = (typeof METRIC_EVIDENCE)[number];

/** Meta's references the catalogue was checked against (README: Metrics). */
export const METRIC_SOURCES = {
  pageInsights: 'https://developers.facebook.com/docs/graph-api/reference/page/insights/',
  pageMetricsChangelog: 'https://developers.facebook.com/docs/platforminsights/page',
  instagramInsights: 'https://developers.facebook.com/docs/instagram-platform/api-reference/instagram-user/insights',
  instagramUser: 'https://developers.facebook.com/docs/instagram-platform/api-reference/instagram-user',
  instagramChangelog: 'https://developers.facebook.com/docs/instagram-platform/changelog',
} as const;

/**
 * Where in the Graph API a metric's number is read. `insights`: the object's insights edge, asked
 * for a day (Instagram, `since`/`until` in unix seconds around the client's day, with
 * `metric_type`) or a window of days (the Page, one value per day); with a `breakdown`, the
 * value is the result whose dimension is `dimension`. `field`: a field of the object itself, a
 * level of now (no history: the day's number is the service's own snapshot).
 */
export type MetricSource =
  | {
      readonly edge: 'insights';
      readonly metric: string;
      readonly period: 'day';
      readonly metricType?: 'total_value';
      readonly breakdown?: string;
      readonly dimension?: string;
    }
  | { readonly edge: 'field'; readonly field: string };

/**
 * The catalogue: every account-level daily number the service can keep, declared once. Adding a
 * metric is one entry here (and, for the sandbox, its answer). `core`: the seed's four, always
 * on; the rest are chosen by METRICS (`report`: in the default "agency weekly report" set).
 * `historyDays`: how far back Meta serves it (older days are `beyond_meta_history` for it).
 * `replacedBy`: Meta's documented successor, switched on when the fleet finds it retired.
 * `evidence` and `source`: where it was verified (README: Metrics).
 */
export const METRICS = [
  // The seed's four, exactly as they were.
  {
    name: 'facebookNewFollowers',
    platform: 'facebook',
    label: 'Facebook new followers',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'page_daily_follows_unique', period: 'day' },
    historyDays: 730,
    core: true,
    report: true,
    // Meta names no successor of its own; page_daily_follows counts the same follows, not deduplicated per person.
    replacedBy: 'facebookFollows',
    evidence: 'documented',
    source: 'pageInsights',
  },
  {
    name: 'instagramFollowers',
    platform: 'instagram',
    label: 'Instagram followers',
    kind: 'stock',
    graph: { edge: 'field', field: 'followers_count' },
    historyDays: 0,
    core: true,
    report: true,
    evidence: 'documented',
    source: 'instagramUser',
  },
  {
    name: 'instagramReach',
    platform: 'instagram',
    label: 'Instagram reach',
    kind: 'unique',
    graph: { edge: 'insights', metric: 'reach', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: true,
    report: true,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramProfileViews',
    platform: 'instagram',
    label: 'Instagram profile views',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'profile_views', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: true,
    report: true,
    // Missing from Meta's June 2026 reference table while still answering: at risk.
    evidence: 'observed',
    source: 'instagramChangelog',
  },
  // The Page's other daily numbers, all asked in the one request of each 90-day window.
  {
    name: 'facebookFollows',
    platform: 'facebook',
    label: 'Facebook follows',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'page_daily_follows', period: 'day' },
    historyDays: 730,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'pageInsights',
  },
  {
    name: 'facebookUnfollows',
    platform: 'facebook',
    label: 'Facebook unfollows',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'page_daily_unfollows_unique', period: 'day' },
    historyDays: 730,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'pageInsights',
  },
  {
    name: 'facebookFollowers',
    platform: 'facebook',
    label: 'Facebook followers',
    kind: 'stock',
    graph: { edge: 'insights', metric: 'page_follows', period: 'day' },
    historyDays: 730,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'pageInsights',
  },
  {
    name: 'facebookMediaViews',
    platform: 'facebook',
    label: 'Facebook views',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'page_media_view', period: 'day' },
    historyDays: 730,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'pageMetricsChangelog',
  },
  {
    name: 'facebookViewers',
    platform: 'facebook',
    label: 'Facebook viewers',
    kind: 'unique',
    graph: { edge: 'insights', metric: 'page_total_media_view_unique', period: 'day' },
    historyDays: 730,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'pageMetricsChangelog',
  },
  {
    name: 'facebookPostEngagements',
    platform: 'facebook',
    label: 'Facebook post engagements',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'page_post_engagements', period: 'day' },
    historyDays: 730,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'pageInsights',
  },
  {
    name: 'facebookTotalActions',
    platform: 'facebook',
    label: 'Facebook actions on Page',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'page_total_actions', period: 'day' },
    historyDays: 730,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'pageInsights',
  },
  {
    name: 'facebookPageViews',
    platform: 'facebook',
    label: 'Facebook Page views',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'page_views_total', period: 'day' },
    historyDays: 730,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'pageInsights',
  },
  {
    name: 'facebookVideoViews',
    platform: 'facebook',
    label: 'Facebook video views',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'page_video_views', period: 'day' },
    historyDays: 730,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'pageInsights',
  },
  // Instagram's other daily numbers, all asked in the one insights request of each day.
  {
    name: 'instagramViews',
    platform: 'instagram',
    label: 'Instagram views',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'views', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramAccountsEngaged',
    platform: 'instagram',
    label: 'Instagram accounts engaged',
    kind: 'unique',
    graph: { edge: 'insights', metric: 'accounts_engaged', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramTotalInteractions',
    platform: 'instagram',
    label: 'Instagram interactions',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'total_interactions', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramLikes',
    platform: 'instagram',
    label: 'Instagram likes',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'likes', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramComments',
    platform: 'instagram',
    label: 'Instagram comments',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'comments', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramShares',
    platform: 'instagram',
    label: 'Instagram shares',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'shares', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramSaves',
    platform: 'instagram',
    label: 'Instagram saves',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'saves', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramReplies',
    platform: 'instagram',
    label: 'Instagram replies',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'replies', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: false,
    report: false,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramProfileLinksTaps',
    platform: 'instagram',
    label: 'Instagram profile link taps',
    kind: 'flow',
    graph: { edge: 'insights', metric: 'profile_links_taps', period: 'day', metricType: 'total_value' },
    historyDays: 90,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramFollows',
    platform: 'instagram',
    label: 'Instagram follows',
    kind: 'flow',
    graph: {
      edge: 'insights',
      metric: 'follows_and_unfollows',
      period: 'day',
      metricType: 'total_value',
      breakdown: 'follow_type',
      dimension: 'FOLLOWER',
    },
    historyDays: 90,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'instagramInsights',
  },
  {
    name: 'instagramUnfollows',
    platform: 'instagram',
    label: 'Instagram unfollows',
    kind: 'flow',
    graph: {
      edge: 'insights',
      metric: 'follows_and_unfollows',
      period: 'day',
      metricType: 'total_value',
      breakdown: 'follow_type',
      dimension: 'NON_FOLLOWER',
    },
    historyDays: 90,
    core: false,
    report: true,
    evidence: 'documented',
    source: 'instagramInsights',
  },
] as const satisfies readonly {
  name: string;
  platform: 'facebook' | 'instagram';
  label: string;
  kind: MetricKind;
  graph: MetricSource;
  historyDays: number;
  core: boolean;
  report: boolean;
  replacedBy?: string;
  evidence: MetricEvidence;
  source: keyof typeof METRIC_SOURCES;
}[];

export type MetricName = (typeof METRICS)[number]['name'];
export type Platform = (typeof METRICS)[number]['platform'];
export type MetricDefinition = (typeof METRICS)[number];
/** The seed's four, present in every day's numbers. */
export type CoreMetricName = Extract<MetricDefinition, { core: true }>['name'];
/** The metrics METRICS may switch on. */
export type OptionalMetricName = Exclude<MetricName, CoreMetricName>;

export const METRIC_NAMES = METRICS.map((metric) => metric.name) as [MetricName, ...MetricName[]];

/** The seed's four: always on, whatever METRICS says. */
export const CORE_METRICS = METRICS.filter((metric) => metric.core).map((metric) => metric.name);

/** The default of METRICS: the numbers a weekly agency report shows (README: Metrics). */
export const REPORT_METRICS = METRICS.filter((metric) => metric.report).map((metric) => metric.name);

const BY_NAME = new Map<string, MetricDefinition>(METRICS.map((metric) => [metric.name, metric]));

/** The catalogue entry of `name`. */
export const metricOf = (name: MetricName): MetricDefinition => BY_NAME.get(name) as MetricDefinition;

/** True when `name` is a metric of the catalogue. */
export const isMetricName = (name: string): name is MetricName => BY_NAME.has(name);

/** The metrics one platform's fetch gives (of `among`, default the whole catalogue), in catalogue order. */
export const metricsOf = (platform: Platform, among?: readonly MetricName[]): MetricName[] =>
  METRICS.filter((metric) => metric.platform === platform && (!among || among.includes(metric.name))).map(
    (metric) => metric.name,
  );

/** Why a number is `null`; a missing number is never 0. */
export const UNAVAILABLE_REASONS = [
  /** Meta answered (#100) invalid metric for it, for this client. */
  'metric_unsupported',
  /** Meta retired the metric for the whole fleet from this day on (README: Retired metrics). */
  'metric_retired',
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
  /** The metric was switched on (METRICS) after the day was fetched; the day's next fetch brings it. */
  'not_fetched',
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

/**
 * What the service tells people about (README: Events): each is recorded once per change of
 * state, never once per cycle. `cycle.completed` is frequent: endpoints opt in to it.
 */
export const EVENT_TYPES = [
  'token.expiring',
  'token.invalid',
  'token.restored',
  'instagram.permission_missing',
  'instagram.not_linked',
  'facebook.permission_missing',
  'page.not_accessible',
  'client.failing',
  'client.recovered',
  'metric.retired',
  'app.throttled',
  'cycle.completed',
  'webhook.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** How an endpoint's deliveries are written: Standard Webhooks JSON, or a Slack incoming-webhook message. */
export const WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** A delivery of an event to one target: still being tried, delivered, given up, or not sent (endpoint disabled or removed). */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'skipped'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** What a delivery carries: a recorded event, or the signed ping `webhooks test` sends (never recorded). */
export type DeliveredEventType = EventType | 'webhook.test';

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
