import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { addDays, dayIn } from '../dates';
import { cachedSource } from '../domain/freshness';
import {
  CORE_METRICS,
  type CoreMetricName,
  type MetricName,
  metricsOf,
  type OptionalMetricName,
} from '../domain/vocabulary';
import { isFinal } from '../domain/settled';
import type { Logger } from '../boot/logger';
import { beyondMetaHistory } from '../domain/meta-history';
import type { CacheData, CacheEntry, CacheStore } from '../stores/cache';
import type { Client, ClientStore } from '../stores/clients';
import type { RefreshRequestResult } from '../temporal/request-refresh';
import type { MetricsShown } from './support/metric-catalogue';

/** Without a catalogue (tests of the reader alone): the seed's four, nothing retired. */
const CORE_ONLY: MetricsShown = { shown: [...CORE_METRICS], retired: new Map() };

export type CacheSource = 'cache' | 'stale-cache' | 'empty';
export type RefreshStatus = 'not_needed' | 'started' | 'in_progress' | 'cooldown' | 'token_invalid' | 'unavailable';

/**
 * What happens about one day of a range: a RefreshStatus for the request this read made for it,
 * `requested` when an earlier read or a backfill asked for the day (not asked again), or
 * `beyond_meta_history` when Meta keeps nothing that old (no refresh will come).
 */
export type DayRefreshStatus = RefreshStatus | 'requested' | 'beyond_meta_history';

/** How long a missing day asked of a refresh is not asked again (if the refresh never filled it). */
export const MISSING_DAY_RETRY_MS = 6 * 3_600_000;

/** The seed's `data` object, plus `unavailable` reasons for numbers Meta did not give. */
export type CacheView = Record<CoreMetricName, number | null> &
  Partial<Record<OptionalMetricName, number | null>> & {
    unavailable?: CacheData['unavailable'];
    /** Numbers older than `lastUpdated`, kept because the last fetch did not give them: since when. */
    keptFrom?: CacheData['keptFrom'];
    lastUpdated: string | null;
    fromCache: boolean;
    cacheAge: number | null;
    /** Fetched at least 48 h after the day ended in the client's timezone: Meta no longer changes these numbers. */
    final: boolean;
  };

export interface DayRead {
  clientId: string;
  period: string;
  data: CacheView;
  source: CacheSource;
  /** Seconds until the data turns stale (0 when stale or empty). */
  freshForSeconds: number;
  /** Whole seconds since the data was fetched, for the `Age` header. */
  ageSeconds: number | null;
  /** Weak validator of the data version: same numbers and fetch time, same ETag. */
  etag: string;
}

/** Asks Temporal for a refresh of the lookback, or with `days` for those days alone; see `requestRefresh`. */
export type RefreshRequester = (clientId: string, options?: { days?: string[] }) => Promise<RefreshRequestResult>;

/** Every metric shown, `null`: a day with no numbers yet. */
const emptyOf = (shown: readonly MetricName[]) =>
  Object.fromEntries(shown.map((name) => [name, null])) as Record<CoreMetricName, null>;

/**
 * The day's numbers, one per metric shown, from a row's data, with the reasons of those missing:
 * a metric the row was never fetched with is `not_fetched`; a metric retired for the fleet is
 * `metric_retired` from its seam on, where the row has no number.
 */
function numbersOf(
  data: CacheData,
  period: string,
  { shown, retired }: MetricsShown,
): { numbers: Record<CoreMetricName, number | null>; unavailable: CacheData['unavailable'] } {
  const numbers: Partial<Record<MetricName, number | null>> = {};
  const unavailable: NonNullable<CacheData['unavailable']> = { ...data.unavailable };
  for (const name of shown) {
    const value = data[name];
    numbers[name] = typeof value === 'number' ? value : null;
    if (typeof value === 'number') continue;
    const seam = retired.get(name);
    if (seam && period >= seam.since) unavailable[name] = 'metric_retired';
    else if (!(name in data)) unavailable[name] = 'not_fetched';
  }
  // A reason for a metric not shown (switched off since) is not the dashboard's.
  for (const name of Object.keys(unavailable) as MetricName[]) if (!(name in numbers)) delete unavailable[name];
  return { numbers: numbers as Record<CoreMetricName, number | null>, unavailable };
}

