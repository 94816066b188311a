import type { Db } from '../db';
import { recordEvent } from './events';
import type { ClientOutcome, CycleStatus, CycleTrigger, RefreshTotals, RefreshTrigger } from '../domain/refresh';

export interface CycleRecord {
  id: string;
  workflowId: string;
  trigger: CycleTrigger;
  status: CycleStatus;
  startedAt: Date;
  finishedAt: Date | null;
  totals: RefreshTotals;
  error: string | null;
  /** Children the cycle started so far, and the client it started last (written at each page). */
  started: number;
  currentClientId: string | null;
  /** The spacing between child starts in use at the last page (stretched under Meta's app usage). */
  currentSpacingMs: number | null;
  /** Lanes in use at the last page (null: a cycle without lane settings, one lane). */
  lanes: number | null;
  /** How long the cycle's starts take on its lanes, and whether that fits 80 % of the interval. */
  needsMs: number | null;
  fitsInterval: boolean | null;
  /** The REFRESH_INTERVAL the lanes were planned for. */
  intervalMs: number | null;
}

/** What a cycle's parent reports of its progress; the lane fields once, when it plans its lanes. */
export interface CycleProgressUpdate {
  started: number;
  currentClientId: string | null;
  currentSpacingMs: number;
  lanes?: number;
  needsMs?: number;
  intervalMs?: number;
  fits?: boolean;
}

export interface ClientResultRecord {
  cycleId: string | null;
  clientId: string;
  workflowId: string;
  trigger: RefreshTrigger;
  outcome: ClientOutcome;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  /** The Temporal run that recorded it, when a workflow did. */
  temporalRunId?: string | null;
}

interface CycleRow {
  id: string;
  workflow_id: string;
  trigger: CycleTrigger;
  status: CycleRecord['status'];
  started_at: Date;
  finished_at: Date | null;
  total: number;
  refreshed: number;
  failed: number;
  skipped_token_invalid: number;
  skipped_fresh: number;
  already_running: number;
  pending: number;
  started: number;
  current_client_id: string | null;
  current_spacing_ms: number | null;
  lanes: number | null;
  needs_ms: string | number | null;
  interval_ms: string | number | null;
  fits_interval: boolean | null;
  error: string | null;
}

interface ResultRow {
  run_id: string | null;
  client_id: string;
  workflow_id: string;
  trigger: RefreshTrigger;
  outcome: ClientOutcome;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  temporal_run_id: string | null;
}

function toCycle(row: CycleRow): CycleRecord {
  return {
    id: row.id,
    workflowId: row.workflow_id,
    trigger: row.trigger,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    totals: {
      total: row.total,
      refreshed: row.refreshed,
      failed: row.failed,
      skippedTokenInvalid: row.skipped_token_invalid,
      skippedFresh: row.skipped_fresh,
      alreadyRunning: row.already_running,
      pending: row.pending,
    },
    error: row.error,
    started: row.started,
    currentClientId: row.current_client_id,
    currentSpacingMs: row.current_spacing_ms,
    lanes: row.lanes ?? null,
    needsMs: row.needs_ms === null || row.needs_ms === undefined ? null : Number(row.needs_ms),
    fitsInterval: row.fits_interval ?? null,
    intervalMs: row.interval_ms === null || row.interval_ms === undefined ? null : Number(row.interval_ms),
  };
}

function toResult(row: ResultRow): ClientResultRecord {
  return {
    cycleId: row.run_id,
    clientId: row.client_id,
    workflowId: row.workflow_id,
    trigger: row.trigger,
    outcome: row.outcome,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    attempts: row.attempts,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    temporalRunId: row.temporal_run_id,
  };
}

/** `refresh_runs` and `refresh_client_results`: what each cycle and each client refresh did. */
export class RefreshStore {
  constructor(private readonly db: Db) {}

