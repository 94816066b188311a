import type { Knex } from 'knex';
import type { Db } from '../db';
import type { CycleStatus, CycleTrigger } from '../domain/refresh';
import type { CacheData } from './cache';
import type { FacebookStatus, InstagramStatus, TokenStatus } from './clients';
import {
  DATA_ACCESS_ENDING_WITHIN_MS,
  INSTAGRAM_SCOPES,
  missingScopes,
  PAGE_SCOPES,
  TOKEN_EXPIRING_WITHIN_MS,
} from '../domain/token-lifecycle';
import { type ClientResultRecord, type CycleRecord, RefreshStore } from './refresh';

/**
 * The status pages' reads: a few set-based queries whose number does not depend on the fleet's
 * size (a page of 50 clients out of 10,000 costs what a page of 6 does). "Today" is each
 * client's calendar day in its timezone, computed by Postgres, so clients in many timezones
 * still cost one query.
 */

export type { Freshness } from '../domain/vocabulary';
import type { Freshness } from '../domain/vocabulary';

/** Why a client needs an operator, most urgent first. */
export type ProblemKind =
  | 'token_invalid'
  | 'no_token'
  | 'failing'
  | 'token_expiring'
  | 'data_access_ending'
  | 'scopes_missing'
  | 'facebook_permission_missing'
  | 'page_not_accessible'
  | 'instagram_permission_missing'
  | 'instagram_not_linked'
  | 'empty_today';

export type ClientSort = 'name' | 'freshness' | 'recent';

export interface LastResult {
  outcome: string;
  errorCode: string | null;
  errorMessage: string | null;
  at: Date;
}

/** One client as the overview lists it. */
export interface StatusClient {
  id: string;
  name: string;
  timezone: string;
  tokenStatus: TokenStatus;
  tokenError: string | null;
  hasToken: boolean;
  instagramAccountId: string | null;
  instagramStatus: InstagramStatus;
  facebookStatus: FacebookStatus;
  /** From debug_token: when the token expires, when data access ends (null: never or not known), scopes it lacks. */
  tokenExpiresAt: Date | null;
  dataAccessExpiresAt: Date | null;
  missingScopes: string[];
  /** Today in the client's timezone, `YYYY-MM-DD`. */
  today: string;
  freshness: Freshness;
  /** Today's numbers, null while no refresh has succeeded for today. */
  todayData: CacheData | null;
  todayUpdatedAt: Date | null;
  todayErrorCode: string | null;
  lastResult: LastResult | null;
  /** Failed results in a row, newest first, since the last success. */
  failingStreak: number;
  problems: ProblemKind[];
}

export interface ClientPageQuery {
  search?: string;
  sort: ClientSort;
  problemsOnly: boolean;
  limit: number;
  offset: number;
}

export interface FleetSummary {
  total: number;
  fresh: number;
  stale: number;
  empty: number;
  problems: number;
  byProblem: Record<ProblemKind, number>;
}

/** A cycle as the status page draws it: the cycle's record, its totals flattened, and its spacing. */
export interface CycleBar extends Pick<
  CycleRecord,
  'id' | 'workflowId' | 'trigger' | 'status' | 'startedAt' | 'finishedAt' | 'started' | 'currentClientId'
> {
  total: number;
  refreshed: number;
  failed: number;
  skipped: number;
  pending: number;
  spacingMs: number | null;
  /** Lanes in use at the last page (1 for cycles without lanes). */
  lanes: number;
  /** How long the cycle's starts take on its lanes, and whether that fits 80 % of the interval (null: not planned). */
  needsMs: number | null;
  fitsInterval: boolean | null;
  /** The interval the lanes were planned for. */
  intervalMs: number | null;
  /** A running cycle's results so far (from its client rows); finished cycles carry their totals. */
  done: number;
}

export interface AppUsage {
  appPercent: number | null;
  reportedAt: Date | null;
  throttledUntil: Date | null;
  throttleReason: string | null;
}

