import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { addDays, dayIn } from '../dates';
import { cacheAgeMs, freshForSeconds, isFresh } from '../domain/freshness';
import { beyondMetaHistory } from '../domain/meta-history';
import { isFinal } from '../domain/settled';
import type { Logger } from '../logger';
import type { CacheData, CacheEntry, CacheStore } from '../stores/cache';
import type { Client, ClientStore } from '../stores/clients';
import type { RefreshRequestResult } from '../temporal/request-refresh';

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
export interface CacheView {
  facebookNewFollowers: number | null;
  instagramFollowers: number | null;
  instagramReach: number | null;
  instagramProfileViews: number | null;
  unavailable?: CacheData['unavailable'];
  /** Numbers older than `lastUpdated`, kept because the last fetch did not give them: since when. */
  keptFrom?: CacheData['keptFrom'];
  lastUpdated: string | null;
  fromCache: boolean;
  cacheAge: number | null;
  /** Fetched at least 48 h after the day ended in the client's timezone: Meta no longer changes these numbers. */
  final: boolean;
}

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

/** Asks Temporal for a refresh, with `days` besides the lookback; see `requestRefresh`. */
export type RefreshRequester = (clientId: string, options?: { days?: string[] }) => Promise<RefreshRequestResult>;

const EMPTY: Pick<CacheView, 'facebookNewFollowers' | 'instagramFollowers' | 'instagramReach' | 'instagramProfileViews'> = {
  facebookNewFollowers: null,
  instagramFollowers: null,
  instagramReach: null,
  instagramProfileViews: null,
};

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
    let entry = fromPostgres ? undefined : this.freshRows.get(key);
    if (!entry) {
      entry = await this.options.cache.get(client.id, period);
      if (entry?.fetchedAt && isFresh(this.ageOf(entry), this.options.ttlMs)) this.freshRows.set(key, entry);
    }
    return this.settle(client, this.view(client.id, period, entry), entry);
  }

  /** Every day of `from`..`to`, empty days included. */
  async readRange(client: Client, from: string, to: string): Promise<DayRead[]> {
    const rows = new Map((await this.options.cache.range(client.id, from, to)).map((e) => [e.periodId, e]));
    const days: DayRead[] = [];
    for (let period = from; period <= to; period = addDays(period, 1)) {
      const entry = rows.get(period);
      days.push(this.settle(client, this.view(client.id, period, entry), entry));
    }
    return days;
  }

  /** Adds what the day's date says: whether its numbers are final, and why an empty day Meta no longer keeps stays empty. */
  private settle(client: Client, read: DayRead, entry: CacheEntry | undefined): DayRead {
    read.data.final = isFinal(read.period, client.timezone, entry);
    const today = this.today(client);
    if (read.source === 'empty' && read.period <= today) {
      if (beyondMetaHistory('facebook', read.period, today)) {
        read.data.unavailable = {
          facebookNewFollowers: 'beyond_meta_history',
          instagramFollowers: 'beyond_meta_history',
          instagramReach: 'beyond_meta_history',
          instagramProfileViews: 'beyond_meta_history',
        };
      } else if (beyondMetaHistory('instagram', read.period, today)) {
        read.data.unavailable = { instagramFollowers: 'no_snapshot', instagramReach: 'beyond_meta_history', instagramProfileViews: 'beyond_meta_history' };
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
   * Asks one refresh for what the read found missing or stale, and tells per day what will
   * happen: stale or missing days of the lookback are refreshed (under the cooldown); missing
   * days older than the lookback but inside Meta's history are claimed in Postgres, so each is
   * asked once whatever the number of reads, and sent with the request (joining a running
   * refresh); days Meta no longer keeps are never asked. `status` is the request's, as before
   * (`not_needed` when this read asked nothing).
   */
  async refreshDays(client: Client, reads: DayRead[]): Promise<{ status: RefreshStatus; days: DayRefreshStatus[] }> {
    const today = this.today(client);
    const days: (DayRefreshStatus | undefined)[] = reads.map((r) =>
      r.period > today ? 'not_needed' : beyondMetaHistory('facebook', r.period, today) ? 'beyond_meta_history' : undefined,
    );
    const stale = reads.flatMap((r, i) => (days[i] === undefined && r.source !== 'cache' && this.refreshable(client, r.period) ? [i] : []));
    const missing = reads.flatMap((r, i) => (days[i] === undefined && r.source === 'empty' && !this.refreshable(client, r.period) ? [i] : []));
    const answer = (status: RefreshStatus, perDay: (i: number) => DayRefreshStatus) => ({
      status,
      days: days.map((known, i) => known ?? (stale.includes(i) || missing.includes(i) ? perDay(i) : 'not_needed')),
    });
    if (stale.length === 0 && missing.length === 0) return answer('not_needed', () => 'not_needed');
    if (!client.hasToken || client.tokenStatus === 'invalid') return answer('token_invalid', () => 'token_invalid');
    if (this.now() < this.temporalDownUntil) return answer('unavailable', () => 'unavailable');

    const claimed = missing.length
      ? await this.options.cache.claimMissingDays(client.id, missing.map((i) => reads[i].period), this.options.missingDayRetryMs ?? MISSING_DAY_RETRY_MS)
      : [];
    if (claimed.length === 0 && stale.length === 0) return answer('not_needed', () => 'requested');
    const result = await this.withTimeout(this.options.requestRefresh(client.id, claimed.length ? { days: claimed } : undefined));
    if (result.status === 'unavailable') {
      this.temporalDownUntil = this.now() + (this.options.temporalBackoffMs ?? 5_000);
      // The request did not reach Temporal: the next read asks for these days again.
      await this.options.cache.releaseDays(client.id, claimed);
    }
    const status: RefreshStatus = result.status === 'not_found' ? 'not_needed' : result.status;
    const asked = new Set(claimed);
    return answer(status, (i) => (stale.includes(i) || asked.has(reads[i].period) ? status : 'requested'));
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
    return cacheAgeMs(entry.lastUpdated, this.now());
  }

  private view(clientId: string, period: string, entry: CacheEntry | undefined): DayRead {
    if (!entry?.data || !entry.fetchedAt) {
      return {
        clientId,
        period,
        data: { ...EMPTY, lastUpdated: null, fromCache: false, cacheAge: null, final: false },
        source: 'empty',
        freshForSeconds: 0,
        ageSeconds: null,
        etag: etagOf(clientId, period, 'empty'),
      };
    }
    const cacheAge = this.ageOf(entry);
    const fresh = isFresh(cacheAge, this.options.ttlMs);
    const { facebookNewFollowers, instagramFollowers, instagramReach, instagramProfileViews, unavailable, keptFrom } = entry.data;
    return {
      clientId,
      period,
      data: {
        facebookNewFollowers,
        instagramFollowers,
        instagramReach,
        instagramProfileViews,
        ...(unavailable && Object.keys(unavailable).length ? { unavailable } : {}),
        ...(keptFrom && Object.keys(keptFrom).length ? { keptFrom } : {}),
        lastUpdated: entry.lastUpdated.toISOString(),
        fromCache: true,
        cacheAge,
        // Set by `settle`, which knows the client's timezone.
        final: false,
      },
      source: fresh ? 'cache' : 'stale-cache',
      freshForSeconds: freshForSeconds(cacheAge, this.options.ttlMs),
      ageSeconds: Math.floor(cacheAge / 1000),
      etag: etagOf(clientId, period, String(entry.lastUpdated.getTime()), fresh ? 'cache' : 'stale-cache'),
    };
  }
}

function etagOf(...parts: string[]): string {
  return `W/"${createHash('sha1').update(parts.join('|')).digest('base64url').slice(0, 22)}"`;
}
