import { z } from 'zod';
import { DEMO_ACCOUNTS, DemoAccount, SMALL_INSTAGRAM_QUOTA } from './accounts';

/** How a token answers: valid, expired (190/463), invalidated (190/460), or lacking permission (10). */
export const TOKEN_STATUSES = ['valid', 'expired', 'invalidated', 'no_permission'] as const;
export type TokenStatus = (typeof TOKEN_STATUSES)[number];

export const tokenSchema = z.object({
  token: z.string().min(1),
  status: z.enum(TOKEN_STATUSES).default('valid'),
  /** Object ids the token may read; absent: every object. */
  objects: z.array(z.string().min(1)).optional(),
  /** What `debug_token` says of it: `expires_at` in epoch seconds (absent: 0, never). */
  expiresAt: z.number().int().min(0).optional(),
  /** `data_access_expires_at` in epoch seconds (absent: 90 days from the call). */
  dataAccessExpiresAt: z.number().int().min(0).optional(),
  /** The scopes granted (absent: every scope the service needs). */
  scopes: z.array(z.string().min(1)).optional(),
  /** `PAGE` (default) or `USER`. */
  type: z.enum(['PAGE', 'USER']).optional(),
});
export type TokenInput = z.input<typeof tokenSchema>;
export type TokenEntry = z.output<typeof tokenSchema>;

/** A failure, delay or quirk to serve for one object's calls, for a number of calls or for good. */
export const injectionSchema = z
  .object({
    /** The object whose calls it affects (a Page or Instagram id, `debug_token`), or `*` for all. */
    objectId: z.string().min(1),
    /** Only insights calls, or only node calls (`/{id}?fields=…`); absent: both. */
    edge: z.enum(['insights', 'node']).optional(),
    /** Answer Meta's error body with this code. */
    code: z.number().int().positive().optional(),
    subcode: z.number().int().positive().optional(),
    message: z.string().optional(),
    type: z.string().optional(),
    isTransient: z.boolean().optional(),
    /** With `code`: the status of the error body. Alone (5xx): a bare error page with no Graph body. With `html`: 200 or 5xx. */
    httpStatus: z.number().int().min(200).max(599).optional(),
    /** Answer Meta's own HTML error page (`<title>Facebook | Error</title>`), with `httpStatus` (default 500). */
    html: z.boolean().optional(),
    /** With `code`: only `code` and `message` in the body, as Meta's code-1 answers come. */
    minimalBody: z.boolean().optional(),
    /** With `code`: Meta's `error_user_title` / `error_user_msg` (2108006 brings its own). */
    userTitle: z.string().optional(),
    userMessage: z.string().optional(),
    /**
     * Only insights calls whose since/until window covers one of these days (`YYYY-MM-DD`): a
     * Page window by its dates, an Instagram window by its unix times read in `timezone`.
     */
    days: z
      .array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/))
      .min(1)
      .optional(),
    /** IANA timezone the `days` of an Instagram window are read in (default UTC): the client's. */
    timezone: z.string().refine(isTimeZone, { message: 'not an IANA timezone' }).optional(),
    /** Minutes put in the object's `X-Business-Use-Case-Usage` entry (Meta sends whole minutes; fractions let tests wait seconds). */
    estimatedTimeToRegainAccess: z.number().min(0).optional(),
    /** Wait this long before answering. */
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    /** Never answer (until the caller gives up or the sandbox closes). */
    hang: z.boolean().optional(),
    /** Requests naming this metric answer `(#100) The value must be a valid insights metric`. */
    metricUnsupported: z.string().min(1).optional(),
    /** Insights answer an empty data set, as Meta does for data it does not have yet. */
    emptyData: z.boolean().optional(),
    /** How many matching calls it affects; absent: every call until cleared. */
    times: z.number().int().positive().optional(),
    /**
     * The share of matching calls it affects, drawn from the sandbox's seeded generator. The
     * probabilistic injections a call matches share one draw, so 0.3, 0.1 and 0.05 affect 30 %,
     * 10 % and 5 % of the calls (at most 1 in all).
     */
    probability: z.number().min(0).max(1).optional(),
  })
  .refine(
    (i) =>
      i.code !== undefined || i.httpStatus === undefined || i.httpStatus >= 500 || (i.html && i.httpStatus === 200),
    {
      message: 'httpStatus without code must be a 5xx (or 200 with html)',
    },
  )
  .refine((i) => i.code === undefined || i.httpStatus === undefined || i.httpStatus >= 400, {
    message: 'httpStatus with code must be a 4xx or 5xx',
  })
  .refine((i) => !(i.html && i.code !== undefined), { message: 'html answers no code' });