/** One day of a client's numbers; `data` null for a day without numbers (a gap, never zero). */
export interface SeriesPoint {
  period: string;
  data: CacheData | null;
}

/** What a client's own page shows besides its series. */
export interface ClientDetail extends StatusClient {
  facebookPageId: string;
  /** When an on-demand refresh was last let through (the cooldown runs from it). */
  refreshRequestedAt: Date | null;
  cooldownLeftMs: number;
}

/** A refresh result as the client page lists it. */
export type RefreshResultRow = ClientResultRecord;

const PROBLEM_ORDER: ProblemKind[] = [
  'token_invalid',
  'no_token',
  'failing',
  'token_expiring',
  'data_access_ending',
  'scopes_missing',
  'facebook_permission_missing',
  'page_not_accessible',
  'instagram_permission_missing',
  'instagram_not_linked',
  'empty_today',
];

/** Results older than this are not looked at for failing streaks (cycles run every few hours). */
const FAILING_LOOKBACK = `interval '7 days'`;

interface BaseRow {
  id: string;
  name: string;
  timezone: string;
  token_status: TokenStatus;
  token_error: string | null;
  has_token: boolean;
  instagram_account_id: string | null;
  instagram_status: InstagramStatus;
  facebook_status: FacebookStatus;
  token_expires_at: Date | string | null;
  data_access_expires_at: Date | string | null;
  token_scopes: string[] | null;
  today: string;
  cache_data: CacheData | null;
  fetched_at: Date | null;
  last_updated: Date | null;
  last_error_code: string | null;
  freshness: Freshness;
  streak: number;
  p_token_invalid: boolean;
  p_no_token: boolean;
  p_failing: boolean;
  p_token_expiring: boolean;
  p_data_access_ending: boolean;
  p_scopes_missing: boolean;
  p_facebook_permission_missing: boolean;
  p_page_not_accessible: boolean;
  p_instagram_permission_missing: boolean;
  p_instagram_not_linked: boolean;
  p_empty_today: boolean;
}

interface ListRow extends BaseRow {
  last_outcome: string | null;
  last_error: string | null;
  last_error_message: string | null;
  last_at: Date | null;
}

function toClient(row: ListRow): StatusClient {
  const data = row.fetched_at ? row.cache_data : null;
  return {
    id: row.id,
    name: row.name,
    timezone: row.timezone,
    tokenStatus: row.token_status,
    tokenError: row.token_error,
    hasToken: row.has_token,
    instagramAccountId: row.instagram_account_id,
    instagramStatus: row.instagram_status,
    facebookStatus: row.facebook_status,
    tokenExpiresAt: row.token_expires_at ? new Date(row.token_expires_at) : null,
    dataAccessExpiresAt: row.data_access_expires_at ? new Date(row.data_access_expires_at) : null,
    missingScopes: missingScopes(row.token_scopes, row.instagram_account_id !== null),
    today: row.today,
    freshness: row.freshness,
    todayData: data,
    todayUpdatedAt: data ? row.last_updated : null,
    todayErrorCode: row.last_error_code,
    lastResult: row.last_outcome
      ? { outcome: row.last_outcome, errorCode: row.last_error, errorMessage: row.last_error_message, at: row.last_at! }
      : null,
    failingStreak: Number(row.streak ?? 0),
    problems: PROBLEM_ORDER.filter((kind) => row[`p_${kind}`]),
  };
}

/** A listed row as `row_to_json` gives it: timestamps as ISO strings. */
type JsonRow = Omit<ListRow, 'fetched_at' | 'last_updated' | 'last_at'> & {
  fetched_at: string | null;
  last_updated: string | null;
  last_at: string | null;
};

