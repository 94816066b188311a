import { ApplicationFailure, Context } from '@temporalio/activity';
import { lastDays } from '../src/dates';
import type { Db } from '../src/db';
import type { Logger } from '../src/logger';
import { MetaError, MetaPermissionError, MetaThrottledError, MetaTokenInvalidError } from '../src/meta/errors';
import type { FetchInsightsResult, MetaClient, MetricValue } from '../src/meta/types';
import { CacheData, CacheStore } from '../src/stores/cache';
import { ClientStore } from '../src/stores/clients';
import { RefreshStore } from '../src/stores/refresh';
import type { RefreshTotals, RefreshTrigger } from '../workflows/definitions';

export interface ActivityDeps {
  db: Db;
  logger: Logger;
  meta: MetaClient;
  /** TOKEN_ENCRYPTION_KEY: activities are the only place tokens are decrypted. */
  tokenKey?: Buffer;
}

/** Meta codes that throttle the whole app rather than one Page or account. */
const APP_THROTTLE_CODES = new Set([4, 341]);
/** How long to pause the cycle after an app-level throttle when Meta gives no estimate. */
const DEFAULT_APP_THROTTLE_MS = 60_000;

/** What a failed Meta attempt leaves in the ApplicationFailure's details (no token, no data). */
export interface MetaFailureDetails {
  code: string;
  attempt: number;
  appThrottledForMs?: number;
}

export interface RefreshInsightsResult {
  outcome: 'refreshed' | 'skipped_token_invalid';
  attempt: number;
  daysWritten: number;
  calls: number;
  appPercent?: number;
}

export interface ClientResultInput {
  cycleId: string | null;
  clientId: string;
  workflowId: string;
  trigger: RefreshTrigger;
  outcome: 'refreshed' | 'failed' | 'skipped_token_invalid' | 'already_running';
  errorCode?: string | null;
  errorMessage?: string | null;
  attempts: number;
  startedAt: string;
  durationMs?: number | null;
}

function cacheDataFor(
  day: { facebookNewFollowers: MetricValue; instagramReach: MetricValue; instagramProfileViews: MetricValue },
  instagramFollowers: MetricValue,
): CacheData {
  const values = { facebookNewFollowers: day.facebookNewFollowers, instagramFollowers, instagramReach: day.instagramReach, instagramProfileViews: day.instagramProfileViews };
  const data = {} as CacheData;
  const unavailable: NonNullable<CacheData['unavailable']> = {};
  for (const [name, metric] of Object.entries(values) as [keyof typeof values, MetricValue][]) {
    data[name] = metric.value;
    if (metric.value === null) unavailable[name] = metric.reason;
  }
  if (Object.keys(unavailable).length) data.unavailable = unavailable;
  return data;
}