  /** Records a cycle's start once per workflow id, however often it is called; returns the cycle's row id. */
  async startCycle(workflowId: string, trigger: CycleTrigger, total: number): Promise<string> {
    const { rows } = await this.db.raw<{ rows: { id: string }[] }>(
      `insert into refresh_runs (workflow_id, trigger, total) values (?, ?, ?)
       on conflict (workflow_id) do update set workflow_id = excluded.workflow_id
       returning id`,
      [workflowId, trigger, total],
    );
    return rows[0].id;
  }

  /**
   * Closes a cycle with its totals counted from its results (each client recorded once, by the
   * parent or by its own refresh), so the numbers are those of the rows whatever the workflow
   * knew; a client whose refresh has not reported yet counts as pending. Only a running cycle is
   * closed: a late or repeated call changes nothing.
   */
  async finishCycle(
    cycleId: string,
    status: Exclude<CycleStatus, 'running'>,
    { error }: { error?: string } = {},
  ): Promise<RefreshTotals> {
    const { running, ...counts } = await this.countResults(cycleId);
    counts.pending += running;
    const failures = await this.failuresOfCycle(cycleId);
    // The statement that closes the cycle and its event commit together: a late or repeated call records none.
    const row = await this.db.transaction(async (trx) => {
      const [closed] = await trx<CycleRow>('refresh_runs')
        .where({ id: cycleId, status: 'running' })
        .update({
          status,
          finished_at: trx.fn.now(),
          refreshed: counts.refreshed,
          failed: counts.failed,
          skipped_token_invalid: counts.skippedTokenInvalid,
          skipped_fresh: counts.skippedFresh,
          already_running: counts.alreadyRunning,
          pending: counts.pending,
          error: error ?? null,
        })
        .returning('*');
      if (closed)
        await recordEvent(trx, {
          type: 'cycle.completed',
          facts: {
            cycleId,
            workflowId: closed.workflow_id,
            status,
            totals: toCycle(closed).totals,
            failures: failures.slice(0, 50).map((f) => ({
              clientId: f.clientId,
              clientName: f.clientName,
              code: f.errorCode,
              message: f.errorMessage,
            })),
            command: 'npm run cli -- status',
          },
        });
      return closed ?? (await trx<CycleRow>('refresh_runs').where({ id: cycleId }).first());
    });
    const totals = row ? toCycle(row).totals : { total: 0, ...counts };
    return totals;
  }

  /** A cycle's results so far, by outcome; `running`: started and not reported yet. */
  async countResults(cycleId: string): Promise<Omit<RefreshTotals, 'total'> & { running: number }> {
    const rows = await this.db('refresh_client_results')
      .where({ run_id: cycleId })
      .groupBy('outcome')
      .select('outcome')
      .count<{ outcome: ClientOutcome; count: string }[]>('* as count');
    const by = (outcome: ClientOutcome) => Number(rows.find((r) => r.outcome === outcome)?.count ?? 0);
    return {
      refreshed: by('refreshed'),
      failed: by('failed'),
      skippedTokenInvalid: by('skipped_token_invalid'),
      skippedFresh: by('skipped_fresh'),
      alreadyRunning: by('already_running'),
      pending: by('pending'),
      running: by('running'),
    };
  }

  /** What the parent knows at a page's end: children started, and the client it started last. */
  async recordCycleProgress(cycleId: string, progress: CycleProgressUpdate): Promise<void> {
    await this.db('refresh_runs')
      .where({ id: cycleId, status: 'running' })
      .update({
        started: progress.started,
        current_client_id: progress.currentClientId,
        current_spacing_ms: progress.currentSpacingMs,
        ...(progress.lanes !== undefined ? { lanes: progress.lanes } : {}),
        ...(progress.needsMs !== undefined
          ? {
              needs_ms: progress.needsMs,
              interval_ms: progress.intervalMs ?? null,
              fits_interval: progress.fits ?? null,
            }
          : {}),
      });
  }

  /** Cycles still marked running, oldest first: for reconciliation against Temporal. */
  async runningCycles(): Promise<CycleRecord[]> {
    const rows = await this.db<CycleRow>('refresh_runs').where({ status: 'running' }).orderBy('started_at');
    return rows.map(toCycle);
  }