const fromJson = (row: JsonRow): ListRow => ({
  ...row,
  fetched_at: row.fetched_at ? new Date(row.fetched_at) : null,
  last_updated: row.last_updated ? new Date(row.last_updated) : null,
  last_at: row.last_at ? new Date(row.last_at) : null,
});

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export class StatusStore {
  private readonly refresh: RefreshStore;

  constructor(
    private readonly db: Db,
    /** CACHE_TTL: older numbers are stale. */
    private readonly ttlMs: number,
  ) {
    this.refresh = new RefreshStore(db);
  }

  /**
   * Every client with today's freshness, its failing streak and its problems, as a CTE (`base`):
   * the one definition the list, the problems and the summary read from. `ids` narrows the
   * clients before anything is joined. Today's numbers are joined later, to listed rows only.
   */
  private base(where: { ids?: string[] } = {}): { sql: string; bindings: Knex.RawBinding[] } {
    // In the order the SQL names them: the TTL in the select list, then the condition.
    const bindings: Knex.RawBinding[] = [this.ttlMs];
    const conditions: string[] = [];
    if (where.ids) {
      conditions.push('c.id = any(?::uuid[])');
      bindings.push(where.ids);
    }
    const sql = `
      -- The fleet's timezones by a skip over clients_timezone_index (a probe per zone, where a
      -- distinct read all 100,000 clients), each one's today computed once: per client it was
      -- 100,000 conversions. Materialized, so the planner cannot inline the conversion per row.
      zone_names as materialized (
        with recursive z(timezone) as (
          (select timezone from clients order by timezone limit 1)
          union all
          select (select c.timezone from clients c where c.timezone > z.timezone order by c.timezone limit 1)
            from z where z.timezone is not null
        )
        select timezone from z where timezone is not null
      ),
      zones as materialized (
        select timezone, to_char(now() at time zone timezone, 'YYYY-MM-DD') as today from zone_names
      ),
      -- Streaks are kept per failing client by a trigger on refresh_client_results (migration
      -- 20270102090100); a streak whose last failure is older than the lookback is over.
      failing as (
        select client_id, streak from client_failing where last_failed_at > now() - ${FAILING_LOOKBACK}
      ),
      base as (
        select c.id, c.name, t.today,
               sc.fetched_at, sc.last_updated, sc.last_error_code,
               case when sc.fetched_at is null then 'empty'
                    when sc.last_updated > now() - (? * interval '1 millisecond') then 'fresh'
                    else 'stale' end as freshness,
               coalesce(failing.streak, 0) as streak,
               c.meta_access_token_encrypted is not null and c.token_status = 'invalid' as p_token_invalid,
               c.meta_access_token_encrypted is null as p_no_token,
               coalesce(failing.streak, 0) >= 2 as p_failing,
               c.meta_access_token_encrypted is not null and c.token_status <> 'invalid'
                 and c.token_expires_at < now() + (${TOKEN_EXPIRING_WITHIN_MS} * interval '1 millisecond') as p_token_expiring,
               c.meta_access_token_encrypted is not null and c.token_status <> 'invalid'
                 and c.data_access_expires_at < now() + (${DATA_ACCESS_ENDING_WITHIN_MS} * interval '1 millisecond') as p_data_access_ending,
               c.token_scopes is not null and c.token_status <> 'invalid'
                 and not (c.token_scopes @> array[${PAGE_SCOPES.map((s) => `'${s}'`).join(', ')}]::text[]
                          and (c.instagram_account_id is null or c.token_scopes @> array[${INSTAGRAM_SCOPES.map((s) => `'${s}'`).join(', ')}]::text[])) as p_scopes_missing,
               c.meta_access_token_encrypted is not null and c.token_status <> 'invalid'
                 and c.facebook_status = 'permission_missing' as p_facebook_permission_missing,
               c.facebook_status = 'not_accessible' as p_page_not_accessible,
               c.instagram_account_id is not null and c.instagram_status = 'permission_missing' as p_instagram_permission_missing,
               c.instagram_account_id is not null and c.instagram_status = 'not_linked' as p_instagram_not_linked,
               sc.fetched_at is null as p_empty_today
          from clients c
          -- Each timezone's today, computed once per zone: per client it was 100,000 conversions.
          join zones t on t.timezone = c.timezone
          -- Today's row is the client's latest day (kept by triggers on the cache), read by key;
          -- only a client with a later day (a clock ahead of the database's near midnight) is
          -- probed in the cache itself. Probing every client's today by index took 1.4 s for
          -- 100,000 clients × 90 days.
          left join client_latest_day l on l.client_id = c.id
          cross join lateral (
            select case when l.period_id = t.today then l.fetched_at when l.period_id > t.today then
                     (select s.fetched_at from social_media_cache s where s.client_id = c.id and s.period_id = t.today) end as fetched_at,
                   case when l.period_id = t.today then l.last_updated when l.period_id > t.today then
                     (select s.last_updated from social_media_cache s where s.client_id = c.id and s.period_id = t.today) end as last_updated,
                   case when l.period_id = t.today then l.last_error_code when l.period_id > t.today then
                     (select s.last_error_code from social_media_cache s where s.client_id = c.id and s.period_id = t.today) end as last_error_code
          ) sc
          left join failing on failing.client_id = c.id
         ${conditions.length ? `where ${conditions.join(' and ')}` : ''}
      )`;
    return { sql, bindings };
  }

  /** Any problem, and the most urgent one's rank: both from PROBLEM_ORDER, so a new kind is listed once. */
  private static readonly PROBLEM = `(${PROBLEM_ORDER.map((kind) => `p_${kind}`).join(' or ')})`;

  private static readonly SEVERITY = `(case ${PROBLEM_ORDER.map((kind, rank) => `when p_${kind} then ${rank}`).join(' ')} else ${PROBLEM_ORDER.length} end)`;

  /**
   * A listed client's columns that no pass over the fleet needs: read for the 50 rows listed,
   * not carried through the fleet's pass (which they made twice as wide).
   */
  private static readonly DETAILS = `w.timezone, w.token_status, w.token_error, w.meta_access_token_encrypted is not null as has_token,
      w.instagram_account_id, w.instagram_status, w.facebook_status, w.token_expires_at, w.data_access_expires_at, w.token_scopes`;

  /** Today's numbers and the last non-running result of each listed client (laterals over 50 rows, by index). */
  private static readonly LAST_RESULT = `
      cross join lateral (select ${StatusStore.DETAILS} from clients w where w.id = page.id) details
      left join lateral (
        select s.cache_data from social_media_cache s where s.client_id = page.id and s.period_id = page.today limit 1
      ) today_row on true
      left join lateral (
        select r.outcome as last_outcome, r.error_code as last_error, r.error_message as last_error_message,
               coalesce(r.finished_at, r.started_at) as last_at
          from refresh_client_results r
         where r.client_id = page.id and r.outcome not in ('running', 'pending')
         order by r.started_at desc limit 1
      ) lr on true`;

  /**
   * The overview's clients in one query over one pass of `base`: counts over the whole fleet,
   * the clients needing action (most urgent first, at most `problemsLimit`), and one page of the
   * clients matching the search (sorted, `limit` from `offset`) with how many match.
   */
  async overview(
    query: ClientPageQuery,
    problemsLimit: number,
  ): Promise<{
    summary: FleetSummary;
    problems: { total: number; clients: StatusClient[] };
    list: { total: number; clients: StatusClient[] };
  }> {
    const base = this.base();
    const conditions: string[] = [];
    const searchBindings: Knex.RawBinding[] = [];
    if (query.search) {
      conditions.push(`(name ilike ? or id::text like ?)`);
      searchBindings.push(`%${escapeLike(query.search)}%`, `${escapeLike(query.search.toLowerCase())}%`);
    }
    if (query.problemsOnly) conditions.push(StatusStore.PROBLEM);
    const order =
      query.sort === 'freshness'
        ? `(fetched_at is null) desc, last_updated asc nulls first, name, id`
        : query.sort === 'recent'
          ? `(fetched_at is null), last_updated desc nulls last, name, id`
          : 'name, id';
    const severity = `${StatusStore.SEVERITY}, streak desc, name, id`;
    const listed = (from: string, orderBy: string) =>
      `(select coalesce(json_agg(row_to_json(listed) order by listed.ord), '[]'::json) from (
          select page.*, details.*, today_row.cache_data, lr.*, row_number() over (order by ${orderBy}) as ord
            from ${from} page ${StatusStore.LAST_RESULT}) listed)`;
    const { rows } = await this.db.raw<{
      rows: { summary: Record<string, string>; total: string | null; page: JsonRow[]; problems: JsonRow[] }[];
    }>(
      // Without a search or filter the list is the fleet: its count is the summary's total.
      `with ${base.sql},
       ${conditions.length ? `matching as (select * from base where ${conditions.join(' and ')}),` : ''}
       page as (select * from ${conditions.length ? 'matching' : 'base'} order by ${order} limit ? offset ?),
       problems as (select * from base where ${StatusStore.PROBLEM} order by ${severity} limit ?)
       select (select row_to_json(counts) from (
                 select count(*) as total,
                        count(*) filter (where freshness = 'fresh') as fresh,
                        count(*) filter (where freshness = 'stale') as stale,
                        count(*) filter (where freshness = 'empty') as empty,
                        count(*) filter (where ${StatusStore.PROBLEM}) as problems,
                        ${PROBLEM_ORDER.map((kind) => `count(*) filter (where p_${kind}) as ${kind}`).join(', ')}
                   from base) counts) as summary,
              ${conditions.length ? '(select count(*) from matching)' : 'null'} as total,
              ${listed('page', order)} as page,
              ${listed('problems', severity)} as problems`,
      [...base.bindings, ...searchBindings, query.limit, query.offset, problemsLimit],
    );
    const row = rows[0];
    const counts = row.summary;
    const summary: FleetSummary = {
      total: Number(counts.total),
      fresh: Number(counts.fresh),
      stale: Number(counts.stale),
      empty: Number(counts.empty),
      problems: Number(counts.problems),
      byProblem: Object.fromEntries(PROBLEM_ORDER.map((kind) => [kind, Number(counts[kind])])) as Record<
        ProblemKind,
        number
      >,
    };
    return {
      summary,
      problems: { total: summary.problems, clients: row.problems.map(fromJson).map(toClient) },
      list: {
        total: row.total === null ? summary.total : Number(row.total),
        clients: row.page.map(fromJson).map(toClient),
      },
    };
  }

  /**
   * Daily numbers of `clientIds` from `from` to `to` (inclusive), one query; days without
   * numbers are absent (the caller draws them as gaps).
   */
  async series(clientIds: string[], from: string, to: string): Promise<Map<string, Map<string, CacheData>>> {
    const out = new Map<string, Map<string, CacheData>>();
    if (!clientIds.length) {
      // Still one round trip: the page's query count does not depend on what it lists.
      await this.db.raw('select 1');
      return out;
    }
    const { rows } = await this.db.raw<{ rows: { client_id: string; period_id: string; cache_data: CacheData }[] }>(
      `select client_id, period_id, cache_data from social_media_cache
        where client_id = any(?::uuid[]) and period_id between ? and ? and fetched_at is not null`,
      [clientIds, from, to],
    );
    for (const row of rows) {
      let days = out.get(row.client_id);
      if (!days) out.set(row.client_id, (days = new Map()));
      days.set(row.period_id, row.cache_data);
    }
    return out;
  }

  /** The last `limit` cycles, newest first, a running one with its results counted so far. One query. */
  async recentCycles(limit: number): Promise<CycleBar[]> {
    const { rows } = await this.db.raw<{ rows: Record<string, unknown>[] }>(
      `select r.*, counts.by_outcome
         from (select * from refresh_runs order by started_at desc limit ?) r
         left join lateral (
           select json_object_agg(outcome, n) as by_outcome
             from (select outcome, count(*)::int as n from refresh_client_results x
                    where x.run_id = r.id and r.status = 'running' group by outcome) g
         ) counts on true
        order by r.started_at desc`,
      [limit],
    );
    return rows.map((row) => {
      const running = row.status === 'running';
      const counted = (row.by_outcome ?? {}) as Record<string, number>;
      const n = (column: string, outcome: string) => (running ? (counted[outcome] ?? 0) : Number(row[column] ?? 0));
      const refreshed = n('refreshed', 'refreshed');
      const failed = n('failed', 'failed');
      const skipped =
        n('skipped_token_invalid', 'skipped_token_invalid') +
        n('skipped_fresh', 'skipped_fresh') +
        n('already_running', 'already_running');
      const pending = n('pending', 'pending');
      return {
        id: row.id as string,
        workflowId: row.workflow_id as string,
        trigger: row.trigger as CycleTrigger,
        status: row.status as CycleStatus,
        startedAt: row.started_at as Date,
        finishedAt: (row.finished_at as Date | null) ?? null,
        total: Number(row.total),
        refreshed,
        failed,
        skipped,
        pending,
        started: Number(row.started ?? 0),
        spacingMs: row.current_spacing_ms === null ? null : Number(row.current_spacing_ms),
        lanes: row.lanes === null || row.lanes === undefined ? 1 : Number(row.lanes),
        needsMs: row.needs_ms === null || row.needs_ms === undefined ? null : Number(row.needs_ms),
        fitsInterval: (row.fits_interval as boolean | null | undefined) ?? null,
        intervalMs: row.interval_ms === null || row.interval_ms === undefined ? null : Number(row.interval_ms),
        currentClientId: (row.current_client_id as string | null) ?? null,
        done: refreshed + failed + skipped,
      };
    });
  }

  /** Meta's last reported app usage and the app-level throttle, if any. One query. */
  async appUsage(): Promise<AppUsage> {
    const { rows } = await this.db.raw<{
      rows: {
        app_percent: number | null;
        reported_at: Date | null;
        throttled_until: Date | null;
        reason: string | null;
      }[];
    }>(
      `select u.app_percent, u.reported_at, t.throttled_until, t.reason
         from (select 1) one
         left join meta_app_usage u on u.id = 1
         left join meta_app_throttle t on t.id = 1 and t.throttled_until > now()`,
    );
    const row = rows[0];
    return {
      appPercent: row?.app_percent ?? null,
      reportedAt: row?.reported_at ?? null,
      throttledUntil: row?.throttled_until ?? null,
      throttleReason: row?.reason ?? null,
    };
  }

  /** One client with today's row, its streak, problems and cooldown. One query. */
  async client(id: string, cooldownMs: number): Promise<ClientDetail | undefined> {
    const base = this.base({ ids: [id] });
    const { rows } = await this.db.raw<{
      rows: (ListRow & {
        facebook_page_id: string;
        refresh_requested_at: Date | null;
        cooldown_left_ms: string | null;
      })[];
    }>(
      `with ${base.sql},
       page as (select * from base)
       select 1 as total, page.*, details.*, today_row.cache_data, lr.*, c.facebook_page_id, c.refresh_requested_at,
              greatest(0, ceil(extract(epoch from (c.refresh_requested_at + (? * interval '1 millisecond') - clock_timestamp())) * 1000)) as cooldown_left_ms
         from page join clients c on c.id = page.id ${StatusStore.LAST_RESULT}`,
      [...base.bindings, cooldownMs],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      ...toClient(row),
      facebookPageId: row.facebook_page_id,
      refreshRequestedAt: row.refresh_requested_at,
      cooldownLeftMs: Number(row.cooldown_left_ms ?? 0),
    };
  }

  /** The client's last `limit` refresh results, newest first. One query. */
  clientResults(id: string, limit: number): Promise<RefreshResultRow[]> {
    return this.refresh.resultsOfClient(id, limit);
  }
}
