import { ApplicationFailure, Context } from '@temporalio/activity';
import { msToNumber } from '@temporalio/common/lib/time';
import { dayIn, lastDays } from '../src/dates';
import { isFinal } from '../src/domain/settled';
import { beyondMetaHistory } from '../src/meta/client';
import { TokenDecryptError, TokenKeyring } from '../src/crypto';
import type { Db } from '../src/db';
import type { Logger } from '../src/logger';
import { MetaError, MetaPermissionError, MetaSandboxUnknownTokenError, MetaThrottledError, MetaTokenInvalidError, MetaTransientError } from '../src/meta/errors';
import type { FetchPlatformsResult, MetaClient, MetricName, MetricValue, Platform, UnavailableReason } from '../src/meta/types';
import { CacheData, CacheEntry, CacheStore } from '../src/stores/cache';
import { ClientStore, InstagramStatus } from '../src/stores/clients';
import { AppThrottleStore, RefreshStore } from '../src/stores/refresh';
import type { ClientOutcome, RefreshTotals, RefreshTrigger } from '../workflows/definitions';

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
  /** BACKFILL_DAYS: the days asked again when a client's Instagram comes back (permission granted, account relinked). */
  backfillDays?: number;
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

/** The input of `refreshClientInsights`; no token, ever. */
export interface RefreshInsightsInput {
  clientId: string;
  lookbackDays: number;
  /**
   * Set by workflows that retry one platform themselves: when one platform was written and
   * another failed in a way worth retrying, the activity returns `retry` instead of throwing.
   * Unset (workflows started before the change), any failure throws, as it used to.
   */
  perPlatform?: boolean;
  /** The platforms to fetch; absent: both. */
  platforms?: Platform[];
  /** 1 for the first fetch, 2 for the retry of a platform (doubles the backoff without an estimate). */
  round?: number;
  /** The cycle the refresh belongs to: a wait on Meta past PENDING_AFTER_MS is recorded there as `pending`. */
  cycleId?: string;
  trigger?: RefreshTrigger;
  /** Days to fetch besides the lookback (a backfill, days a read found missing), `YYYY-MM-DD` in the client's timezone. */
  days?: string[];
  /** Attempts the workflow already made (waits it slept out), added to this attempt's number. */
  attemptOffset?: number;
  /**
   * For a workflow's first local step: when its run started. A step run again because its
   * workflow task was lost finds its own writes after that time and does not call Meta twice.
   */
  runStartedAt?: string;
  /**
   * Revision 2's local step: what the refresh's record needs. A step whose outcome is final (done,
   * nothing to retry, no days deferred or to follow) records it, as the workflow would, and says so.
   */
  record?: StepRecordInput;
}

/** The workflow's part of a refresh's record, handed to the step that may write it. */
export interface StepRecordInput {
  cycleId: string | null;
  trigger: RefreshTrigger;
  workflowId: string;
  temporalRunId: string;
  /** The workflow's start, ISO: `durationMs` is counted from it. */
  startedAt: string;
  /**
   * A step that ended later than this after it was scheduled records nothing: its workflow task may
   * have been heartbeated meanwhile, which brings signals (and their days) mid-step.
   */
  withinMs: number;
  /** Attempts the refresh spent before this fetch (a platform's retry): added to the step's. */
  attemptsBefore?: number;
}

/**
 * What `refreshStep` tells the workflow: the refresh's result; a wait Meta asked for (the
 * workflow sleeps it on a durable timer and asks again); or a failure retrying cannot mend.
 */
export type RefreshStep =
  | { kind: 'done'; result: RefreshInsightsResult; recorded?: true }
  | { kind: 'wait'; afterMs: number; errorCode: string; message: string; attempt: number; appThrottledForMs?: number }
  | { kind: 'failed'; errorCode: string; errorType: string; message: string; attempt: number; appThrottledForMs?: number };

/** A refresh that Meta makes wait at least this long is `pending` in its cycle, which then need not wait for it. */
export const PENDING_AFTER_MS = 60_000;

