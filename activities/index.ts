import { ApplicationFailure, Context } from '@temporalio/activity';
import { lastDays } from '../src/dates';
import { TokenDecryptError, TokenKeyring } from '../src/crypto';
import type { Db } from '../src/db';
import type { Logger } from '../src/logger';
import { MetaError, MetaPermissionError, MetaThrottledError, MetaTokenInvalidError } from '../src/meta/errors';
import type { FetchInsightsResult, MetaClient, MetricValue } from '../src/meta/types';
import { CacheData, CacheStore } from '../src/stores/cache';
import { ClientStore } from '../src/stores/clients';
import { AppThrottleStore, RefreshStore } from '../src/stores/refresh';
import type { RefreshTotals, RefreshTrigger } from '../workflows/definitions';

export interface ActivityDeps {
  db: Db;
  logger: Logger;
  meta: MetaClient;
  /** TOKEN_ENCRYPTION_KEY (and _PREVIOUS): activities are the only place tokens are decrypted. */
  tokenKeys?: TokenKeyring;
  /**
   * First wait after a throttle that came without Meta's estimate; it doubles per attempt up to
   * 30 minutes. Meta asks callers to stop calling while throttled, so it is minutes, not seconds.
   */
  throttleBackoffMs?: number;
  /** How often a running refresh tells Temporal it is alive. */
  heartbeatIntervalMs?: number;
}

/** Meta codes that throttle the whole app rather than one Page or account. */
const APP_THROTTLE_CODES = new Set([4, 341]);
const MAX_THROTTLE_BACKOFF_MS = 30 * 60_000;

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
  /** Set while Meta throttles the whole app: ms until calls may go out again. */
  appThrottledForMs?: number;
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
  temporalRunId?: string | null;
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

/**
 * A newer fetch that lacks a number the row already has (Meta answered no data, or refused the
 * metric this time) keeps the number: a good value is never replaced by null.
 */
function keepKnownNumbers(next: CacheData, previous: CacheData | null | undefined): CacheData {
  if (!previous) return next;
  const merged: CacheData = { ...next, unavailable: { ...next.unavailable } };
  for (const name of ['facebookNewFollowers', 'instagramFollowers', 'instagramReach', 'instagramProfileViews'] as const) {
    if (merged[name] === null && typeof previous[name] === 'number') {
      merged[name] = previous[name];
      delete merged.unavailable![name];
    }
  }
  if (!Object.keys(merged.unavailable!).length) delete merged.unavailable;
  return merged;
}