  async getCycle(cycleId: string): Promise<CycleRecord | undefined> {
    const row = await this.db<CycleRow>('refresh_runs').where({ id: cycleId }).first();
    return row ? toCycle(row) : undefined;
  }

  /** The latest cycles, newest first. */
  async recentCycles(limit = 10): Promise<CycleRecord[]> {
    const rows = await this.db<CycleRow>('refresh_runs').orderBy('started_at', 'desc').limit(limit);
    return rows.map(toCycle);
  }

  /**
   * Records results. A client already recorded for the same cycle, or by the same Temporal run,
   * is left as it is (the recording may be retried), unless it was `running` or `pending`: then
   * a later stage replaces it (running → pending → an outcome). A client deleted meanwhile is skipped.
   */
  async recordResults(results: Omit<ClientResultRecord, 'finishedAt'>[]): Promise<void> {
    if (!results.length) return;
    const recordset = JSON.stringify(
      results.map((r) => ({
        run_id: r.cycleId,
        client_id: r.clientId,
        workflow_id: r.workflowId,
        trigger: r.trigger,
        outcome: r.outcome,
        error_code: r.errorCode,
        error_message: r.errorMessage?.slice(0, 500) ?? null,
        attempts: r.attempts,
        started_at: r.startedAt,
        finished_at: new Date(),
        duration_ms: r.durationMs,
        temporal_run_id: r.temporalRunId ?? null,
      })),
    );
    const columns = `r(run_id uuid, client_id uuid, workflow_id text, trigger text, outcome text, error_code text,
         error_message text, attempts int, started_at timestamptz, finished_at timestamptz, duration_ms int, temporal_run_id text)`;
    const stage = (outcome: string) => `(case ${outcome} when 'running' then 0 when 'pending' then 1 else 2 end)`;
    // One statement per kind of row, so a refresh that reports while its cycle records it as
    // started can never leave the row at the earlier stage.
    // A refresh records one row: only the statement of its kind is sent.
    if (results.some((r) => (r.cycleId ?? null) !== null))
      await this.db.raw(
        `insert into refresh_client_results
         (run_id, client_id, workflow_id, trigger, outcome, error_code, error_message, attempts, started_at, finished_at, duration_ms, temporal_run_id)
       select r.* from jsonb_to_recordset(?::jsonb) as ${columns}
       where r.run_id is not null and exists (select 1 from clients c where c.id = r.client_id)
       on conflict (run_id, client_id) where run_id is not null do update
          set outcome = excluded.outcome, error_code = excluded.error_code, error_message = excluded.error_message,
              attempts = excluded.attempts, finished_at = excluded.finished_at, duration_ms = excluded.duration_ms,
              temporal_run_id = coalesce(excluded.temporal_run_id, refresh_client_results.temporal_run_id)
        where ${stage('refresh_client_results.outcome')} < ${stage('excluded.outcome')}`,
        [recordset],
      );
    if (results.some((r) => (r.cycleId ?? null) === null))
      await this.db.raw(
        `insert into refresh_client_results
         (run_id, client_id, workflow_id, trigger, outcome, error_code, error_message, attempts, started_at, finished_at, duration_ms, temporal_run_id)
       select r.* from jsonb_to_recordset(?::jsonb) as ${columns}
       where r.run_id is null and exists (select 1 from clients c where c.id = r.client_id)
       on conflict do nothing`,
        [recordset],
      );
  }

  /** One client's last `limit` results, newest first. */
  async resultsOfClient(clientId: string, limit: number): Promise<ClientResultRecord[]> {
    const rows = await this.db<ResultRow>('refresh_client_results')
      .where({ client_id: clientId })
      .orderBy('started_at', 'desc')
      .limit(limit);
    return rows.map(toResult);
  }

  /**
   * A cycle's failed results with each client's name (`null` for a client gone since), oldest
   * first: one statement, whatever the size of the cycle or of the fleet.
   */
  async failuresOfCycle(cycleId: string): Promise<(ClientResultRecord & { clientName: string | null })[]> {
    const rows = await this.db('refresh_client_results as r')
      .leftJoin('clients as c', 'c.id', 'r.client_id')
      .where({ 'r.run_id': cycleId, 'r.outcome': 'failed' })
      .orderBy('r.started_at')
      .select<(ResultRow & { client_name: string | null })[]>('r.*', 'c.name as client_name');
    return rows.map((row) => ({ ...toResult(row), clientName: row.client_name }));
  }

