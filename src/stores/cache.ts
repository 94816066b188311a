import type { Knex } from 'knex';
import type { Db } from '../db';
import type { CoreMetricName, OptionalMetricName } from '../domain/vocabulary';
import type { MetricName, UnavailableReason } from '../meta/types';

/**
 * The seed's `cache_data`: the seed's four numbers, and each optional metric the row was fetched
 * with; `null` with a reason when Meta did not give one.
 */
export type CacheData = Record<CoreMetricName, number | null> &
  Partial<Record<OptionalMetricName, number | null>> & {
    unavailable?: Partial<Record<MetricName, UnavailableReason>>;
    /**
     * Numbers kept from a fetch older than the row's (the last fetch did not give them): when that
     * fetch was, ISO time. A number absent here was given by the row's own fetch (`lastUpdated`).
     */
    keptFrom?: Partial<Record<MetricName, string>>;
  };

export interface CacheEntry {
  clientId: string;
  periodId: string;
  /** Null while no refresh has succeeded for the day (the row only records attempts). */
  data: CacheData | null;
  lastUpdated: Date;
  fetchedAt: Date | null;
  lastAttemptAt: Date | null;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  /** When the day was last asked of a refresh while it had no numbers (backfill, range read). */
  requestedAt: Date | null;
}

interface CacheRow {
  client_id: string;
  period_id: string;
  cache_data: CacheData | Record<string, never>;
  last_updated: Date;
  fetched_at: Date | null;
  last_attempt_at: Date | null;
  last_error_code: string | null;
  last_error_message: string | null;
  requested_at?: Date | null;
}

function toEntry(row: CacheRow): CacheEntry {
  return {
    clientId: row.client_id,
    periodId: row.period_id,
    data: row.fetched_at ? (row.cache_data as CacheData) : null,
    lastUpdated: row.last_updated,
    fetchedAt: row.fetched_at,
    lastAttemptAt: row.last_attempt_at,
    lastErrorCode: row.last_error_code,
    lastErrorMessage: row.last_error_message,
    requestedAt: row.requested_at ?? null,
  };
}

/** The `social_media_cache` table, written only under the last-known-good rule. */
export class CacheStore {
  constructor(private readonly db: Db) {}

  async get(clientId: string, periodId: string): Promise<CacheEntry | undefined> {
    const row = await this.db<CacheRow>('social_media_cache')
      .where({ client_id: clientId, period_id: periodId })
      .first();
    return row ? toEntry(row) : undefined;
  }

  /** When Meta last answered for the client, any day: the newest `fetched_at`. */
  async lastFetchedAt(clientId: string): Promise<Date | null> {
    const row = await this.db('social_media_cache')
      .where({ client_id: clientId })
      .max<{ max: Date | null }>('fetched_at as max')
      .first();
    return row?.max ?? null;
  }

  /** The rows of `from`..`to` (inclusive, `YYYY-MM-DD`), by day. */
  async range(clientId: string, from: string, to: string): Promise<CacheEntry[]> {
    const rows = await this.db<CacheRow>('social_media_cache')
      .where({ client_id: clientId })
      .whereBetween('period_id', [from, to])
      .orderBy('period_id');
    return rows.map(toEntry);
  }

  /**
   * Writes one day's numbers unless the row already holds data fetched at the same time or
   * later. Returns whether the row changed.
   */
  async writeDay(clientId: string, periodId: string, data: CacheData, fetchedAt: Date): Promise<boolean> {
    return (await this.writeDays(clientId, [{ periodId, data }], fetchedAt)) > 0;
  }

  /**
   * `writeDay` for several days of one fetch in one statement (a refresh writes its days
   * together). Returns how many rows changed.
   */
  async writeDays(clientId: string, days: { periodId: string; data: CacheData }[], fetchedAt: Date): Promise<number> {
    return upsertDays(this.db, clientId, days, fetchedAt);
  }

