/** After Meta answered: each platform's part is written, recorded as failed, held back, or asked again later. */

import { lastDays } from '../src/dates';
import { PAGE_GONE_RECHECK_MS, platformRetryDelay } from '../src/domain/retry';
import { type MetaError, MetaThrottledError, MetaTransientError } from '../src/meta/errors';
import type { FetchPlatformsResult, Platform, UnavailableReason } from '../src/meta/types';
import type { FacebookStatus, InstagramStatus } from '../src/stores/clients';
import { MAX_WAIT_IN_REFRESH_MS } from '../workflows/definitions';
import { writeInsights } from './days';
import { recordPendingIfLong } from './records';
import type { RefreshDeps, RefreshOutcome, RefreshRun } from './outcome';
import { refuse } from './refusal';
import type { RefreshInsightsResult } from './types';

/** Instagram states that a later `ok` turns into a backfill of the days it left empty. */
const INSTAGRAM_REFUSED = new Set<InstagramStatus>(['permission_missing', 'not_linked', 'error']);

const BOTH = ['facebook', 'instagram'] as const;

/** A platform's failure: for all its days (`failed`), or for the days an error left midway (`stopped`). */
interface PlatformFailure {
  platform: Platform;
  error: MetaError;
  days: string[];
}

/** A platform's state for the operator, from what this fetch learnt; undefined: unchanged. */
function statusOf(outcome: FetchPlatformsResult[Platform]): string | undefined {
  if (outcome.status === 'held') return outcome.reason === 'throttled' ? 'throttled' : undefined;
  if (outcome.status === 'fetched') {
    const data = outcome.data as { state: string; stopped?: { error: unknown } };
    return data.stopped?.error instanceof MetaThrottledError ? 'throttled' : data.state;
  }
  if (outcome.status === 'failed')
    return outcome.error instanceof MetaThrottledError
      ? 'throttled'
      : outcome.error instanceof MetaTransientError
        ? undefined
        : 'error';
  return undefined;
}

/** Retryable on their own: a throttle of one Page or account, a transient failure. */
function retryablePlatformError(error: Error): error is MetaThrottledError | MetaTransientError {
  return error instanceof MetaThrottledError || error instanceof MetaTransientError;
}

/** The failure to report when nothing was fetched: the throttle with the longest estimate, else the first. */
function worstFailure(failures: PlatformFailure[]): MetaError {
  const throttles = failures
    .map((f) => f.error)
    .filter((e): e is MetaThrottledError => e instanceof MetaThrottledError);
  return throttles.sort((a, b) => (b.retryAfterMs ?? 0) - (a.retryAfterMs ?? 0))[0] ?? failures[0].error;
}

/** The platforms that failed, whole or midway, with the days each failure leaves unanswered. */
function failuresOf(result: FetchPlatformsResult, run: RefreshRun): PlatformFailure[] {
  return BOTH.flatMap((platform): PlatformFailure[] => {
    const outcome = result[platform];
    if (outcome.status === 'failed')
      return [{ platform, error: outcome.error as MetaError, days: run.platformDays[platform] }];
    if (outcome.status === 'fetched' && outcome.data.stopped)
      return [{ platform, error: outcome.data.stopped.error as MetaError, days: outcome.data.stopped.days }];
    return [];
  });
}

/** The wait before a failed platform is asked again: Meta's estimate, else the backoff of its kind. */
function retryDelay(error: MetaError, round: number, firstThrottleMs: number): number {
  return platformRetryDelay(
    error instanceof MetaThrottledError ? { throttled: true, retryAfterMs: error.retryAfterMs } : { throttled: false },
    round,
    firstThrottleMs,
  );
}

/**
 * Writes what Meta gave and decides the refresh's outcome: nothing fetched fails as a whole (and
 * is retried, after Meta's estimate for a throttle); one platform written and another failed is
 * recorded beside the fresh numbers, and the failed one is asked again (only the days it owes) or
 * reported as failed. A platform Meta throttled is held in Postgres for Meta's estimate, and a
 * Page that is gone for a day, so no path calls it meanwhile.
 */