export interface CacheReaderOptions {
  clients: ClientStore;
  cache: CacheStore;
  requestRefresh: RefreshRequester;
  ttlMs: number;
  /** Days a refresh fetches (today and the days before); older missing days cannot be refreshed. */
  lookbackDays: number;
  logger: Logger;
  /** How long a fresh row and a client's lookup may be served from memory (≤ 1 s). */
  microCacheMs?: number;
  /** How long to answer `unavailable` without asking after Temporal failed to answer. */
  temporalBackoffMs?: number;
  /** Longest a read waits for Temporal to accept a refresh request. */
  refreshTimeoutMs?: number;
  /** How long a missing day asked of a refresh is not asked again; MISSING_DAY_RETRY_MS by default. */
  missingDayRetryMs?: number;
  /** The metrics a day shows (METRICS and the successors of retired ones); absent: the seed's four. */
  catalogue?: { get(): Promise<MetricsShown> };
  now?: () => number;
}

/**
 * Answers dashboard reads from Postgres: fresh rows as they are, stale rows at once with a
 * background refresh, missing rows empty with a refresh. A read never waits for Meta, and waits
 * for Temporal at most `refreshTimeoutMs`.
 */
export class CacheReader {
  private readonly clientsSeen: LRUCache<string, { client: Client }>;
  private readonly freshRows: LRUCache<string, CacheEntry>;
  private temporalDownUntil = 0;
  private readonly now: () => number;

  constructor(private readonly options: CacheReaderOptions) {
    const ttl = Math.min(options.microCacheMs ?? 1_000, 1_000);
    this.clientsSeen = new LRUCache({ max: 10_000, ttl, ttlAutopurge: false });
    this.freshRows = new LRUCache({ max: 50_000, ttl, ttlAutopurge: false });
    this.now = options.now ?? Date.now;
  }

  /** Forgets what this process keeps in memory about a client (after a write or an edit). */
  invalidate(clientId: string): void {
    this.clientsSeen.delete(clientId);
    for (const key of this.freshRows.keys()) if (key.startsWith(`${clientId}|`)) this.freshRows.delete(key);
  }

  async client(clientId: string): Promise<Client | undefined> {
    const seen = this.clientsSeen.get(clientId);
    if (seen) return seen.client;
    const client = await this.options.clients.get(clientId);
    if (client) this.clientsSeen.set(clientId, { client });
    return client;
  }

  /** Today in the client's timezone. */
  today(client: Client): string {
    return dayIn(client.timezone, new Date(this.now()));
  }

  /** True when a refresh fetches `period` (today and the lookback days before it). */
  refreshable(client: Client, period: string): boolean {
    const today = this.today(client);
    return period <= today && period >= addDays(today, -(this.options.lookbackDays - 1));
  }

  /** One day; `fromPostgres` skips the rows kept in memory (to renew an answer kept there). */
  async readDay(client: Client, period: string, { fromPostgres = false } = {}): Promise<DayRead> {
    const key = `${client.id}|${period}`;
    const kept = fromPostgres ? undefined : this.freshRows.get(key);
    const entry = kept ?? (await this.options.cache.get(client.id, period));
    const metrics = await this.metrics();
    const read = this.settle(client, this.view(client, period, entry, metrics), metrics);
    if (!kept && entry && read.source === 'cache') this.freshRows.set(key, entry);
    return read;
  }

