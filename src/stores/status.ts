import type { Knex } from 'knex';
import type { Db } from '../db';
import type { CycleStatus, CycleTrigger } from '../domain/refresh';
import type { CacheData } from './cache';
import type { FacebookStatus, InstagramStatus, TokenStatus } from './clients';
import { DATA_ACCESS_ENDING_WITHIN_MS, missingScopes, TOKEN_EXPIRING_WITHIN_MS } from '../domain/token-lifecycle';
import { type ClientResultRecord, type CycleRecord, RefreshStore } from './refresh';
import { addDays } from '../dates';

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

/** Bit `i` of a client's problems is `PROBLEM_ORDER[i]` (migration 20270104090000 stores some of them). */
export const PROBLEM_ORDER: readonly ProblemKind[] = [
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

const bit = (kind: ProblemKind) => 1 << PROBLEM_ORDER.indexOf(kind);
/** Every problem's bit. */
const PROBLEM_MASK = (1 << PROBLEM_ORDER.length) - 1;
/** Above the problems' bits: today's numbers are fresh, or stale (neither: empty). */
const FRESH_BIT = 1 << PROBLEM_ORDER.length;
const STALE_BIT = FRESH_BIT << 1;

/** Today's row as one term: empty (no numbers, or no row), fresh or stale. */
const todayTerm = (row: string) =>
  `case when ${row}fetched_at is null then ${bit('empty_today')} when ${row}last_updated > b.fresh_after then ${FRESH_BIT} else ${STALE_BIT} end`;

/**
 * A client's problems and today's freshness as one integer: bit `i` for `PROBLEM_ORDER[i]` (so
 * the most urgent is the lowest bit set), then fresh or stale. Over a `client_activity` row `a`
 * (one per client: migrations 20270103090000 and 20270104090000), its timezone's `t.today` and
 * the instants `b` (computed once per query, not per row). The problems the client's columns
 * alone decide (token, scopes, Page, Instagram) are `a.problems`, kept by a trigger on the client
 * with these bits; what depends on the time is decided here: a usable token expiring or losing
 * data access, the failing streak `d.streak`, and today's row — the client's latest day, probed
 * in the cache only when a later day exists (a clock ahead of the database's near midnight).
 */
const BITS = `
  a.problems
  | case when a.problems & ${bit('no_token') | bit('token_invalid')} = 0 then
           case when a.token_expires_at < b.token_expiring_before then ${bit('token_expiring')} else 0 end
         | case when a.data_access_expires_at < b.data_access_ending_before then ${bit('data_access_ending')} else 0 end
         else 0 end
  | case when d.streak >= 2 then ${bit('failing')} else 0 end
  | case when a.latest_period_id = t.today then ${todayTerm('a.latest_')}
         when a.latest_period_id > t.today then coalesce((select ${todayTerm('s.')} from social_media_cache s
                                                            where s.client_id = a.client_id and s.period_id = t.today), ${bit('empty_today')})
         else ${bit('empty_today')} end`;

/** What a listed client shows of its own row (`c`), read by key for the listed clients only. */
const CLIENT_COLUMNS = `c.token_status, c.token_error, c.meta_access_token_encrypted is not null as has_token,
  c.instagram_account_id, c.instagram_status, c.facebook_status, c.token_expires_at, c.data_access_expires_at, c.token_scopes`;

const problemsOf = (bits: number): ProblemKind[] => PROBLEM_ORDER.filter((kind) => bits & bit(kind));
const freshnessOf = (bits: number): Freshness => (bits & FRESH_BIT ? 'fresh' : bits & STALE_BIT ? 'stale' : 'empty');

interface FleetRow {
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
  streak: number;
  bits: number;
}

interface ListRow extends FleetRow {
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
    freshness: freshnessOf(row.bits),
    todayData: data,
    todayUpdatedAt: data ? row.last_updated : null,
    todayErrorCode: row.last_error_code,
    lastResult: row.last_outcome
      ? { outcome: row.last_outcome, errorCode: row.last_error, errorMessage: row.last_error_message, at: row.last_at! }
      : null,
    failingStreak: Number(row.streak ?? 0),
    problems: problemsOf(row.bits),
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

/** The fleet's counts from how many clients have each combination of bits. */
function summaryOf(classes: { bits: number; n: number }[]): FleetSummary {
  const summary: FleetSummary = {
    total: 0,
    fresh: 0,
    stale: 0,
    empty: 0,
    problems: 0,
    byProblem: Object.fromEntries(PROBLEM_ORDER.map((kind) => [kind, 0])) as Record<ProblemKind, number>,
  };
  for (const { bits, n } of classes) {
    summary.total += n;
    summary[freshnessOf(bits)] += n;
    if (bits & PROBLEM_MASK) summary.problems += n;
    for (const kind of problemsOf(bits)) summary.byProblem[kind] += n;
  }
  return summary;
}

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
   * Every client with today's columns, its failing streak and its problems' bits, as a CTE
   * (`fleet`) that each reader inlines, computing only what it reads: the page by name is 50
   * rows of `client_activity_name_index`, a client's page one row by key, the fleet's counts one
   * pass over `client_activity` alone (the client rows are read for the listed clients only).
   * Materialized whole and read more than once, the fleet cost more to store than to compute.
   */
  private fleet(): { sql: string; bindings: Knex.RawBinding[] } {
    // Today's row is the client's latest day (kept in client_activity by triggers on the cache,
    // migration 20270103090000); only a client with a later day (a clock ahead of the
    // database's near midnight) is probed in the cache itself.
    const today = (column: string, latest: string) =>
      `case when a.latest_period_id = t.today then a.${latest} when a.latest_period_id > t.today then
         (select s.${column} from social_media_cache s where s.client_id = a.client_id and s.period_id = t.today) end`;
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
      -- The instants the rules compare with, computed once: now() plus an interval per row and
      -- rule was a third of the pass.
      bounds as materialized (
        select now() - (? * interval '1 millisecond') as fresh_after,
               now() - ${FAILING_LOOKBACK} as failing_after,
               now() + (${TOKEN_EXPIRING_WITHIN_MS} * interval '1 millisecond') as token_expiring_before,
               now() + (${DATA_ACCESS_ENDING_WITHIN_MS} * interval '1 millisecond') as data_access_ending_before
      ),
      fleet as not materialized (
        select a.client_id as id, a.name, a.name_lower, a.timezone, t.today, d.fetched_at, d.last_updated, d.last_error_code, d.streak,
               ${BITS} as bits
          from client_activity a
          join zones t on t.timezone = a.timezone
          cross join bounds b
          -- A streak whose last failure is older than the lookback is over.
          cross join lateral (
            select ${today('fetched_at', 'latest_fetched_at')} as fetched_at,
                   ${today('last_updated', 'latest_last_updated')} as last_updated,
                   ${today('last_error_code', 'latest_error_code')} as last_error_code,
                   case when a.failing_last_at > b.failing_after then a.failing_streak else 0 end as streak
          ) d
      )`;
    return { sql, bindings: [this.ttlMs] };
  }

  /** Any problem, and the most urgent one's rank (its bit's position: PROBLEM_ORDER). */
  private static readonly PROBLEM = `(bits & ${PROBLEM_MASK} <> 0)`;

  private static readonly SEVERITY = `(case ${PROBLEM_ORDER.map((kind, rank) => `when bits & ${bit(kind)} <> 0 then ${rank}`).join(' ')} else ${PROBLEM_ORDER.length} end)`;

  /** Today's numbers and the last non-running result of each listed client (laterals over 50 rows, by index). */
  private static readonly LAST_RESULT = `
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
   * The overview's clients in three queries sent together (on three connections), each one pass
   * over `client_activity` at most: the fleet's counts, from how many clients have each
   * combination of problems and freshness; the clients needing action (most urgent first, at
   * most `problemsLimit`); and one page of the clients matching the search (sorted, `limit` from
   * `offset`) with how many match. Each listed client's own row is read by key.
   */
  async overview(
    query: ClientPageQuery,
    problemsLimit: number,
    /** Also each listed client's numbers of its last `seriesDays` days (`series`), asked as soon as the page is known. */
    seriesDays = 0,
  ): Promise<{
    summary: FleetSummary;
    problems: { total: number; clients: StatusClient[] };
    list: { total: number; clients: StatusClient[] };
    series: Map<string, Map<string, CacheData>>;
  }> {
    const fleet = this.fleet();
    // The name lower-cased on write (client_activity.name_lower): ilike lower-cased every name again.
    const search = (name: string, id: string) => `(${name} like lower(?) or ${id}::text like ?)`;
    const searchBindings: Knex.RawBinding[] = query.search
      ? [`%${escapeLike(query.search)}%`, `${escapeLike(query.search.toLowerCase())}%`]
      : [];
    const conditions = [
      ...(query.search ? [search('name_lower', 'id')] : []),
      ...(query.problemsOnly ? [StatusStore.PROBLEM] : []),
    ];
    const matches = conditions.join(' and ');
    // How many match: the fleet, or those with problems, are the summary's counts; a search is
    // counted beside the page, over client_activity alone unless problems are asked for too.
    const counted = !query.search
      ? null
      : query.problemsOnly
        ? `(select count(*)::int from fleet where ${matches})`
        : `(select count(*)::int from client_activity a where ${search('a.name_lower', 'a.client_id')})`;
    const order =
      query.sort === 'freshness'
        ? `(fetched_at is null) desc, last_updated asc nulls first, name, id`
        : query.sort === 'recent'
          ? `(fetched_at is null), last_updated desc nulls last, name, id`
          : 'name, id';
    const severity = `${StatusStore.SEVERITY}, streak desc, name, id`;
    // Each pass keeps only what it orders by; the listed rows' other columns are read for them alone.
    const listed = (from: string) =>
      `(select coalesce(json_agg(row_to_json(listed) order by listed.ord), '[]'::json) from (
          select page.*, today_row.cache_data, lr.* from ${from} page ${StatusStore.LAST_RESULT}) listed)`;
    // By key, one client at a time: a lateral kept apart (`limit 1`), or the planner joins the
    // keys to the whole fleet (a hash, or a merge along the primary key: 90 ms for 20 rows).
    const rowsOf = (keys: string, orderBy: string) =>
      `select f.*, c.*, k.ord from (select id, row_number() over (order by ${orderBy}) as ord from ${keys}) k
         cross join lateral (select * from fleet where fleet.id = k.id limit 1) f
         cross join lateral (select ${CLIENT_COLUMNS} from clients c where c.id = k.id) c`;
    // Three queries on three connections, each one pass at most: the fleet's counts, the clients
    // needing action, and the page. Sharing one pass between the first two (keeping the fleet's
    // bits in a CTE, or gathering the keys per combination) cost more than the second pass does
    // on the other core.
    const [fleetPass, problemsPass, pagePass] = await Promise.all([
      this.db.raw<{ rows: { bits: number; n: number }[] }>(
        `with ${fleet.sql} select bits, count(*)::int as n from fleet group by bits`,
        fleet.bindings,
      ),
      this.db.raw<{ rows: { clients: JsonRow[] }[] }>(
        `with ${fleet.sql},
         problem_keys as (select id, name, streak, bits from fleet where ${StatusStore.PROBLEM} order by ${severity} limit ?),
         problems as (${rowsOf('problem_keys', severity)})
         select ${listed('problems')} as clients`,
        [...fleet.bindings, problemsLimit],
      ),
      // By name: 50 rows of client_activity_name_index. Their series follow while the passes run.
      this.db
        .raw<{ rows: { clients: JsonRow[]; total: number | null }[] }>(
          `with ${fleet.sql},
           page_keys as (
             select id, name, fetched_at, last_updated from fleet ${matches ? `where ${matches}` : ''}
              order by ${order} limit ? offset ?
           ),
           page as (${rowsOf('page_keys', order)})
           select ${listed('page')} as clients, ${counted ?? 'null'} as total`,
          [...fleet.bindings, ...searchBindings, query.limit, query.offset, ...(counted ? searchBindings : [])],
        )
        .then(async ({ rows }) => {
          const clients = rows[0].clients.map(fromJson).map(toClient);
          const total = rows[0].total;
          if (!seriesDays) return { clients, total, series: new Map<string, Map<string, CacheData>>() };
          const todays = clients.map((c) => c.today).sort();
          const series = await this.series(
            clients.map((c) => c.id),
            todays.length ? addDays(todays[0], -(seriesDays - 1)) : '0000-01-01',
            todays.length ? todays[todays.length - 1] : '0000-01-01',
          );
          return { clients, total, series };
        }),
    ]);
    const classes = fleetPass.rows;
    const problems = problemsPass.rows[0].clients;
    const summary = summaryOf(classes);
    return {
      summary,
      problems: { total: summary.problems, clients: problems.map(fromJson).map(toClient) },
      list: {
        total: pagePass.total ?? (query.problemsOnly ? summary.problems : summary.total),
        clients: pagePass.clients,
      },
      series: pagePass.series,
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
    const fleet = this.fleet();
    const { rows } = await this.db.raw<{
      rows: (ListRow & {
        facebook_page_id: string;
        refresh_requested_at: Date | null;
        cooldown_left_ms: string | null;
      })[];
    }>(
      `with ${fleet.sql},
       page as (select * from fleet where id = ?)
       select page.*, today_row.cache_data, lr.*, ${CLIENT_COLUMNS}, c.facebook_page_id, c.refresh_requested_at,
              greatest(0, ceil(extract(epoch from (c.refresh_requested_at + (? * interval '1 millisecond') - clock_timestamp())) * 1000)) as cooldown_left_ms
         from page join clients c on c.id = page.id ${StatusStore.LAST_RESULT}`,
      [...fleet.bindings, id, cooldownMs],
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