export async function settleFetch(
  deps: RefreshDeps,
  run: RefreshRun,
  result: FetchPlatformsResult,
): Promise<RefreshOutcome> {
  const { clients, cache, appThrottle, holds } = deps.stores;
  const { input, attempt, round, credentials, today, days } = run;
  const failures = failuresOf(result, run);
  const written = BOTH.filter((platform) => result[platform].status === 'fetched');

  const fbStatus = statusOf(result.facebook) as FacebookStatus | undefined;
  const igStatus = statusOf(result.instagram) as InstagramStatus | undefined;
  // Instagram answering again after a refusal (permission granted, account relinked in Meta): its missing days are backfilled.
  // The status read with the token: only this client's refresh (one in flight) writes it.
  const instagramCameBack = igStatus === 'ok' && INSTAGRAM_REFUSED.has(credentials.instagramStatus);
  if (igStatus && igStatus !== credentials.instagramStatus)
    await clients.markInstagram(input.clientId, igStatus, credentials.tokenVersion);
  if (fbStatus && fbStatus !== credentials.facebookStatus)
    await clients.markFacebook(input.clientId, fbStatus, credentials.tokenVersion);

  // Holds: nothing calls a throttled platform before Meta's estimate, nor a Page that is gone before a day.
  if (result.facebook.status === 'fetched' && result.facebook.data.state === 'not_accessible')
    await holds.hold(input.clientId, 'facebook', new Date(Date.now() + PAGE_GONE_RECHECK_MS), 'not_accessible', {
      code: '100',
      message: 'Meta answers that the Page does not exist for this token (100/33)',
    });
  for (const failure of failures)
    if (failure.error instanceof MetaThrottledError)
      await holds.hold(
        input.clientId,
        failure.platform,
        new Date(
          Date.now() + retryDelay(failure.error, round + (written.length ? 0 : attempt - 1), deps.throttleBackoffMs),
        ),
        'throttled',
        { code: failure.error.errorCode, message: failure.error.message },
      );

  if (written.length === 0 && failures.length > 0)
    return refuse(deps, run, worstFailure(failures), attempt + round - 1);

  const deferred = result.instagram.status === 'fetched' ? result.instagram.data.deferred : undefined;
  const pending: UnavailableReason =
    deferred?.days.length || failures.some((f) => f.error instanceof MetaThrottledError) ? 'throttled' : 'fetch_failed';
  const daysWritten = written.length
    ? await writeInsights(cache, input.clientId, today, result, pending, run.rows, run.metrics.keep)
    : 0;

  // A permission missing on every object the token reads is the token's: only then is it invalid.
  const pageRefused = result.facebook.status === 'fetched' && result.facebook.data.state === 'permission_missing';
  const instagramRefused =
    result.instagram.status === 'fetched' &&
    (result.instagram.data.state === 'permission_missing' || credentials.instagramAccountId === null);
  if (pageRefused && instagramRefused) {
    const refusal = result.facebook.status === 'fetched' ? result.facebook.data.refusal : undefined;
    const code = refusal?.code ?? 'permission_missing';
    const message = `Meta refused the Page${credentials.instagramAccountId ? ' and the Instagram account' : ''} for a missing permission: ${refusal?.message ?? 'no message'}`;
    await clients.markToken(input.clientId, 'invalid', `${code}: ${message}`, credentials.tokenVersion);
    return {
      kind: 'done',
      result: {
        outcome: 'failed',
        attempt,
        daysWritten,
        calls: result.calls,
        written,
        errorCode: code,
        message,
      },
    };
  }
  if (written.length && credentials.tokenStatus !== 'valid')
    await clients.markToken(input.clientId, 'valid', null, credentials.tokenVersion);
  const stillBlocked =
    result.usage.appPercent !== undefined
      ? await appThrottle.recordUsage(result.usage.appPercent)
      : await appThrottle.throttledUntil();
  const base: RefreshInsightsResult = {
    outcome: 'refreshed',
    attempt,
    daysWritten,
    calls: result.calls,
    appPercent: result.usage.appPercent,
    appThrottledForMs: stillBlocked ? stillBlocked.getTime() - Date.now() : undefined,
    written,
    ...(deferred?.days.length ? { deferred } : {}),
    ...(instagramCameBack ? { followUpDays: lastDays(credentials.timezone, deps.backfillDays) } : {}),
  };
  return followUp(deps, run, result, base, failures, days);
}