/** Builds the activities with their dependencies; the worker registers the returned object. */
export function createActivities({ db, logger, meta, tokenKeys, throttleBackoffMs = 2 * 60_000, heartbeatIntervalMs = 5_000 }: ActivityDeps) {
  const clients = new ClientStore(db, tokenKeys);
  const cache = new CacheStore(db);
  const refresh = new RefreshStore(db);
  const appThrottle = new AppThrottleStore(db);

  /** Writes each day under the last-known-good rule; a past day keeps the followers snapshot taken that day. */
  async function writeInsights(clientId: string, today: string, result: FetchInsightsResult): Promise<number> {
    const fetchedAt = new Date(result.fetchedAt);
    let written = 0;
    for (const day of result.days) {
      const existing = await cache.get(clientId, day.day);
      let followers = result.instagramFollowers;
      if (day.day !== today) {
        const snapshot = existing?.data?.instagramFollowers;
        followers = typeof snapshot === 'number' ? { value: snapshot } : followers.value === null ? followers : { value: null, reason: 'no_snapshot' };
      }
      const data = keepKnownNumbers(cacheDataFor(day, followers), existing?.data);
      if (await cache.writeDay(clientId, day.day, data, fetchedAt)) written += 1;
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
          temporalRunId: r.temporalRunId ?? null,
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
      const context = Context.current();
      const { attempt } = context.info;
      const credentials = await clients.credentials(input.clientId).catch((err: unknown) => {
        if (!(err instanceof TokenDecryptError)) throw err;
        // Retrying cannot help. The token is not marked invalid: a key left out of the config is
        // fixed by a restart, after which the client must be refreshed again without an admin's help.
        logger.warn({ clientId: input.clientId, attempt, reason: err.message }, 'refresh failed: the stored token cannot be decrypted');
        const details: MetaFailureDetails = { code: 'token_undecryptable', attempt };
        throw ApplicationFailure.create({
          type: 'TokenUndecryptable',
          message: `${err.message}; set the token again, or check TOKEN_ENCRYPTION_KEY and TOKEN_ENCRYPTION_KEY_PREVIOUS`,
          nonRetryable: true,
          details: [details],
        });
      });
      if (!credentials && !(await clients.get(input.clientId))) {
        const details: MetaFailureDetails = { code: 'client_removed', attempt };
        throw ApplicationFailure.create({ type: 'ClientRemoved', message: 'the client was deleted', nonRetryable: true, details: [details] });
      }
      if (!credentials || credentials.tokenStatus === 'invalid') {
        return { outcome: 'skipped_token_invalid', attempt, daysWritten: 0, calls: 0 };
      }
      const days = lastDays(credentials.timezone, input.lookbackDays);

      // While Meta throttles the whole app, no call goes out: this attempt waits the throttle out.
      const blockedUntil = await appThrottle.throttledUntil();
      if (blockedUntil) {
        const waitMs = Math.max(1_000, blockedUntil.getTime() - Date.now());
        const details: MetaFailureDetails = { code: 'app_throttled', attempt, appThrottledForMs: waitMs };
        throw ApplicationFailure.create({
          type: 'MetaThrottledError',
          message: `Meta throttles the app; calls resume in ${Math.ceil(waitMs / 1000)} s`,
          nextRetryDelay: waitMs,
          details: [details],
        });
      }

      let result: FetchInsightsResult;
      const heartbeat = setInterval(() => context.heartbeat(), heartbeatIntervalMs);
      try {
        result = await meta.fetchInsights({
          accessToken: credentials.accessToken,
          facebookPageId: credentials.facebookPageId,
          instagramAccountId: credentials.instagramAccountId,
          days,
          timezone: credentials.timezone,
          // Worker shutdown and cancellation abort the calls in flight.
          signal: context.cancellationSignal,
        });
      } catch (err) {
        if (!(err instanceof MetaError)) throw err;
        await cache.recordFailure(input.clientId, days, { code: err.errorCode, message: err.message });
        const tokenProblem = err instanceof MetaTokenInvalidError || err instanceof MetaPermissionError;
        if (tokenProblem) await clients.markToken(input.clientId, 'invalid', `${err.errorCode}: ${err.message}`, credentials.tokenVersion);
        const throttled = err instanceof MetaThrottledError ? err : undefined;
        let appThrottledForMs: number | undefined;
        if (throttled?.code !== undefined && APP_THROTTLE_CODES.has(throttled.code)) {
          appThrottledForMs = throttled.retryAfterMs ?? throttleBackoffMs;
          await appThrottle.throttle(new Date(Date.now() + appThrottledForMs), `${throttled.code}: ${throttled.message}`);
        }
        const nextRetryDelay = throttled
          ? (throttled.retryAfterMs ?? Math.min(MAX_THROTTLE_BACKOFF_MS, throttleBackoffMs * 2 ** (attempt - 1)))
          : undefined;
        logger.warn({ clientId: input.clientId, attempt, errorType: err.name, code: err.errorCode, nextRetryDelay }, 'Meta refused a refresh');
        const details: MetaFailureDetails = { code: err.errorCode, attempt, appThrottledForMs };
        throw ApplicationFailure.create({
          type: err.name,
          message: err.message,
          nonRetryable: tokenProblem || err.name === 'MetaBadRequestError',
          nextRetryDelay,
          details: [details],
        });
      } finally {
        clearInterval(heartbeat);
      }
      const daysWritten = await writeInsights(input.clientId, days[days.length - 1], result);
      if (credentials.tokenStatus !== 'valid') await clients.markToken(input.clientId, 'valid', null, credentials.tokenVersion);
      const stillBlocked = await appThrottle.throttledUntil();
      return {
        outcome: 'refreshed',
        attempt,
        daysWritten,
        calls: result.calls,
        appPercent: result.usage.appPercent,
        appThrottledForMs: stillBlocked ? stillBlocked.getTime() - Date.now() : undefined,
      };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