export type InjectionInput = z.input<typeof injectionSchema>;
export type Injection = z.output<typeof injectionSchema> & { id: string; remaining?: number };

/**
 * How an Instagram account answers, whatever the call: as Meta does when the token lacks the
 * Instagram insights permission (code 10, or 200), when the account is not linked to the Page
 * (100/33), or when its own quota is spent (80002 with an estimate), while the Page answers.
 */
export const instagramModeSchema = z.object({
  igId: z.string().min(1),
  mode: z.enum(['ok', 'permission_missing', 'not_linked', 'throttled']),
  /** permission_missing: Meta's code, 10 (default) or 200. */
  code: z.union([z.literal(10), z.literal(200)]).optional(),
  /** throttled: minutes in `estimated_time_to_regain_access` (default 1; fractions let tests wait seconds). */
  estimatedTimeToRegainAccess: z.number().min(0).optional(),
  /** How many calls answer so; absent: every call until the mode is set back to `ok`. */
  times: z.number().int().positive().optional(),
});
export type InstagramModeInput = z.input<typeof instagramModeSchema>;
export type InstagramMode = z.output<typeof instagramModeSchema> & { remaining?: number };

/**
 * How a Page answers, whatever the call, while its Instagram account keeps answering: as Meta
 * does when the token lacks `pages_read_engagement` (code 10, 200 with HTTP 403, or the same
 * cause worded as a code 100), when the Page is gone or unreadable (100/33), or when the Page's
 * own quota is spent (80001 with an estimate; 32 when `pageUsageHeader` is on).
 */
export const pageModeSchema = z.object({
  pageId: z.string().min(1),
  mode: z.enum(['ok', 'permission_missing', 'not_accessible', 'throttled']),
  /** permission_missing: Meta's code, 10 (default), 200 or 100. */
  code: z.union([z.literal(10), z.literal(200), z.literal(100)]).optional(),
  /** throttled: minutes in `estimated_time_to_regain_access` (default 1; fractions let tests wait seconds). */
  estimatedTimeToRegainAccess: z.number().min(0).optional(),
  /** How many calls answer so; absent: every call until the mode is set back to `ok`. */
  times: z.number().int().positive().optional(),
});
export type PageModeInput = z.input<typeof pageModeSchema>;
export type PageMode = z.output<typeof pageModeSchema> & { remaining?: number };

export const quotaSchema = z.object({
  /** The object whose business-use-case quota to set; absent: the app-level quota. */
  objectId: z.string().min(1).optional(),
  /** Calls allowed per window. */
  calls: z.number().int().positive().optional(),
  windowMs: z.number().int().positive().optional(),
  /** Calls already spent in the current window. */
  used: z.number().int().min(0).optional(),
});
export type QuotaInput = z.input<typeof quotaSchema>;

/** A budget of calls per window, as a percentage in the usage headers. */
export interface Quota {
  calls: number;
  windowMs: number;
  used: number;
  windowStart: number;
}

/** One Graph call the sandbox served, its token left out. */
export interface ServedCall {
  at: string;
  method: string;
  /** Without the version: `/{id}/insights`, `/{id}`, `/debug_token`. */
  path: string;
  version: string;
  objectId: string;
  query: Record<string, string>;
  status?: number;
  code?: number;
}

export interface CallCounts {
  total: number;
  /** Calls per path without the version, e.g. `{"/104…/insights": 1, "/1784…": 1}`. */
  byPath: Record<string, number>;
  byObject: Record<string, number>;
}

export interface SandboxSettings {
  /** Send `X-App-Usage` and `X-Business-Use-Case-Usage`; off, answers carry neither. */
  usageHeaders: boolean;
  /**
   * Answer the Page's calls as Meta does for a user token: `X-Page-Usage` instead of the Page's
   * `X-Business-Use-Case-Usage`, and code 32 instead of 80001 when the Page's quota is spent.
   */
  pageUsageHeader: boolean;
  /** Page insights windows longer than this many days answer `(#1) Please reduce the amount of data…` (HTTP 500); null: never. */
  reduceDataAboveDays: number | null;
  /**
   * Refuse an Instagram request that asks a `breakdown` beside metrics without it (code 100);
   * off (the default), those metrics answer their total beside the broken-down ones, as
   * connectors observe when they ask `reach,views,follows_and_unfollows&breakdown=follow_type`.
   */
  separateBreakdowns: boolean;
}