/**
 * What comes after a fetch that wrote something: nothing; the failed platforms asked again (only
 * the days they owe) after Meta's estimate, with the platforms a short hold kept back; or the
 * refresh reported as failed for the platform that failed for good.
 */
async function followUp(
  deps: RefreshDeps,
  run: RefreshRun,
  result: FetchPlatformsResult,
  base: RefreshInsightsResult,
  failures: PlatformFailure[],
  days: string[],
): Promise<RefreshOutcome> {
  const { input, attempt, round } = run;
  // A platform a short hold kept back is asked once the hold ends, within this refresh.
  const shortHolds = BOTH.flatMap((platform) => {
    const outcome = result[platform];
    if (outcome.status !== 'held' || outcome.reason !== 'throttled' || round > 1) return [];
    const afterMs = Date.parse(outcome.until) - Date.now() + 1_000;
    return afterMs <= MAX_WAIT_IN_REFRESH_MS ? [{ platform, afterMs, days: run.platformDays[platform] }] : [];
  });
  if (failures.length === 0 && shortHolds.length === 0) return { kind: 'done', result: base };

  const describeFailure = failures.map((f) => `${f.platform}: ${f.error.message}`).join('; ');
  if (failures.length > 0) {
    const failedDays = [...new Set(failures.flatMap((f) => f.days))].sort();
    await deps.stores.cache.recordFailure(input.clientId, failedDays.length ? failedDays : days, {
      code: failures[0].error.errorCode,
      message: describeFailure,
    });
    deps.logger.warn(
      {
        clientId: input.clientId,
        written: base.written,
        failed: failures.map((f) => `${f.platform}:${f.error.errorCode}`),
      },
      'Meta refused one platform, or stopped it midway; what was answered is written',
    );
  }
  // Workflows started before per-platform refreshes retry the activity as a whole.
  if (!input.perPlatform) {
    if (failures.length === 0) return { kind: 'done', result: base };
    return refuse(deps, run, failures[0].error, attempt);
  }

  const retryable = failures.filter((f) => retryablePlatformError(f.error));
  if (retryable.length < failures.length) {
    const first = failures.find((f) => !retryablePlatformError(f.error)) ?? failures[0];
    return {
      kind: 'done',
      result: { ...base, outcome: 'failed', errorCode: first.error.errorCode, message: describeFailure },
    };
  }
  const again = [
    ...retryable.map((f) => ({
      platform: f.platform,
      afterMs: retryDelay(f.error, round, deps.throttleBackoffMs),
      days: f.days,
    })),
    ...shortHolds,
  ];
  const afterMs = Math.max(...again.map((a) => a.afterMs));
  const code = failures[0]?.error.errorCode ?? 'throttled';
  const message = describeFailure || 'Meta throttles a platform; it is asked once the wait Meta estimated ends';
  await recordPendingIfLong(deps.stores.refresh, input, afterMs, code);
  const retry = {
    platforms: again.map((a) => a.platform),
    afterMs,
    errorCode: code,
    message,
    platformDays: Object.fromEntries(again.map((a) => [a.platform, a.days])),
  };
  return { kind: 'done', result: { ...base, retry } };
}
