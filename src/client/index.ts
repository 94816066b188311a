/**
 * A typed client of the social-media-cache HTTP API, for the dashboard and the CLI. It needs
 * nothing but the global `fetch`, and imports nothing from the server, so a dashboard can take
 * this one file. Its vocabulary types repeat the server's (src/domain/vocabulary.ts) for that
 * reason; test/unit/vocabulary.test.ts holds them equal. Every response type is the API's JSON body exactly as it is sent.
 */

/** The seed's four numbers, in every day's answer. */
export type CoreMetricName = 'facebookNewFollowers' | 'instagramFollowers' | 'instagramReach' | 'instagramProfileViews';

/** The metrics the server's METRICS setting may switch on (GET /api/metrics lists those it has on). */
export type OptionalMetricName =
  | 'facebookFollows'
  | 'facebookUnfollows'
  | 'facebookFollowers'
  | 'facebookMediaViews'
  | 'facebookViewers'
  | 'facebookPostEngagements'
  | 'facebookTotalActions'
  | 'facebookPageViews'
  | 'facebookVideoViews'
  | 'instagramViews'
  | 'instagramAccountsEngaged'
  | 'instagramTotalInteractions'
  | 'instagramLikes'
  | 'instagramComments'
  | 'instagramShares'
  | 'instagramSaves'
  | 'instagramReplies'
  | 'instagramProfileLinksTaps'
  | 'instagramFollows'
  | 'instagramUnfollows';

/** Every number the service can keep (the server's metric catalogue). */
export type MetricName = CoreMetricName | OptionalMetricName;

/** How a metric adds up over days: `flow` sums, `stock` is a level (its last value), `unique` counts people and cannot be summed. */
export type MetricKind = 'flow' | 'stock' | 'unique';

/** The catalogue as a dashboard needs it: each metric's platform, kind and label (GET /api/metrics has the rest). */
export const METRIC_CATALOGUE: Record<
  MetricName,
  { platform: 'facebook' | 'instagram'; kind: MetricKind; label: string }
> = {
  facebookNewFollowers: { platform: 'facebook', kind: 'flow', label: 'Facebook new followers' },
  instagramFollowers: { platform: 'instagram', kind: 'stock', label: 'Instagram followers' },
  instagramReach: { platform: 'instagram', kind: 'unique', label: 'Instagram reach' },
  instagramProfileViews: { platform: 'instagram', kind: 'flow', label: 'Instagram profile views' },
  facebookFollows: { platform: 'facebook', kind: 'flow', label: 'Facebook follows' },
  facebookUnfollows: { platform: 'facebook', kind: 'flow', label: 'Facebook unfollows' },
  facebookFollowers: { platform: 'facebook', kind: 'stock', label: 'Facebook followers' },
  facebookMediaViews: { platform: 'facebook', kind: 'flow', label: 'Facebook views' },
  facebookViewers: { platform: 'facebook', kind: 'unique', label: 'Facebook viewers' },
  facebookPostEngagements: { platform: 'facebook', kind: 'flow', label: 'Facebook post engagements' },
  facebookTotalActions: { platform: 'facebook', kind: 'flow', label: 'Facebook actions on Page' },
  facebookPageViews: { platform: 'facebook', kind: 'flow', label: 'Facebook Page views' },
  facebookVideoViews: { platform: 'facebook', kind: 'flow', label: 'Facebook video views' },
  instagramViews: { platform: 'instagram', kind: 'flow', label: 'Instagram views' },
  instagramAccountsEngaged: { platform: 'instagram', kind: 'unique', label: 'Instagram accounts engaged' },
  instagramTotalInteractions: { platform: 'instagram', kind: 'flow', label: 'Instagram interactions' },
  instagramLikes: { platform: 'instagram', kind: 'flow', label: 'Instagram likes' },
  instagramComments: { platform: 'instagram', kind: 'flow', label: 'Instagram comments' },
  instagramShares: { platform: 'instagram', kind: 'flow', label: 'Instagram shares' },
  instagramSaves: { platform: 'instagram', kind: 'flow', label: 'Instagram saves' },
  instagramReplies: { platform: 'instagram', kind: 'flow', label: 'Instagram replies' },
  instagramProfileLinksTaps: { platform: 'instagram', kind: 'flow', label: 'Instagram profile link taps' },
  instagramFollows: { platform: 'instagram', kind: 'flow', label: 'Instagram follows' },
  instagramUnfollows: { platform: 'instagram', kind: 'flow', label: 'Instagram unfollows' },
};