/** A Graph metric Meta retired for every account of a platform (`POST /__sandbox/metrics/retire`). */
export const metricRetirementSchema = z.object({
  metric: z.string().min(1).max(100),
  platform: z.enum(['page', 'instagram']),
});
export type MetricRetirementInput = z.infer<typeof metricRetirementSchema>;

export interface GraphSandboxOptions {
  accounts?: readonly DemoAccount[];
  /** Each object's business-use-case budget (default 100 calls per hour). */
  objectQuota?: { calls: number; windowMs: number };
  /** The app-level budget shared by every object (default 1,000 calls per hour). */
  appQuota?: { calls: number; windowMs: number };
  /** The sandbox's clock in epoch ms: data, quotas windows and "today" follow it. */
  now?: () => number;
  /** Seed of the generator behind `probability` injections (default 1): the same seed, the same answers. */
  seed?: number;
  usageHeaders?: boolean;
  /** The app whose token (`id|secret`) `debug_token` accepts; absent: any `<digits>|<secret>`. */
  app?: { id: string; secret: string };
}

/** What tests and the `/__sandbox` routes use to steer the sandbox and read what it served. */
export interface GraphSandboxControl {
  readonly accounts: readonly DemoAccount[];
  setToken(input: TokenInput): TokenEntry;
  removeToken(token: string): boolean;
  /** Adds an injection; the first matching injection answers a call. */
  inject(input: InjectionInput): Injection;
  /** Removes the injections of one object, or all. Returns how many were removed. */
  clearInjections(objectId?: string): number;
  setQuota(input: QuotaInput): Quota;
  /** Makes an Instagram account answer permission missing, not linked or throttled (or `ok` again). */
  setInstagramMode(input: InstagramModeInput): InstagramMode;
  /** Makes a Page answer permission missing, not accessible or throttled (or `ok` again). */
  setPageMode(input: PageModeInput): PageMode;
  configure(settings: Partial<SandboxSettings>): SandboxSettings;
  /** Meta retires a metric for every account: every request naming it fails whole, as Meta answers. */
  retireMetric(input: MetricRetirementInput): string[];
  /** Meta restores a retired metric. */
  restoreMetric(input: MetricRetirementInput): string[];
  /** The retired metrics as `page:<metric>` / `instagram:<metric>`. */
  retiredMetrics(): string[];
  calls(): CallCounts;
  requests(): ServedCall[];
  /** `calls`: forget the counters and the served calls; `all`: back to the starting state. */
  reset(scope?: 'all' | 'calls'): void;
  /** Ends every call held by a hang or a latency, so the server can close. */
  releaseHeldCalls(): void;
  snapshot(): {
    settings: SandboxSettings;
    tokens: TokenEntry[];
    injections: Injection[];
    quotas: { app: Quota; objects: Record<string, Quota> };
    instagramModes: InstagramMode[];
    pageModes: PageMode[];
  };
}

const HOUR = 3_600_000;

/** The sandbox's mutable state; also its control object. */
export class SandboxState implements GraphSandboxControl {
  readonly accounts: readonly DemoAccount[];
  readonly now: () => number;
  private readonly objectQuotaDefault: { calls: number; windowMs: number };
  private readonly appQuotaDefault: { calls: number; windowMs: number };
  private readonly usageHeadersDefault: boolean;
  readonly appCredentials?: { id: string; secret: string };

  private tokens = new Map<string, TokenEntry>();
  private injections: Injection[] = [];
  private objectQuotas = new Map<string, Quota>();
  private instagramModes = new Map<string, InstagramMode>();
  private pageModes = new Map<string, PageMode>();
  private retired = new Set<string>();
  private appQuota!: Quota;
  private served: ServedCall[] = [];
  private settings!: SandboxSettings;
  private nextInjectionId = 1;
  private readonly held = new Set<() => void>();
  private readonly seed: number;
  private random!: () => number;

  constructor(options: GraphSandboxOptions = {}) {
    this.accounts = options.accounts ?? DEMO_ACCOUNTS;
    this.now = options.now ?? Date.now;
    this.objectQuotaDefault = options.objectQuota ?? { calls: 100, windowMs: HOUR };
    this.appQuotaDefault = options.appQuota ?? { calls: 1_000, windowMs: HOUR };
    this.usageHeadersDefault = options.usageHeaders ?? true;
    this.appCredentials = options.app;
    this.seed = options.seed ?? 1;
    this.reset('all');
  }

  setToken(input: TokenInput): TokenEntry {
    const entry = tokenSchema.parse(input);
    this.tokens.set(entry.token, entry);
    return entry;
  }