export interface RefreshInsightsResult {
  /** `failed`: a platform failed for good while the other was written (see `errorCode`). */
  outcome: 'refreshed' | 'skipped_token_invalid' | 'failed';
  attempt: number;
  daysWritten: number;
  calls: number;
  appPercent?: number;
  /** Set while Meta throttles the whole app: ms until calls may go out again. */
  appThrottledForMs?: number;
  /** Platforms written by this call. */
  written?: Platform[];
  /** Platforms to fetch again after `afterMs` (a throttle or a transient error on them alone). */
  retry?: { platforms: Platform[]; afterMs: number; errorCode: string; message: string };
  /** With outcome `failed`: the error of the platform that failed for good. */
  errorCode?: string;
  message?: string;
  /** Instagram days left for later because the account's budget neared its end, and when to ask them. */
  deferred?: { days: string[]; afterMs: number };
  /** Days to fetch next (BACKFILL_DAYS after the client's Instagram came back). */
  followUpDays?: string[];
}

export interface ClientResultInput {
  cycleId: string | null;
  clientId: string;
  workflowId: string;
  trigger: RefreshTrigger;
  outcome: ClientOutcome;
  errorCode?: string | null;
  errorMessage?: string | null;
  attempts: number;
  startedAt: string;
  durationMs?: number | null;
  temporalRunId?: string | null;
}

/** Instagram states that a later `ok` turns into a backfill of the days it left empty. */
const INSTAGRAM_REFUSED = new Set<InstagramStatus>(['permission_missing', 'not_linked', 'error']);

const FACEBOOK_METRICS: readonly MetricName[] = ['facebookNewFollowers'];
const INSTAGRAM_METRICS: readonly MetricName[] = ['instagramFollowers', 'instagramReach', 'instagramProfileViews'];

/**
 * The day's row after a fetch: the fetched platforms' numbers over the row's, keeping the
 * last-known-good rule per metric (a fetch that lacks a number the row has keeps the number);
 * a platform not fetched keeps the row's numbers and reasons as they are, and on a new row
 * shows `pending` (null, with the reason of its failure) until it is fetched. A number kept from
 * an earlier fetch keeps that fetch's time in `keptFrom`, so it is never shown as newer than it is.
 */
function mergeDay(
  previous: { data: CacheData | null; fetchedAt: Date | null } | undefined,
  fetched: Partial<Record<MetricName, MetricValue>>,
  pending: UnavailableReason,
): CacheData {
  const data = {} as CacheData;
  const unavailable: NonNullable<CacheData['unavailable']> = {};
  const keptFrom: NonNullable<CacheData['keptFrom']> = {};
  const before = previous?.data;
  for (const name of [...FACEBOOK_METRICS, ...INSTAGRAM_METRICS]) {
    const metric = fetched[name];
    const known = before?.[name];
    if (metric && metric.value !== null) {
      data[name] = metric.value;
    } else if (typeof known === 'number') {
      data[name] = known;
      const since = before?.keptFrom?.[name] ?? previous?.fetchedAt?.toISOString();
      if (since) keptFrom[name] = since;
    } else if (metric) {
      data[name] = null;
      unavailable[name] = metric.reason;
    } else {
      data[name] = null;
      unavailable[name] = (before && known === null && before.unavailable?.[name]) || pending;
    }
  }
  if (Object.keys(unavailable).length) data.unavailable = unavailable;
  if (Object.keys(keptFrom).length) data.keptFrom = keptFrom;
  return data;
}

/** The metrics a fetch gave for one day, by platform fetched. */
function fetchedMetrics(result: FetchPlatformsResult, day: string, followers: MetricValue | undefined): Partial<Record<MetricName, MetricValue>> {
  const metrics: Partial<Record<MetricName, MetricValue>> = {};
  if (result.facebook.status === 'fetched') metrics.facebookNewFollowers = result.facebook.data.days[day] ?? { value: null, reason: 'no_data' };
  // A deferred Instagram day (budget nearly spent) is left as it is, like a platform not fetched.
  const ig = result.instagram.status === 'fetched' ? result.instagram.data.days[day] : undefined;
  if (ig) {
    if (followers) metrics.instagramFollowers = followers;
    metrics.instagramReach = ig.instagramReach;
    metrics.instagramProfileViews = ig.instagramProfileViews;
  }
  return metrics;
}

/** Retryable on their own: a throttle of one Page or account, a transient failure. */
function retryablePlatformError(error: Error): error is MetaThrottledError | MetaTransientError {
  return error instanceof MetaThrottledError || error instanceof MetaTransientError;
}