/** Why a range total has no value. */
export type TotalReason = 'not_summable' | 'incomplete' | 'no_data';

/**
 * One metric's total over a range: a flow's sum (`days` summed), a stock's last level (`day`), or
 * `null`: a unique metric (`not_summable`), a flow missing a day (`incomplete`, with the `partial`
 * sum of the `days` it has), or no day with a number (`no_data`).
 */
export type MetricTotal =
  | { kind: MetricKind; value: number; days?: number; day?: string }
  | { kind: MetricKind; value: null; reason: TotalReason; partial?: number; days?: number };

/** Why a number is `null`; a missing number is never 0. */
export type UnavailableReason =
  | 'metric_unsupported'
  | 'metric_retired'
  | 'instagram_not_linked'
  | 'instagram_permission_missing'
  | 'facebook_permission_missing'
  | 'page_not_accessible'
  | 'meta_refused'
  | 'throttled'
  | 'fetch_failed'
  | 'no_data'
  | 'no_snapshot'
  | 'beyond_meta_history'
  | 'not_fetched';

/** What started a cycle. */
export type CycleTrigger = 'schedule' | 'manual';

/** How a cycle ended; `running` until it does. */
export type CycleStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out';

/** `cache`: younger than CACHE_TTL, or final (never refreshed again); `stale-cache`: older, a refresh was asked for; `empty`: nothing yet. */
export type CacheSource = 'cache' | 'stale-cache' | 'empty';

/** What the read did about refreshing the client. */
export type RefreshStatus = 'not_needed' | 'started' | 'in_progress' | 'cooldown' | 'token_invalid' | 'unavailable';

/**
 * One day's numbers as the API shows them: the seed's four always, and each optional metric the
 * server has switched on (absent otherwise).
 */
export interface DayNumbers extends Partial<Record<OptionalMetricName, number | null>> {
  facebookNewFollowers: number | null;
  instagramFollowers: number | null;
  instagramReach: number | null;
  instagramProfileViews: number | null;
  /** Present when a number is `null`: why. */
  unavailable?: Partial<Record<MetricName, UnavailableReason>>;
  /** Numbers older than `lastUpdated` (the last fetch did not give them): when they were fetched. */
  keptFrom?: Partial<Record<MetricName, string>>;
  lastUpdated: string | null;
  fromCache: boolean;
  /** Milliseconds since the numbers were fetched from Meta. */
  cacheAge: number | null;
  /** True when the numbers were fetched at least 48 h after the day ended (Meta no longer changes them). */
  final: boolean;
}

/** `GET /api/social-media-cache` */
export interface DayResponse {
  success: true;
  data: DayNumbers;
  source: CacheSource;
  /** `YYYY-MM-DD`, in the client's timezone. */
  period: string;
  refresh: { status: RefreshStatus };
}

/**
 * What happens about one day of a range: `not_needed` (fresh, or settled), `started` /
 * `in_progress` (this read asked a refresh that fetches the day, or joined the running one),
 * `requested` (an earlier read or a backfill asked for it; not asked again), `cooldown`,
 * `token_invalid`, `unavailable` (Temporal down), `beyond_meta_history` (Meta keeps no insights
 * that old: no refresh will come).
 */
export type DayRefreshStatus = RefreshStatus | 'requested' | 'beyond_meta_history';

/** One day of `GET /api/social-media-cache/range`. */
export interface RangeDay extends DayNumbers {
  period: string;
  source: CacheSource;
  refresh: { status: DayRefreshStatus };
}

/** `GET /api/social-media-cache/range` */
export interface RangeResponse {
  success: true;
  data: RangeDay[];
  /** Per metric shown, its total over the range by its kind. */
  totals: Partial<Record<MetricName, MetricTotal>>;
  /** Metrics Meta retired for the fleet: from which day their numbers end, and their successor. */
  retired?: Partial<Record<MetricName, { since: string; replacedBy: MetricName | null }>>;
  refresh: { status: RefreshStatus };
}