  /** Every day of `from`..`to`, empty days included. */
  async readRange(client: Client, from: string, to: string): Promise<DayRead[]> {
    const rows = new Map((await this.options.cache.range(client.id, from, to)).map((e) => [e.periodId, e]));
    const metrics = await this.metrics();
    const days: DayRead[] = [];
    for (let period = from; period <= to; period = addDays(period, 1)) {
      const entry = rows.get(period);
      days.push(this.settle(client, this.view(client, period, entry, metrics), metrics));
    }
    return days;
  }

  /** The metrics a day shows now, and the fleet's retirements. */
  metrics(): Promise<MetricsShown> {
    return this.options.catalogue?.get() ?? Promise.resolve(CORE_ONLY);
  }

  /** Adds what the day's date says: why an empty day Meta no longer keeps stays empty. */
  private settle(client: Client, read: DayRead, { shown }: MetricsShown): DayRead {
    const today = this.today(client);
    if (read.source === 'empty' && read.period <= today) {
      if (beyondMetaHistory('facebook', read.period, today)) {
        read.data.unavailable = Object.fromEntries(shown.map((name) => [name, 'beyond_meta_history']));
      } else if (beyondMetaHistory('instagram', read.period, today)) {
        // Followers are a snapshot of the day, never history: a past day without one has none.
        read.data.unavailable = Object.fromEntries(
          metricsOf('instagram', shown).map((name) => [
            name,
            name === 'instagramFollowers' ? 'no_snapshot' : 'beyond_meta_history',
          ]),
        );
      }
    }
    return read;
  }

  /**
   * Starts one background refresh when a read found stale or missing data the refresh can
   * fill; never waits for Meta.
   */
  async refreshFor(client: Client, reads: DayRead[]): Promise<RefreshStatus> {
    return (await this.refreshDays(client, reads)).status;
  }

  /**
   * Asks for what the read found missing or stale, within the client's read budget, and tells per
   * day what will happen. Stale or missing days of the lookback are one refresh of the lookback
   * (the `refresh` slot: one per cooldown). Missing days older than the lookback but inside Meta's
   * history are claimed in Postgres, so each is asked once whatever the number of reads, and sent
   * alone, without the lookback, under the `days` slot (one fetch per cooldown); a read refused by
   * that slot gives its days back, so a read after the cooldown asks for them. Final days are
   * never stale and days Meta no longer keeps are never asked. `status` is the status of the
   * requests this read made (`not_needed` when it made none).
   */
  async refreshDays(client: Client, reads: DayRead[]): Promise<{ status: RefreshStatus; days: DayRefreshStatus[] }> {
    const today = this.today(client);
    const days: (DayRefreshStatus | undefined)[] = reads.map((r) =>
      r.period > today
        ? 'not_needed'
        : beyondMetaHistory('facebook', r.period, today)
          ? 'beyond_meta_history'
          : undefined,
    );
    const stale = reads.flatMap((r, i) =>
      days[i] === undefined && r.source !== 'cache' && this.refreshable(client, r.period) ? [i] : [],
    );
    const missing = reads.flatMap((r, i) =>
      days[i] === undefined && r.source === 'empty' && !this.refreshable(client, r.period) ? [i] : [],
    );
    const answer = (status: RefreshStatus, perDay: (i: number) => DayRefreshStatus) => ({
      status,
      days: days.map((known, i) => known ?? (stale.includes(i) || missing.includes(i) ? perDay(i) : 'not_needed')),
    });
    if (stale.length === 0 && missing.length === 0) return answer('not_needed', () => 'not_needed');
    if (!client.hasToken || client.tokenStatus === 'invalid') return answer('token_invalid', () => 'token_invalid');
    if (this.now() < this.temporalDownUntil) return answer('unavailable', () => 'unavailable');

    // The lookback first, so missing days asked in the same read join the refresh it starts.
    const lookback = stale.length ? await this.ask(client.id) : undefined;
    if (lookback === 'unavailable') return answer('unavailable', () => 'unavailable');
    const claimed = missing.length
      ? await this.options.cache.claimMissingDays(
          client.id,
          missing.map((i) => reads[i].period),
          this.options.missingDayRetryMs ?? MISSING_DAY_RETRY_MS,
        )
      : [];
    const old = claimed.length ? await this.ask(client.id, claimed) : undefined;
    if (!lookback && !old) return answer('not_needed', () => 'requested');
    const asked = new Set(claimed);
    return answer(strongest(lookback, old), (i) =>
      stale.includes(i) ? lookback! : asked.has(reads[i].period) ? old! : 'requested',
    );
  }