/** Builds the activities with their dependencies; the worker registers the returned object. */
export function createActivities({ db, logger, meta, tokenKeys, throttleBackoffMs = 2 * 60_000, heartbeatIntervalMs = 5_000, backfillDays = 30 }: ActivityDeps) {
  const clients = new ClientStore(db, tokenKeys);
  const cache = new CacheStore(db);
  const refresh = new RefreshStore(db);
  const appThrottle = new AppThrottleStore(db);
  /** The wait after the n-th throttle that came without Meta's estimate. */
  const throttleBackoff = (n: number) => Math.min(MAX_THROTTLE_BACKOFF_MS, throttleBackoffMs * 2 ** (n - 1));

  /**
   * Writes each day's fetched platforms under the last-known-good rule; a past day keeps the
   * followers snapshot taken that day. A platform that was not fetched keeps its numbers.
   */
  async function writeInsights(
    clientId: string,
    today: string,
    result: FetchPlatformsResult,
    pending: UnavailableReason,
    rows: ReadonlyMap<string, CacheEntry>,
  ): Promise<number> {
    // Merged onto each row as it is at write time (locked): a client has one refresh in flight
    // (its workflow id), so a row written since `rows` was read was written by an admin's POST
    // while Meta answered. Its numbers are newer than the fetch's start and stay; the fetch fills
    // in only what that row lacks, and a failure never replaces a number (last-known-good).
    return cache.mergeDays(clientId, result.days, new Date(result.fetchedAt), (day, current) => {
      const before = rows.get(day);
      const writtenMeanwhile = !!current?.fetchedAt && (!before?.fetchedAt || current.fetchedAt.getTime() > before.fetchedAt.getTime());
      let followers: MetricValue | undefined;
      if (result.instagram.status === 'fetched') {
        followers = result.instagram.data.followers;
        if (day !== today) {
          const snapshot = current?.data?.instagramFollowers;
          followers = typeof snapshot === 'number' ? { value: snapshot } : followers.value === null ? followers : { value: null, reason: 'no_snapshot' };
        }
      }
      const fetched = fetchedMetrics(result, day, followers);
      if (writtenMeanwhile) {
        for (const name of Object.keys(fetched) as MetricName[]) if (typeof current?.data?.[name] === 'number') delete fetched[name];
      }
      return mergeDay(current, fetched, pending);
    });
  }

  /**
   * The lookback days and the requested ones, up to today, without the days Meta no longer keeps
   * and the days whose numbers are already final (fetched after Meta's 48 h): fetching them
   * again would spend Instagram's budget for the same numbers.
   */
  async function daysToFetch(
    clientId: string,
    timezone: string,
    today: string,
    input: RefreshInsightsInput,
  ): Promise<{ days: string[]; rows: ReadonlyMap<string, CacheEntry> }> {
    const wanted = [...new Set([...lastDays(timezone, input.lookbackDays), ...(input.days ?? [])])]
      .filter((day) => day <= today && !beyondMetaHistory('facebook', day, today))
      .sort();
    if (wanted.length === 0) return { days: [], rows: new Map() };
    const rows = new Map((await cache.range(clientId, wanted[0], wanted[wanted.length - 1])).map((row) => [row.periodId, row]));
    return { days: wanted.filter((day) => !isFinal(day, timezone, rows.get(day))), rows };
  }

  /** Instagram's state for the operator, from what this fetch learnt; undefined: unchanged. */
  function instagramStatusOf(result: FetchPlatformsResult): InstagramStatus | undefined {
    const ig = result.instagram;
    if (ig.status === 'fetched') return ig.data.state;
    if (ig.status === 'failed') return ig.error instanceof MetaThrottledError ? 'throttled' : ig.error instanceof MetaTransientError ? undefined : 'error';
    return undefined;
  }

  /**
   * Tells the refresh's cycle that it waits on Meta for `waitMs`: the client is `pending` there
   * until the refresh records its outcome, so the cycle ends without waiting for it.
   */
  async function recordPendingIfLong(input: RefreshInsightsInput, waitMs: number, code: string): Promise<void> {
    const { workflowExecution, attempt } = Context.current().info;
    if (!input.cycleId || !workflowExecution || waitMs < PENDING_AFTER_MS) return;
    await refresh.recordResults([
      {
        runId: input.cycleId,
        clientId: input.clientId,
        workflowId: workflowExecution.workflowId,
        trigger: input.trigger ?? 'schedule',
        outcome: 'pending',
        errorCode: code,
        errorMessage: `Meta asked to wait ${Math.ceil(waitMs / 60_000)} min; the result lands when the refresh ends`,
        attempts: attempt,
        startedAt: new Date(),
        durationMs: null,
        temporalRunId: workflowExecution.runId,
      },
    ]);
  }

  const activities = {
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

    /** Closes a cycle with totals counted from its results; refreshes not reported yet count as pending. */
    async finishCycle(input: { cycleId: string; status: 'completed' | 'failed' | 'cancelled'; error?: string; totals?: RefreshTotals }): Promise<RefreshTotals> {
      return refresh.finishCycle(input.cycleId, input.status, { error: input.error });
    },

    /**
     * The parent's page, for the status read from Postgres: each client it started is `running`
     * until its refresh reports (which may have happened already: then its row stays), and what
     * the parent knows of its progress.
     */
    async recordCycleProgress(input: {
      cycleId: string;
      trigger: 'schedule' | 'manual';
      started: number;
      startedClients: { clientId: string; workflowId: string; startedAt: string }[];
      currentClientId: string | null;
      currentSpacingMs: number;
    }): Promise<void> {
      await refresh.recordResults(
        input.startedClients.map((c) => ({
          runId: input.cycleId,
          clientId: c.clientId,
          workflowId: c.workflowId,
          trigger: input.trigger,
          outcome: 'running' as const,
          errorCode: null,
          errorMessage: null,
          attempts: 0,
          startedAt: new Date(c.startedAt),
          durationMs: null,
        })),
      );
      await refresh.recordCycleProgress(input.cycleId, input);
    },

    /** How many of a cycle's started refreshes have not reported yet. */
    async countCycleResults(input: { cycleId: string }): Promise<{ running: number }> {
      const { running } = await refresh.countResults(input.cycleId);
      return { running };
    },

    /** One page of clients with a Meta token, by id after `afterId`: ids, token status and last fetch (ISO). */
    async listClientsPage(input: { afterId: string | null; limit: number }): Promise<{ id: string; tokenStatus: string; lastFetchedAt?: string }[]> {
      return (await clients.pageWithToken(input.afterId, input.limit)).map(({ id, tokenStatus, lastFetchedAt }) =>
        lastFetchedAt ? { id, tokenStatus, lastFetchedAt: lastFetchedAt.toISOString() } : { id, tokenStatus },
      );
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
    async refreshClientInsights(input: RefreshInsightsInput): Promise<RefreshInsightsResult> {
      const context = Context.current();
      const attempt = context.info.attempt + (input.attemptOffset ?? 0);
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
      const today = dayIn(credentials.timezone);
      const { days, rows } = await daysToFetch(input.clientId, credentials.timezone, today, input);
      if (days.length === 0) return { outcome: 'refreshed', attempt, daysWritten: 0, calls: 0, written: [] };
      const round = input.round ?? 1;

      // While Meta throttles the whole app, no call goes out: this attempt waits the throttle out.
      const blockedUntil = await appThrottle.throttledUntil();
      if (blockedUntil) {
        const waitMs = Math.max(1_000, blockedUntil.getTime() - Date.now());
        await recordPendingIfLong(input, waitMs, 'app_throttled');
        const details: MetaFailureDetails = { code: 'app_throttled', attempt, appThrottledForMs: waitMs };
        throw ApplicationFailure.create({
          type: 'MetaThrottledError',
          message: `Meta throttles the app; calls resume in ${Math.ceil(waitMs / 1000)} s`,
          nextRetryDelay: waitMs,
          details: [details],
        });
      }

      /** The ApplicationFailure of a Meta error, after recording it on the days' rows (and the token, for 190 or a Page permission). */
      const fail = async (err: MetaError, attemptsSoFar: number): Promise<never> => {
        await cache.recordFailure(input.clientId, days, { code: err.errorCode, message: err.message });
        const tokenProblem = err instanceof MetaTokenInvalidError || err instanceof MetaPermissionError;
        if (tokenProblem) await clients.markToken(input.clientId, 'invalid', `${err.errorCode}: ${err.message}`, credentials.tokenVersion);
        const throttled = err instanceof MetaThrottledError ? err : undefined;
        let appThrottledForMs: number | undefined;
        if (throttled?.code !== undefined && APP_THROTTLE_CODES.has(throttled.code)) {
          appThrottledForMs = throttled.retryAfterMs ?? throttleBackoffMs;
          await appThrottle.throttle(new Date(Date.now() + appThrottledForMs), `${throttled.code}: ${throttled.message}`);
        }
        const nextRetryDelay = throttled ? (throttled.retryAfterMs ?? throttleBackoff(attemptsSoFar)) : undefined;
        if (nextRetryDelay !== undefined) await recordPendingIfLong(input, nextRetryDelay, err.errorCode);
        logger.warn({ clientId: input.clientId, attempt, errorType: err.name, code: err.errorCode, nextRetryDelay }, 'Meta refused a refresh');
        const details: MetaFailureDetails = { code: err.errorCode, attempt, appThrottledForMs };
        throw ApplicationFailure.create({
          type: err.name,
          message: err.message,
          // The sandbox's unknown token is not retried, and says nothing about the token.
          nonRetryable: tokenProblem || err.name === 'MetaBadRequestError' || err instanceof MetaSandboxUnknownTokenError,
          nextRetryDelay,
          details: [details],
        });
      };

      let result: FetchPlatformsResult;
      // A local step runs inside a workflow task, which Temporal watches itself: only regular activities heartbeat.
      const heartbeat = context.info.isLocal ? undefined : setInterval(() => context.heartbeat(), heartbeatIntervalMs);
      try {
        result = await meta.fetchPlatforms({
          accessToken: credentials.accessToken,
          facebookPageId: credentials.facebookPageId,
          instagramAccountId: credentials.instagramAccountId,
          days,
          timezone: credentials.timezone,
          platforms: input.platforms,
          // Followers are a snapshot of now: only a fetch that covers today asks for them.
          instagramFollowers: days.includes(today),
          // Worker shutdown and cancellation abort the calls in flight.
          signal: context.cancellationSignal,
        });
      } catch (err) {
        if (!(err instanceof MetaError)) throw err;
        return fail(err, attempt);
      } finally {
        clearInterval(heartbeat);
      }

      const failures = (['facebook', 'instagram'] as const).flatMap((platform) => {
        const outcome = result[platform];
        return outcome.status === 'failed' ? [{ platform, error: outcome.error as MetaError }] : [];
      });
      const written = (['facebook', 'instagram'] as const).filter((platform) => result[platform].status === 'fetched');
      const igStatus = instagramStatusOf(result);
      // Instagram answering again after a refusal (permission granted, account relinked in Meta): its missing days are backfilled.
      // The status read with the token: only this client's refresh (one in flight) writes it.
      const instagramCameBack = igStatus === 'ok' && INSTAGRAM_REFUSED.has(credentials.instagramStatus);
      if (igStatus && igStatus !== credentials.instagramStatus) await clients.markInstagram(input.clientId, igStatus, credentials.tokenVersion);

      // Nothing fetched: the activity fails as a whole and Temporal retries it (Meta's estimate for a throttle).
      if (written.length === 0 && failures.length > 0) {
        const throttles = failures.map((f) => f.error).filter((e): e is MetaThrottledError => e instanceof MetaThrottledError);
        const worst = throttles.sort((a, b) => (b.retryAfterMs ?? 0) - (a.retryAfterMs ?? 0))[0] ?? failures[0].error;
        return fail(worst, attempt + round - 1);
      }

      const deferred = result.instagram.status === 'fetched' ? result.instagram.data.deferred : undefined;
      const pending: UnavailableReason = deferred?.days.length || failures.some((f) => f.error instanceof MetaThrottledError) ? 'throttled' : 'fetch_failed';
      const daysWritten = written.length ? await writeInsights(input.clientId, today, result, pending, rows) : 0;
      if (written.length && credentials.tokenStatus !== 'valid') await clients.markToken(input.clientId, 'valid', null, credentials.tokenVersion);
      const stillBlocked = result.usage.appPercent !== undefined ? await appThrottle.recordUsage(result.usage.appPercent) : await appThrottle.throttledUntil();
      const base: RefreshInsightsResult = {
        outcome: 'refreshed',
        attempt,
        daysWritten,
        calls: result.calls,
        appPercent: result.usage.appPercent,
        appThrottledForMs: stillBlocked ? stillBlocked.getTime() - Date.now() : undefined,
        written,
        ...(deferred?.days.length ? { deferred } : {}),
        ...(igStatus === 'ok' && instagramCameBack ? { followUpDays: lastDays(credentials.timezone, backfillDays) } : {}),
      };
      if (failures.length === 0) return base;

      // One platform written, another failed: the failure is recorded beside the fresh numbers.
      const describeFailure = failures.map((f) => `${f.platform}: ${f.error.message}`).join('; ');
      const first = failures[0].error;
      await cache.recordFailure(input.clientId, days, { code: first.errorCode, message: describeFailure });
      logger.warn({ clientId: input.clientId, written, failed: failures.map((f) => `${f.platform}:${f.error.errorCode}`) }, 'Meta refused one platform; the other was written');
      // Workflows started before per-platform refreshes retry the activity as a whole.
      if (!input.perPlatform) return fail(first, attempt);

      const retryable = failures.filter((f) => retryablePlatformError(f.error));
      if (retryable.length === failures.length) {
        const afterMs = Math.max(
          ...retryable.map(({ error }) =>
            error instanceof MetaThrottledError ? (error.retryAfterMs ?? throttleBackoff(round)) : Math.min(5 * 60_000, 2_000 * 2 ** (round - 1)),
          ),
        );
        await recordPendingIfLong(input, afterMs, first.errorCode);
        return { ...base, retry: { platforms: retryable.map((f) => f.platform), afterMs, errorCode: first.errorCode, message: describeFailure } };
      }
      return { ...base, outcome: 'failed', errorCode: first.errorCode, message: describeFailure };
    },

    /**
     * One refresh as a local activity runs it: Meta's errors come back as values instead of
     * failures, so the workflow waits out a throttle on a durable timer (a local activity would
     * hold its workflow task for the wait) and records the outcome itself. Errors retrying may
     * mend soon (a 5xx, a timeout, Postgres away) still throw, for the local retry policy.
     */
    async refreshStep(input: RefreshInsightsInput): Promise<RefreshStep> {
      // Signals that reach a workflow while its first task runs make the server refuse that task's
      // completion, and the task runs again with its local steps: the step finds the numbers it
      // wrote a moment ago instead of spending the client's quota on the same fetch.
      if (input.runStartedAt) {
        const fetchedAt = await cache.lastFetchedAt(input.clientId);
        if (fetchedAt && fetchedAt.getTime() >= Date.parse(input.runStartedAt)) {
          return { kind: 'done', result: { outcome: 'refreshed', attempt: Context.current().info.attempt, daysWritten: 0, calls: 0 } };
        }
      }
      // From the step's first scheduling (a wait for a slot and in-worker retries included), which
      // follows its workflow task's start by the activation's time.
      const { scheduledTimestampMs } = Context.current().info;
      try {
        const { record, ...insightsInput } = input;
        const result = await activities.refreshClientInsights(insightsInput);
        if (record && !result.retry && !result.deferred && !result.followUpDays && Date.now() - scheduledTimestampMs < record.withinMs) {
          await activities.recordClientResults([
            {
              cycleId: record.cycleId,
              clientId: input.clientId,
              workflowId: record.workflowId,
              trigger: record.trigger,
              outcome: result.outcome,
              errorCode: result.errorCode,
              errorMessage: result.message,
              attempts: (record.attemptsBefore ?? 0) + result.attempt,
              startedAt: record.startedAt,
              durationMs: Date.now() - Date.parse(record.startedAt),
              temporalRunId: record.temporalRunId,
            },
          ]);
          return { kind: 'done', result, recorded: true };
        }
        return { kind: 'done', result };
      } catch (err) {
        if (!(err instanceof ApplicationFailure)) throw err;
        const details = err.details?.[0] as MetaFailureDetails | undefined;
        const attempt = details?.attempt ?? Context.current().info.attempt + (input.attemptOffset ?? 0);
        const common = { errorCode: details?.code ?? err.type ?? 'ApplicationFailure', message: err.message, attempt, appThrottledForMs: details?.appThrottledForMs };
        if (err.nonRetryable) return { kind: 'failed', errorType: err.type ?? 'ApplicationFailure', ...common };
        if (err.nextRetryDelay !== undefined && err.nextRetryDelay !== null) return { kind: 'wait', afterMs: msToNumber(err.nextRetryDelay), ...common };
        throw err;
      }
    },
  };
  return activities;
}

export type Activities = ReturnType<typeof createActivities>;