/** One metric of `GET /api/metrics`. */
export interface MetricInfo {
  name: MetricName;
  platform: 'facebook' | 'instagram';
  label: string;
  kind: MetricKind;
  /** One of the seed's four: always kept. */
  core: boolean;
  /** In METRICS's default set, the agency weekly report. */
  inReportSet: boolean;
  /** Kept by this deployment (METRICS, or the successor of a retired metric). */
  enabled: boolean;
  status: 'active' | 'retired';
  since?: string;
  retiredAt?: string;
  replacedBy?: MetricName | null;
  clients?: number;
  metaError?: { code: string | null; message: string | null };
  graph:
    | {
        edge: 'insights';
        metric: string;
        period: 'day';
        metricType?: 'total_value';
        breakdown?: string;
        dimension?: string;
      }
    | { edge: 'field'; field: string };
  historyDays: number;
  evidence: 'documented' | 'observed';
  source: string;
}

/** An event (README: Events and alerts): what changed state, once per change. */
export interface ServiceEvent {
  id: string;
  type: string;
  occurredAt: string;
  clientId: string | null;
  clientName: string | null;
  /** Meta's code and words, what to do and the CLI command that fixes it; never a secret. */
  facts: Record<string, unknown>;
}

export interface EventsResponse {
  success: true;
  data: ServiceEvent[];
  /** Pass as `before` for the next (older) page; null on the last. */
  next: string | null;
}

/** A webhook endpoint; its secret is in the answer of its creation only. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  /** Event types, or `*` for every type but `cycle.completed`. */
  events: string[];
  format: 'json' | 'slack';
  enabled: boolean;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  failingSince: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
  disabledAt: string | null;
  disabledReason: string | null;
}

export interface WebhookInput {
  url: string;
  events?: string[];
  format?: 'json' | 'slack';
  enabled?: boolean;
  description?: string | null;
}

export interface WebhookTestResult {
  eventId: string;
  delivered: boolean;
  status: number | null;
  error: string | null;
  latencyMs: number;
}

export interface MetricsResponse {
  success: true;
  data: MetricInfo[];
}

/** A client's refresh that failed in the last cycle. */
export interface CycleFailure {
  clientId: string;
  clientName: string | null;
  /** Meta's error code (e.g. `190`, `17`), or the failure's type when Meta gave none. */
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
}

export interface RefreshTotals {
  total: number;
  refreshed: number;
  failed: number;
  skippedTokenInvalid: number;
  /** Passed over: their numbers were fetched less than REFRESH_SKIP_IF_FRESHER before. */
  skippedFresh: number;
  alreadyRunning: number;
  /** Still waiting on Meta when the cycle ended; their outcomes land later. */
  pending: number;
}

/** The last cycle as a read key sees it: counts and times. */
export interface LastCycleSummary extends RefreshTotals {
  trigger: CycleTrigger;
  status: CycleStatus;
  startedAt: string;
  finishedAt: string | null;
}

/** The last cycle as an admin key sees it: its workflow, and which clients failed and why. */
export interface LastCycle extends LastCycleSummary {
  workflowId: string;
  failures: CycleFailure[];
}

/** The running cycle as a read key sees it: counts only. */
export interface RunningCycleSummary extends RefreshTotals {
  trigger: CycleTrigger;
  /** Clients with an outcome (pending ones not counted). */
  done: number;
  /** Client refreshes the cycle started so far. */
  started: number;
}

/** The running cycle, as the API reads it from Postgres (what the parent started, the children's results), for an admin key. */
export interface RunningCycle extends RunningCycleSummary {
  workflowId: string;
  cycleId: string;
  currentClientId: string | null;
  /** The spacing between starts in use at the last page, ms (stretched under Meta's app usage). */
  currentSpacingMs: number | null;
  /** Lanes starting clients at once, each keeping the spacing (fewer while Meta's app usage is above 75 %). */
  lanes: number | null;
  /** How long the cycle's starts take on its lanes, ms. */
  needsMs: number | null;
  /** false: even REFRESH_MAX_LANES cannot fit the fleet in 80 % of REFRESH_INTERVAL. */
  fitsInterval: boolean | null;
  /** The REFRESH_INTERVAL the lanes were planned for, ms. */
  intervalMs: number | null;
}