/** Builds the activities with their dependencies; the worker registers the returned object. */
export function createActivities({ db, logger, meta, tokenKey }: ActivityDeps) {
  const clients = new ClientStore(db, tokenKey);
  const cache = new CacheStore(db);
  const refresh = new RefreshStore(db);

  /** Writes each day under the last-known-good rule; a past day keeps the followers snapshot taken that day. */
  async function writeInsights(clientId: string, today: string, result: FetchInsightsResult): Promise<number> {
    const fetchedAt = new Date(result.fetchedAt);
    let written = 0;
    for (const day of result.days) {
      let followers = result.instagramFollowers;
      if (day.day !== today) {
        const existing = await cache.get(clientId, day.day);
        const snapshot = existing?.data?.instagramFollowers;
        followers = typeof snapshot === 'number' ? { value: snapshot } : followers.value === null ? followers : { value: null, reason: 'no_snapshot' };
      }
      if (await cache.writeDay(clientId, day.day, cacheDataFor(day, followers), fetchedAt)) written += 1;
    }
    return written;
  }

  return {
    /** The database clock, as an ISO string. */
    async databaseTime(): Promise<string> {
      const { rows } = await db.raw<{ rows: { now: Date }[] }>('select now() as now');
      return rows[0].now.toISOString();
    },

    /** Records the start of a cycle (once per workflow id) and counts the clients it will visit. */
    async startCycle(input: { workflowId: string; trigger: 'schedule' | 'manual' }): Promise<{ cycleId: string; total: number }> {
      const total = await clients.countWithToken();
      const cycleId = await refresh.startCycle(input.workflowId, input.trigger, total);
      return { cycleId, total };
    },

    async finishCycle(input: { cycleId: string; totals: RefreshTotals; status: 'completed' | 'failed' | 'cancelled'; error?: string }): Promise<void> {
      await refresh.finishCycle(input.cycleId, input.totals, input.status, input.error);
    },

    /** One page of clients with a Meta token, by id after `afterId`: ids and token status only. */
    async listClientsPage(input: { afterId: string | null; limit: number }): Promise<{ id: string; tokenStatus: string }[]> {
      return clients.pageWithToken(input.afterId, input.limit);
    },

    async recordClientResults(results: ClientResultInput[]): Promise<void> {
      await refresh.recordResults(
        results.map((r) => ({
          runId: r.cycleId,
          clientId: r.clientId,
          workflowId: r.workflowId,
          trigger: r.trigger,
          outcome: r.outcome,
          errorCode: r.errorCode ?? null,
          errorMessage: r.errorMessage ?? null,
          attempts: r.attempts,
          startedAt: new Date(r.startedAt),
          durationMs: r.durationMs ?? null,
        })),
      );
    },

    /**
     * Fetches today and the days before from Meta and writes them under the last-known-good
     * rule. Meta's errors become ApplicationFailures named after the error class: throttling
     * carries Meta's estimate as `nextRetryDelay`; token and permission errors mark the client
     * and are not retried. The token is read here and goes nowhere else.
     */
    async refreshClientInsights(input: { clientId: string; lookbackDays: number }): Promise<RefreshInsightsResult> {
      const { attempt } = Context.current().info;
      const credentials = await clients.credentials(input.clientId);
      if (!credentials || credentials.tokenStatus === 'invalid') {
        return { outcome: 'skipped_token_invalid', attempt, daysWritten: 0, calls: 0 };
      }
      const days = lastDays(credentials.timezone, input.lookbackDays);
      let result: FetchInsightsResult;
      try {
        result = await meta.fetchInsights({
          accessToken: credentials.accessToken,
          facebookPageId: credentials.facebookPageId,
          instagramAccountId: credentials.instagramAccountId,
          days,
          timezone: credentials.timezone,
          // Worker shutdown (and cancellation, for heartbeating activities) aborts the calls in flight.
          signal: Context.current().cancellationSignal,
        });
      } catch (err) {
        if (!(err instanceof MetaError)) throw err;
        await cache.recordFailure(input.clientId, days, { code: err.errorCode, message: err.message });
        const tokenProblem = err instanceof MetaTokenInvalidError || err instanceof MetaPermissionError;
        if (tokenProblem) await clients.markToken(input.clientId, 'invalid', `${err.errorCode}: ${err.message}`);
        const throttled = err instanceof MetaThrottledError ? err : undefined;
        const appThrottledForMs =
          throttled && throttled.code !== undefined && APP_THROTTLE_CODES.has(throttled.code)
            ? (throttled.retryAfterMs ?? DEFAULT_APP_THROTTLE_MS)
            : undefined;
        logger.warn({ clientId: input.clientId, attempt, errorType: err.name, code: err.errorCode }, 'Meta refused a refresh');
        const details: MetaFailureDetails = { code: err.errorCode, attempt, appThrottledForMs };
        throw ApplicationFailure.create({
          type: err.name,
          message: err.message,
          nonRetryable: tokenProblem || err.name === 'MetaBadRequestError',
          nextRetryDelay: throttled?.retryAfterMs,
          details: [details],
        });
      }
      const daysWritten = await writeInsights(input.clientId, days[days.length - 1], result);
      if (credentials.tokenStatus !== 'valid') await clients.markToken(input.clientId, 'valid');
      return { outcome: 'refreshed', attempt, daysWritten, calls: result.calls, appPercent: result.usage.appPercent };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