  removeToken(token: string): boolean {
    return this.tokens.delete(token);
  }

  token(token: string): TokenEntry | undefined {
    return this.tokens.get(token);
  }

  inject(input: InjectionInput): Injection {
    const parsed = injectionSchema.parse(input);
    const injection: Injection = { ...parsed, id: `inj-${this.nextInjectionId++}` };
    if (parsed.times !== undefined) injection.remaining = parsed.times;
    this.injections.push(injection);
    return injection;
  }

  clearInjections(objectId?: string): number {
    const before = this.injections.length;
    this.injections = objectId === undefined ? [] : this.injections.filter((i) => i.objectId !== objectId);
    return before - this.injections.length;
  }

  /** The first injection for this call, counted as used. `covers` tells whether the call's window covers a day. */
  takeInjection(
    objectId: string,
    edge: 'insights' | 'node' | 'other',
    metrics: string[],
    covers: (day: string, timezone: string) => boolean = () => false,
  ): Injection | undefined {
    let draw: number | undefined;
    let share = 0;
    const injection = this.injections.find((i) => {
      const matches =
        (i.objectId === objectId || i.objectId === '*') &&
        (i.edge === undefined || i.edge === edge) &&
        (i.metricUnsupported === undefined || metrics.includes(i.metricUnsupported)) &&
        (!i.emptyData || edge === 'insights') &&
        (i.days === undefined || (edge === 'insights' && i.days.some((day) => covers(day, i.timezone ?? 'UTC'))));
      if (!matches || i.probability === undefined) return matches;
      draw ??= this.random();
      share += i.probability;
      return draw < share;
    });
    if (injection?.remaining !== undefined) {
      injection.remaining -= 1;
      if (injection.remaining <= 0) this.injections = this.injections.filter((i) => i !== injection);
    }
    return injection;
  }

  setInstagramMode(input: InstagramModeInput): InstagramMode {
    const parsed = instagramModeSchema.parse(input);
    if (parsed.mode === 'ok') {
      this.instagramModes.delete(parsed.igId);
      return parsed;
    }
    const mode: InstagramMode = { ...parsed };
    if (parsed.times !== undefined) mode.remaining = parsed.times;
    this.instagramModes.set(parsed.igId, mode);
    return { ...mode };
  }

  /** The mode an Instagram account answers this call with, counted as used. */
  takeInstagramMode(igId: string): InstagramMode | undefined {
    const mode = this.instagramModes.get(igId);
    if (mode?.remaining !== undefined) {
      mode.remaining -= 1;
      if (mode.remaining <= 0) this.instagramModes.delete(igId);
    }
    return mode;
  }

  setPageMode(input: PageModeInput): PageMode {
    const parsed = pageModeSchema.parse(input);
    if (parsed.mode === 'ok') {
      this.pageModes.delete(parsed.pageId);
      return parsed;
    }
    const mode: PageMode = { ...parsed };
    if (parsed.times !== undefined) mode.remaining = parsed.times;
    this.pageModes.set(parsed.pageId, mode);
    return { ...mode };
  }

  /** The mode a Page answers this call with, counted as used. */
  takePageMode(pageId: string): PageMode | undefined {
    const mode = this.pageModes.get(pageId);
    if (mode?.remaining !== undefined) {
      mode.remaining -= 1;
      if (mode.remaining <= 0) this.pageModes.delete(pageId);
    }
    return mode;
  }

  /** Metrics an object's demo scenario refuses for good, whatever the injections. */
  refusedMetrics(objectId: string): string[] {
    const account = this.accounts.find((a) => a.igId === objectId);
    return account?.scenario === 'profile_views_unsupported' ? ['profile_views'] : [];
  }

  setQuota(input: QuotaInput): Quota {
    const { objectId, ...change } = quotaSchema.parse(input);
    const quota = objectId === undefined ? this.appQuota : this.objectQuota(objectId);
    if (change.calls !== undefined) quota.calls = change.calls;
    if (change.windowMs !== undefined) quota.windowMs = change.windowMs;
    if (change.used !== undefined) {
      quota.used = change.used;
      quota.windowStart = this.now();
    }
    return { ...quota };
  }

  objectQuota(objectId: string): Quota {
    let quota = this.objectQuotas.get(objectId);
    if (!quota) {
      quota = { ...this.objectQuotaDefault, used: 0, windowStart: this.now() };
      this.objectQuotas.set(objectId, quota);
    }
    return quota;
  }