/** The refresh status a read key gets: counts and times only. */
export interface RefreshStatusSummary {
  lastCycle: LastCycleSummary | null;
  running: RunningCycleSummary | null;
  nextRunAt: string | null;
  /** `unavailable`: Temporal did not answer, so `nextRunAt` is unknown. */
  temporal: 'ok' | 'unavailable';
}

/** The refresh status an admin key gets: the summary plus client ids, names, Meta's error texts, workflow ids and the Schedule. */
export interface RefreshStatusReport extends RefreshStatusSummary {
  lastCycle: LastCycle | null;
  running: RunningCycle | null;
  schedule: { id: string; paused: boolean; intervalMs: number | null } | null;
  /** `unavailable`: Temporal did not answer, so `running`, `nextRunAt` and `schedule` are unknown. */
  temporal: 'ok' | 'unavailable';
}

/** True for the answer to an admin key (the only one that names the Schedule). */
export function isRefreshStatusReport(
  status: RefreshStatusReport | RefreshStatusSummary,
): status is RefreshStatusReport {
  return 'schedule' in status;
}

/** `GET /api/automated/refresh-social-media-cache`: the report for an admin key, the summary for a read key. */
export interface RefreshStatusResponse {
  success: true;
  data: RefreshStatusReport | RefreshStatusSummary;
}

/** `POST /api/automated/refresh-social-media-cache` */
export interface StartCycleResponse {
  success: true;
  data: { workflowId: string; status: 'started' };
}

/** `POST /api/social-media-cache?forceRefresh=true` */
export interface ForceRefreshResponse {
  success: true;
  data: { clientId: string };
  refresh: { status: 'started' | 'in_progress' };
}

export type TokenStatus = 'unknown' | 'valid' | 'invalid';

/**
 * What Meta said about the client's Instagram on the last refresh: `permission_missing` (grant
 * instagram_manage_insights and re-enter the token), `not_linked` (link the Instagram business
 * account to the Page, or fix the id), `throttled` (Meta asked to wait; retried), `error`
 * (another Instagram error, see the refresh results), `unknown` (not fetched yet).
 */
export type InstagramStatus = 'unknown' | 'ok' | 'permission_missing' | 'not_linked' | 'throttled' | 'error';

/** What the last refresh learnt of the client's Facebook Page. */
export type FacebookStatus = 'unknown' | 'ok' | 'permission_missing' | 'not_accessible' | 'throttled' | 'error';

