import type { Db } from '../db';
import type { ClientOutcome, RefreshTotals, RefreshTrigger } from '../domain/refresh';

export interface CycleRecord {
  id: string;
  workflowId: string;
  trigger: 'schedule' | 'manual';
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  startedAt: Date;
  finishedAt: Date | null;
  totals: RefreshTotals;
  error: string | null;
}

export interface ClientResultRecord {
  runId: string | null;
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
  trigger: 'schedule' | 'manual';
  status: CycleRecord['status'];
  started_at: Date;
  finished_at: Date | null;
  total: number;
  refreshed: number;
  failed: number;
  skipped_token_invalid: number;
  skipped_fresh: number;
  already_running: number;
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
    },
    error: row.error,
  };
}

function toResult(row: ResultRow): ClientResultRecord {
  return {
    runId: row.run_id,
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
  };
}

/** `refresh_runs` and `refresh_client_results`: what each cycle and each client refresh did. */
export class RefreshStore {
  constructor(private readonly db: Db) {}

  /** Records a cycle's start once per workflow id, however often it is called; returns the cycle's row id. */
  async startCycle(workflowId: string, trigger: 'schedule' | 'manual', total: number): Promise<string> {
    const { rows } = await this.db.raw<{ rows: { id: string }[] }>(
      `insert into refresh_runs (workflow_id, trigger, total) values (?, ?, ?)
       on conflict (workflow_id) do update set workflow_id = excluded.workflow_id
       returning id`,
      [workflowId, trigger, total],
    );
    return rows[0].id;
  }

  async finishCycle(runId: string, totals: RefreshTotals, status: 'completed' | 'failed' | 'cancelled', error?: string): Promise<void> {
    await this.db('refresh_runs').where({ id: runId }).update({
      status,
      finished_at: this.db.fn.now(),
      total: totals.total,
      refreshed: totals.refreshed,
      failed: totals.failed,
      skipped_token_invalid: totals.skippedTokenInvalid,
      skipped_fresh: totals.skippedFresh,
      already_running: totals.alreadyRunning,
      error: error ?? null,
    });
  }

  async getCycle(runId: string): Promise<CycleRecord | undefined> {
    const row = await this.db<CycleRow>('refresh_runs').where({ id: runId }).first();
    return row ? toCycle(row) : undefined;
  }

  /** The latest cycles, newest first. */
  async recentCycles(limit = 10): Promise<CycleRecord[]> {
    const rows = await this.db<CycleRow>('refresh_runs').orderBy('started_at', 'desc').limit(limit);
    return rows.map(toCycle);
  }

  /**
   * Records results. A client already recorded for the same cycle, or by the same Temporal run,
   * is left as it is (the recording may be retried); a client deleted meanwhile is skipped.
   */
  async recordResults(results: Omit<ClientResultRecord, 'finishedAt'>[]): Promise<void> {
    if (!results.length) return;
    await this.db.raw(
      `insert into refresh_client_results
         (run_id, client_id, workflow_id, trigger, outcome, error_code, error_message, attempts, started_at, finished_at, duration_ms, temporal_run_id)
       select r.* from jsonb_to_recordset(?::jsonb) as r(
         run_id uuid, client_id uuid, workflow_id text, trigger text, outcome text, error_code text,
         error_message text, attempts int, started_at timestamptz, finished_at timestamptz, duration_ms int, temporal_run_id text)
       where exists (select 1 from clients c where c.id = r.client_id)
       on conflict do nothing`,
      [
        JSON.stringify(
          results.map((r) => ({
            run_id: r.runId,
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
        ),
      ],
    );
  }

  async resultsOfCycle(runId: string): Promise<ClientResultRecord[]> {
    const rows = await this.db<ResultRow>('refresh_client_results').where({ run_id: runId }).orderBy('started_at');
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
    const row = await this.db('meta_app_throttle').where({ id: 1 }).where('throttled_until', '>', this.db.fn.now()).first();
    return row ? (row.throttled_until as Date) : undefined;
  }

  /** Extends the throttle to at least `until`. */
  async throttle(until: Date, reason: string): Promise<void> {
    await this.db.raw(
      `insert into meta_app_throttle (id, throttled_until, reason, updated_at) values (1, ?, ?, now())
       on conflict (id) do update
          set throttled_until = greatest(meta_app_throttle.throttled_until, excluded.throttled_until),
              reason = excluded.reason, updated_at = now()`,
      [until, reason],
    );
  }
}