  /**
   * A fetch's days merged onto their rows as they are at write time, not as they were read before
   * the fetch: in one transaction the rows are locked (created empty where missing), `merge` builds
   * each day from its current row, and the write keeps `writeDay`'s rule (only over an older
   * fetch). A write that landed while the fetch ran (an admin's POST) is what `merge` sees.
   */
  async mergeDays(
    clientId: string,
    periodIds: string[],
    fetchedAt: Date,
    merge: (periodId: string, current: CacheEntry | undefined) => CacheData,
  ): Promise<number> {
    if (!periodIds.length) return 0;
    return this.db.transaction(async (trx) => {
      await trx.raw(
        `insert into social_media_cache (client_id, period_id, cache_data)
         select ?, p, '{}'::jsonb from unnest(?::text[]) as p
         on conflict (client_id, period_id) do nothing`,
        [clientId, periodIds],
      );
      // Locked in one order, so two writers of overlapping days never wait on each other crosswise.
      const rows = await trx<CacheRow>('social_media_cache')
        .where({ client_id: clientId })
        .whereIn('period_id', periodIds)
        .orderBy('period_id')
        .forUpdate();
      const current = new Map(rows.map((row) => [row.period_id, toEntry(row)]));
      const days = periodIds
        .filter((periodId) => {
          const at = current.get(periodId)?.fetchedAt;
          return !at || at.getTime() < fetchedAt.getTime();
        })
        .map((periodId) => ({ periodId, data: merge(periodId, current.get(periodId)) }));
      return upsertDays(trx, clientId, days, fetchedAt);
    });
  }

  /** Records a failed attempt on each day's row, creating empty rows where none exist; never touches numbers. */
  async recordFailure(clientId: string, periodIds: string[], error: { code: string; message: string }): Promise<void> {
    if (!periodIds.length) return;
    await this.db.raw(
      `insert into social_media_cache (client_id, period_id, cache_data, last_attempt_at, last_error_code, last_error_message)
       select ?, p, '{}'::jsonb, now(), ?, ? from unnest(?::text[]) as p
       on conflict (client_id, period_id) do update
          set last_attempt_at = excluded.last_attempt_at,
              last_error_code = excluded.last_error_code,
              last_error_message = excluded.last_error_message`,
      [clientId, error.code, error.message.slice(0, 500), periodIds],
    );
  }

  /**
   * Claims the days that have no numbers and were not asked for within `againAfterMs`: marks
   * them requested (creating empty rows) and returns them. One statement, so concurrent reads
   * in any number of API processes claim each day once.
   */
  async claimMissingDays(clientId: string, periodIds: string[], againAfterMs: number): Promise<string[]> {
    if (!periodIds.length) return [];
    const result = await this.db.raw<{ rows: { period_id: string }[] }>(
      `insert into social_media_cache (client_id, period_id, cache_data, requested_at)
       select ?, p, '{}'::jsonb, clock_timestamp() from unnest(?::text[]) as p
       on conflict (client_id, period_id) do update
          set requested_at = excluded.requested_at
        where social_media_cache.fetched_at is null
          and (social_media_cache.requested_at is null
               or social_media_cache.requested_at <= clock_timestamp() - (? * interval '1 millisecond'))
       returning period_id`,
      [clientId, periodIds, againAfterMs],
    );
    return result.rows.map((r) => r.period_id).sort();
  }

  /** Gives claimed days back (the request did not reach Temporal), so the next read asks again. */
  async releaseDays(clientId: string, periodIds: string[]): Promise<void> {
    if (!periodIds.length) return;
    await this.db('social_media_cache')
      .where({ client_id: clientId })
      .whereIn('period_id', periodIds)
      .whereNull('fetched_at')
      .update({ requested_at: null });
  }
}

/** Writes days of one fetch in one statement, each only over an older fetch; how many rows changed. */
async function upsertDays(
  db: Db | Knex.Transaction,
  clientId: string,
  days: { periodId: string; data: CacheData }[],
  fetchedAt: Date,
): Promise<number> {
  if (days.length === 0) return 0;
  const result = await db.raw<{ rowCount: number }>(
    `insert into social_media_cache (client_id, period_id, cache_data, last_updated, fetched_at, last_attempt_at)
     select ?, d.period_id, d.data, ?, ?, now() from jsonb_to_recordset(?::jsonb) as d(period_id text, data jsonb)
     on conflict (client_id, period_id) do update
        set cache_data = excluded.cache_data,
            last_updated = excluded.last_updated,
            fetched_at = excluded.fetched_at,
            last_attempt_at = excluded.last_attempt_at,
            last_error_code = null,
            last_error_message = null
      where social_media_cache.fetched_at is null or social_media_cache.fetched_at < excluded.fetched_at`,
    [clientId, fetchedAt, fetchedAt, JSON.stringify(days.map((d) => ({ period_id: d.periodId, data: d.data })))],
  );
  return result.rowCount;
}