/** A client as the API shows it: never its token. */
export interface ApiClient {
  id: string;
  name: string;
  facebookPageId: string;
  instagramAccountId: string | null;
  timezone: string;
  tokenStatus: TokenStatus;
  /** Meta's error when the token was found invalid, e.g. `190: Error validating access token`. */
  tokenError: string | null;
  hasToken: boolean;
  /** Instagram's state apart from the token: a Page token stays valid when only Instagram is refused. */
  instagramStatus: InstagramStatus;
  /** The Page's state apart from the token: Instagram keeps refreshing when only the Page is refused. */
  facebookStatus: FacebookStatus;
  /** From Meta's debug_token (META_APP_ID and META_APP_SECRET set): when the token expires; null: never, or not known. */
  tokenExpiresAt: string | null;
  /** When the app's access to the person's data ends (renewed only by their consenting again); null: not known. */
  dataAccessExpiresAt: string | null;
  /** The permissions granted to the token; null: not known. */
  tokenScopes: string[] | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewClientInput {
  name: string;
  /** Numeric Meta id of the Facebook Page. */
  facebookPageId: string;
  instagramAccountId?: string | null;
  /** The Meta access token; stored encrypted and never returned. */
  accessToken: string;
  /** IANA timezone of the client's days (default: the service's). */
  timezone?: string;
}

export type ClientPatch = Partial<NewClientInput>;

export interface ClientResponse {
  success: true;
  data: ApiClient;
  /**
   * After adding a client, or a new token or Instagram account: the background fetch of its
   * last BACKFILL_DAYS (`started`, `in_progress` when it joined a running refresh, …).
   */
  backfill?: {
    status: 'started' | 'in_progress' | 'token_invalid' | 'unavailable' | 'cooldown' | 'not_found';
    days: number;
  };
}

export interface ClientListResponse {
  success: true;
  data: ApiClient[];
}

export interface RemoveClientResponse {
  success: true;
  data: { id: string; deleted: true };
}

/** The API's error codes; other strings may come from a newer API. */
export type ApiErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'validation_failed'
  | 'invalid_json'
  | 'range_too_long'
  | 'client_not_found'
  | 'not_found'
  | 'method_not_allowed'
  | 'token_invalid'
  | 'cycle_running'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'refresh_cooldown'
  | 'temporal_unavailable'
  | 'token_encryption_unavailable'
  | 'internal_error'
  /** No HTTP answer: the API could not be reached. `status` is 0. */
  | 'unreachable'
  /** No answer within `timeoutMs`. `status` is 0. */
  | 'timeout'
  /** An answer that is not the API's JSON (a proxy's error page, say). */
  | 'invalid_response'
  | (string & {});

/**
 * Any failed call: the API's `{ error: { code, message } }`, or `status` 0 when no answer came.
 * It never holds the API key or the request's headers.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** With `refresh_cooldown` (429): when a refresh is let through again. */
    readonly retryAfterSeconds?: number,
    /** Extra facts the API gave, e.g. `{ workflowId }` of the running cycle with `cycle_running`. */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface SocialMediaCacheClientOptions {
  /** Where the API listens, e.g. `http://127.0.0.1:3000` (a path prefix is kept). */
  baseUrl: string;
  /** A read key for reads and the refresh status; an admin key for everything else. */
  apiKey: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}

export interface SocialMediaCacheClient {
  /** One client's numbers for one day (default: today in the client's timezone). Never waits for Meta. */
  getDay(clientId: string, period?: string): Promise<DayResponse>;
  /** Every day from `from` to `to` (`YYYY-MM-DD`, at most 92 days), each with its own `source`. */
  getRange(clientId: string, from: string, to: string): Promise<RangeResponse>;
  /** The metric catalogue: what this deployment keeps, and what Meta retired. */
  getMetrics(): Promise<MetricsResponse>;
  /** Admin: events, newest first; `before` is the previous page's `next`. */
  listEvents(options?: { limit?: number; before?: string; type?: string; clientId?: string }): Promise<EventsResponse>;
  /** Admin: the webhook endpoints (never their secrets). */
  listWebhooks(): Promise<{ success: true; data: WebhookEndpoint[] }>;
  /** Admin: add an endpoint; `secret` (`whsec_…`) is shown this once. */
  addWebhook(input: WebhookInput): Promise<{ success: true; data: WebhookEndpoint & { secret: string } }>;
  updateWebhook(id: string, patch: Partial<WebhookInput>): Promise<{ success: true; data: WebhookEndpoint }>;
  removeWebhook(id: string): Promise<{ success: true; data: { id: string; removed: true } }>;
  /** Admin: send the endpoint a signed `webhook.test` ping now. */
  testWebhook(id: string): Promise<{ success: true; data: WebhookTestResult }>;
  /** Admin: ask a retired metric again (Meta restored it). */
  restoreMetric(name: MetricName): Promise<{ success: true; data: { name: MetricName; status: 'active' } }>;
  /**
   * The last cycle's summary, the running cycle's progress, the next run; with an admin key also
   * the failures (`isRefreshStatusReport` tells which answer came). Reused by the API for about a second.
   */
  getRefreshStatus(): Promise<RefreshStatusResponse>;
  /** Admin: every client. */
  listClients(): Promise<ClientListResponse>;
  getClient(id: string): Promise<ClientResponse>;
  addClient(input: NewClientInput): Promise<ClientResponse>;
  /** A new `accessToken` resets the token status; `instagramAccountId: null` unlinks Instagram. */
  updateClient(id: string, patch: ClientPatch): Promise<ClientResponse>;
  removeClient(id: string): Promise<RemoveClientResponse>;
  /** Refreshes one client now; inside REFRESH_COOLDOWN an `ApiError` 429 with `retryAfterSeconds`. */
  forceRefresh(clientId: string): Promise<ForceRefreshResponse>;
  /** Starts a full cycle now; an `ApiError` 409 `cycle_running` while one runs. */
  startCycle(): Promise<StartCycleResponse>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** The base URL as it may be shown: no credentials, query or trailing slash. */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

function parseRetryAfter(header: string | null, details: unknown): number | undefined {
  const fromDetails = (details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  if (typeof fromDetails === 'number') return fromDetails;
  if (header && /^\d+$/.test(header.trim())) return Number(header);
  return undefined;
}

/** Creates a client; nothing is sent until a method is called. */
export function createSocialMediaCacheClient(options: SocialMediaCacheClientOptions): SocialMediaCacheClient {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw new TypeError('baseUrl must be an absolute http(s) URL, e.g. http://127.0.0.1:3000');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('baseUrl must be an http(s) URL');
  const shown = displayUrl(base);
  const prefix = base.pathname.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const apiKey = options.apiKey;

  async function call<T>(
    method: string,
    path: string,
    query: Record<string, string | undefined> = {},
    body?: unknown,
  ): Promise<T> {
    const url = new URL(base);
    url.pathname = `${prefix}${path}`;
    url.search = '';
    url.username = '';
    url.password = '';
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
    const where = `${method} ${displayUrl(url)}`;

    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers: {
          Accept: 'application/json',
          Authorization: `Bearer ${apiKey}`,
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      // Only the error's name and code are kept: the request (and its key) stays out of the error.
      const e = err as { name?: string; cause?: { code?: string; message?: string } };
      if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
        throw new ApiError(0, 'timeout', `no answer from the API at ${shown} within ${timeoutMs} ms (${where})`);
      }
      const reason = e?.cause?.code ?? e?.cause?.message ?? (err instanceof Error ? err.message : 'network error');
      throw new ApiError(0, 'unreachable', `could not reach the API at ${shown}: ${reason}`);
    }

    let text: string;
    try {
      text = await response.text();
    } catch {
      throw new ApiError(0, 'unreachable', `the API at ${shown} closed the connection during ${where}`);
    }
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (response.ok && json !== null && typeof json === 'object') return json as T;

    const error = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      throw new ApiError(
        response.status,
        error.code,
        error.message,
        parseRetryAfter(response.headers.get('retry-after'), error.details),
        error.details,
      );
    }
    throw new ApiError(
      response.status,
      'invalid_response',
      `${where} answered HTTP ${response.status} without the API's JSON body`,
    );
  }