  get app(): Quota {
    return this.appQuota;
  }

  configure(settings: Partial<SandboxSettings>): SandboxSettings {
    this.settings = { ...this.settings, ...settings };
    return { ...this.settings };
  }

  get usageHeaders(): boolean {
    return this.settings.usageHeaders;
  }

  get pageUsageHeader(): boolean {
    return this.settings.pageUsageHeader;
  }

  get reduceDataAboveDays(): number | null {
    return this.settings.reduceDataAboveDays;
  }

  get separateBreakdowns(): boolean {
    return this.settings.separateBreakdowns;
  }

  retireMetric({ metric, platform }: MetricRetirementInput): string[] {
    this.retired.add(`${platform}:${metric}`);
    return this.retiredMetrics();
  }

  restoreMetric({ metric, platform }: MetricRetirementInput): string[] {
    this.retired.delete(`${platform}:${metric}`);
    return this.retiredMetrics();
  }

  retiredMetrics(): string[] {
    return [...this.retired].sort();
  }

  /** True when Meta retired `metric` for `platform`'s accounts. */
  isRetired(platform: 'page' | 'instagram', metric: string): boolean {
    return this.retired.has(`${platform}:${metric}`);
  }

  record(call: ServedCall): ServedCall {
    this.served.push(call);
    return call;
  }

  calls(): CallCounts {
    const counts: CallCounts = { total: this.served.length, byPath: {}, byObject: {} };
    for (const call of this.served) {
      counts.byPath[call.path] = (counts.byPath[call.path] ?? 0) + 1;
      counts.byObject[call.objectId] = (counts.byObject[call.objectId] ?? 0) + 1;
    }
    return counts;
  }

  requests(): ServedCall[] {
    return this.served.map((call) => ({ ...call, query: { ...call.query } }));
  }

  reset(scope: 'all' | 'calls' = 'all'): void {
    this.served = [];
    if (scope === 'calls') return;
    this.random = seededRandom(this.seed);
    this.settings = {
      usageHeaders: this.usageHeadersDefault,
      pageUsageHeader: false,
      reduceDataAboveDays: null,
      separateBreakdowns: false,
    };
    this.retired = new Set();
    this.injections = [];
    this.objectQuotas = new Map();
    this.instagramModes = new Map();
    this.pageModes = new Map();
    this.appQuota = { ...this.appQuotaDefault, used: 0, windowStart: this.now() };
    this.tokens = new Map();
    for (const account of this.accounts) {
      const objects = [account.pageId, ...(account.igId ? [account.igId] : [])];
      const status: TokenStatus = account.scenario === 'token_expired' ? 'expired' : 'valid';
      this.tokens.set(account.token, { token: account.token, status, objects });
      if (account.scenario === 'instagram_quota_small' && account.igId) {
        this.setQuota({ objectId: account.igId, calls: SMALL_INSTAGRAM_QUOTA });
      }
      if (account.scenario === 'instagram_permission_missing' && account.igId)
        this.setInstagramMode({ igId: account.igId, mode: 'permission_missing' });
      if (account.scenario === 'instagram_not_linked' && account.igId)
        this.setInstagramMode({ igId: account.igId, mode: 'not_linked' });
    }
  }

  snapshot(): ReturnType<GraphSandboxControl['snapshot']> {
    return {
      settings: { ...this.settings },
      tokens: [...this.tokens.values()].map((t) => ({ ...t })),
      injections: this.injections.map((i) => ({ ...i })),
      quotas: {
        app: { ...this.appQuota },
        objects: Object.fromEntries([...this.objectQuotas].map(([id, q]) => [id, { ...q }])),
      },
      instagramModes: [...this.instagramModes.values()].map((m) => ({ ...m })),
      pageModes: [...this.pageModes.values()].map((m) => ({ ...m })),
    };
  }

  /**
   * Holds a call for `ms` (for good when undefined): `elapsed` when the time is up,
   * `released` when the caller went away or the sandbox is closing.
   */
  hold(ms: number | undefined, onCallerGone: (release: () => void) => void): Promise<'elapsed' | 'released'> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: 'elapsed' | 'released') => {
        clearTimeout(timer);
        this.held.delete(release);
        resolve(outcome);
      };
      const release = () => finish('released');
      this.held.add(release);
      if (ms !== undefined) timer = setTimeout(() => finish('elapsed'), ms);
      onCallerGone(release);
    });
  }

  releaseHeldCalls(): void {
    for (const release of [...this.held]) release();
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** mulberry32: a small, fast generator whose sequence is fixed by its seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