  /** One request to Temporal: the lookback, or `days` alone; days it did not send are given back. */
  private async ask(clientId: string, days?: string[]): Promise<RefreshStatus> {
    const result = await this.withTimeout(this.options.requestRefresh(clientId, days ? { days } : undefined));
    if (result.status === 'unavailable')
      this.temporalDownUntil = this.now() + (this.options.temporalBackoffMs ?? 5_000);
    // Not sent (Temporal did not answer, the client's days slot is spent, or a refresh runs, which a read never signals): the next read asks for these days again.
    if (days && ['unavailable', 'cooldown', 'in_progress'].includes(result.status))
      await this.options.cache.releaseDays(clientId, days);
    return result.status === 'not_found' ? 'not_needed' : result.status;
  }

  private async withTimeout(request: Promise<RefreshRequestResult>): Promise<RefreshRequestResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<RefreshRequestResult>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'unavailable' }), this.options.refreshTimeoutMs ?? 1_500);
    });
    try {
      return await Promise.race([
        request.catch((err: unknown) => {
          this.options.logger.warn({ err }, 'refresh request failed');
          return { status: 'unavailable' } as RefreshRequestResult;
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private ageOf(entry: CacheEntry): number {
    return Math.max(0, this.now() - entry.lastUpdated.getTime());
  }

  private view(client: Client, period: string, entry: CacheEntry | undefined, metrics: MetricsShown): DayRead {
    const clientId = client.id;
    if (!entry?.data || !entry.fetchedAt) {
      return {
        clientId,
        period,
        data: { ...emptyOf(metrics.shown), lastUpdated: null, fromCache: false, cacheAge: null, final: false },
        source: 'empty',
        freshForSeconds: 0,
        ageSeconds: null,
        etag: etagOf(clientId, period, 'empty'),
      };
    }
    const cacheAge = this.ageOf(entry);
    const final = isFinal(period, client.timezone, entry);
    const source = cachedSource(cacheAge, this.options.ttlMs, final);
    const { keptFrom } = entry.data;
    const { numbers, unavailable } = numbersOf(entry.data, period, metrics);
    return {
      clientId,
      period,
      data: {
        ...numbers,
        ...(unavailable && Object.keys(unavailable).length ? { unavailable } : {}),
        ...(keptFrom && Object.keys(keptFrom).length ? { keptFrom } : {}),
        lastUpdated: entry.lastUpdated.toISOString(),
        fromCache: true,
        cacheAge,
        final,
      },
      source,
      // A final day changes only by an admin's write: it may be kept for a whole TTL.
      freshForSeconds:
        source === 'stale-cache' ? 0 : Math.floor((final ? this.options.ttlMs : this.options.ttlMs - cacheAge) / 1000),
      ageSeconds: Math.floor(cacheAge / 1000),
      etag: etagOf(clientId, period, String(entry.lastUpdated.getTime()), source),
    };
  }
}

/** The read's status when it made two requests: what started or joined a refresh tells most. */
function strongest(...statuses: (RefreshStatus | undefined)[]): RefreshStatus {
  const order: RefreshStatus[] = ['started', 'in_progress', 'unavailable', 'cooldown', 'token_invalid', 'not_needed'];
  return order.find((status) => statuses.includes(status)) ?? 'not_needed';
}

function etagOf(...parts: string[]): string {
  return `W/"${createHash('sha1').update(parts.join('|')).digest('base64url').slice(0, 22)}"`;
}