  const clientPath = (id: string) => `/api/clients/${encodeURIComponent(id)}`;

  return {
    getDay: (clientId, period) => call('GET', '/api/social-media-cache', { clientId, period }),
    getRange: (clientId, from, to) => call('GET', '/api/social-media-cache/range', { clientId, from, to }),
    getMetrics: () => call('GET', '/api/metrics'),
    restoreMetric: (name) => call('POST', `/api/metrics/${encodeURIComponent(name)}/restore`),
    listEvents: (options = {}) =>
      call('GET', '/api/events', {
        limit: options.limit !== undefined ? String(options.limit) : undefined,
        before: options.before,
        type: options.type,
        clientId: options.clientId,
      }),
    listWebhooks: () => call('GET', '/api/webhooks'),
    addWebhook: (input) => call('POST', '/api/webhooks', {}, input),
    updateWebhook: (id, patch) => call('PATCH', `/api/webhooks/${encodeURIComponent(id)}`, {}, patch),
    removeWebhook: (id) => call('DELETE', `/api/webhooks/${encodeURIComponent(id)}`),
    testWebhook: (id) => call('POST', `/api/webhooks/${encodeURIComponent(id)}/test`),
    getRefreshStatus: () => call('GET', '/api/automated/refresh-social-media-cache'),
    listClients: () => call('GET', '/api/clients'),
    getClient: (id) => call('GET', clientPath(id)),
    addClient: (input) => call('POST', '/api/clients', {}, input),
    updateClient: (id, patch) => call('PATCH', clientPath(id), {}, patch),
    removeClient: (id) => call('DELETE', clientPath(id)),
    forceRefresh: (clientId) => call('POST', '/api/social-media-cache', { forceRefresh: 'true' }, { clientId }),
    startCycle: () => call('POST', '/api/automated/refresh-social-media-cache'),
  };
}