  async resultsOfCycle(cycleId: string): Promise<ClientResultRecord[]> {
    const rows = await this.db<ResultRow>('refresh_client_results').where({ run_id: cycleId }).orderBy('started_at');
    return rows.map(toResult);
  }

  /** The latest result of each client, for status pages. */
  async latestResultPerClient(): Promise<ClientResultRecord[]> {
    const rows = await this.db<ResultRow>('refresh_client_results')
      .distinctOn('client_id')
      .orderBy([{ column: 'client_id' }, { column: 'started_at', order: 'desc' }]);
    return rows.map(toResult);
  }
}

/** Until when Meta throttles the whole app (codes 4 / 341), shared by every worker. */
export class AppThrottleStore {
  constructor(private readonly db: Db) {}

  /** The end of the current app-level throttle, or undefined when calls may go out. */
  async throttledUntil(): Promise<Date | undefined> {
    const row = await this.db('meta_app_throttle')
      .where({ id: 1 })
      .where('throttled_until', '>', this.db.fn.now())
      .first();
    return row ? (row.throttled_until as Date) : undefined;
  }

  /**
   * What a cycle paces its starts by: Meta's app usage as last reported (only when reported within
   * `freshForMs`: an old figure says nothing of now) and the end of an app-level throttle.
   */
  async pacing(freshForMs: number): Promise<{ appPercent?: number; throttledUntil?: Date }> {
    const { rows } = await this.db.raw<{ rows: { app_percent: number | null; throttled_until: Date | null }[] }>(
      `select (select app_percent from meta_app_usage where id = 1 and reported_at > now() - (? * interval '1 millisecond')) as app_percent,
              (select throttled_until from meta_app_throttle where id = 1 and throttled_until > now()) as throttled_until`,
      [freshForMs],
    );
    const row = rows[0];
    return {
      ...(row?.app_percent !== null && row?.app_percent !== undefined ? { appPercent: Number(row.app_percent) } : {}),
      ...(row?.throttled_until ? { throttledUntil: row.throttled_until } : {}),
    };
  }

  /** Extends the throttle to at least `until`. */
  async throttle(until: Date, reason: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      // Locked, so of two workers that meet the same throttle one records `app.throttled`.
      const before = await trx('meta_app_throttle').where({ id: 1 }).forUpdate().first<{ throttled_until: Date }>();
      await trx.raw(
        `insert into meta_app_throttle (id, throttled_until, reason, updated_at) values (1, ?, ?, now())
         on conflict (id) do update
            set throttled_until = greatest(meta_app_throttle.throttled_until, excluded.throttled_until),
                reason = excluded.reason, updated_at = now()`,
        [until, reason],
      );
      if (!before || before.throttled_until.getTime() <= Date.now())
        await recordEvent(trx, {
          type: 'app.throttled',
          facts: {
            until: until.toISOString(),
            metaError: reason,
            action: "None: every refresh waits until then; if it recurs, lower the fleet's call rate (REFRESH_SPACING)",
            command: 'npm run cli -- status',
          },
        });
    });
  }

  /**
   * Keeps Meta's last reported app-level usage (`X-App-Usage`, percent) for the status page, and
   * answers `throttledUntil()` in the same statement (a refresh asks both after each fetch).
   */
  async recordUsage(appPercent: number): Promise<Date | undefined> {
    const { rows } = await this.db.raw<{ rows: { throttled_until: Date }[] }>(
      `with usage as (
         insert into meta_app_usage (id, app_percent, reported_at) values (1, ?, now())
         on conflict (id) do update set app_percent = excluded.app_percent, reported_at = excluded.reported_at
       )
       select throttled_until from meta_app_throttle where id = 1 and throttled_until > now()`,
      [appPercent],
    );
    return rows[0]?.throttled_until;
  }
}
