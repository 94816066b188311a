/** After Meta answered: each platform's part is written, recorded as failed, or asked again later. */

import { lastDays } from '../src/dates';
import { platformRetryDelay } from '../src/domain/retry';
import { type MetaError, MetaThrottledError, MetaTransientError } from '../src/meta/errors';
import type { FetchPlatformsResult, Platform, UnavailableReason } from '../src/meta/types';
import type { InstagramStatus } from '../src/stores/clients';
import { writeInsights } from './days';
import { recordPendingIfLong } from './records';
import type { RefreshDeps, RefreshOutcome, RefreshRun } from './outcome';
import { refuse } from './refusal';
import type { RefreshInsightsResult } from './types';

/** Instagram states that a later `ok` turns into a backfill of the days it left empty. */
const INSTAGRAM_REFUSED = new Set<InstagramStatus>(['permission_missing', 'not_linked', 'error']);

const BOTH = ['facebook', 'instagram'] as const;

interface PlatformFailure {
  platform: Platform;
  error: MetaError;
}

/** Instagram's state for the operator, from what this fetch learnt; undefined: unchanged. */
function instagramStatusOf(result: FetchPlatformsResult): InstagramStatus | undefined {
  const ig = result.instagram;
  if (ig.status === 'fetched') return ig.data.state;
  if (ig.status === 'failed')
    return ig.error instanceof MetaThrottledError
      ? 'throttled'
      : ig.error instanceof MetaTransientError
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

/**
 * Writes what Meta gave and decides the refresh's outcome: nothing fetched fails as a whole (and
 * is retried, after Meta's estimate for a throttle); one platform written and another failed is
 * recorded beside the fresh numbers, and the failed one is asked again or reported as failed.
 */
export async function settleFetch(
  deps: RefreshDeps,
  run: RefreshRun,
  result: FetchPlatformsResult,
): Promise<RefreshOutcome> {
  const { clients, cache, appThrottle } = deps.stores;
  const { input, attempt, round, credentials, today, days } = run;
  const failures = BOTH.flatMap((platform): PlatformFailure[] => {
    const outcome = result[platform];
    return outcome.status === 'failed' ? [{ platform, error: outcome.error as MetaError }] : [];
  });
  const written = BOTH.filter((platform) => result[platform].status === 'fetched');
  const igStatus = instagramStatusOf(result);
  // Instagram answering again after a refusal (permission granted, account relinked in Meta): its missing days are backfilled.
  // The status read with the token: only this client's refresh (one in flight) writes it.
  const instagramCameBack = igStatus === 'ok' && INSTAGRAM_REFUSED.has(credentials.instagramStatus);
  if (igStatus && igStatus !== credentials.instagramStatus)
    await clients.markInstagram(input.clientId, igStatus, credentials.tokenVersion);

  if (written.length === 0 && failures.length > 0)
    return refuse(deps, run, worstFailure(failures), attempt + round - 1);

  const deferred = result.instagram.status === 'fetched' ? result.instagram.data.deferred : undefined;
  const pending: UnavailableReason =
    deferred?.days.length || failures.some((f) => f.error instanceof MetaThrottledError) ? 'throttled' : 'fetch_failed';
  const daysWritten = written.length ? await writeInsights(cache, input.clientId, today, result, pending, run.rows) : 0;
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
  if (failures.length === 0) return { kind: 'done', result: base };
  return partialFailure(deps, run, base, failures, days);
}

/** One platform written, another failed: the failure is recorded beside the fresh numbers. */
async function partialFailure(
  deps: RefreshDeps,
  run: RefreshRun,
  base: RefreshInsightsResult,
  failures: PlatformFailure[],
  days: string[],
): Promise<RefreshOutcome> {
  const { input, attempt, round } = run;
  const describeFailure = failures.map((f) => `${f.platform}: ${f.error.message}`).join('; ');
  const first = failures[0].error;
  await deps.stores.cache.recordFailure(input.clientId, days, { code: first.errorCode, message: describeFailure });
  deps.logger.warn(
    {
      clientId: input.clientId,
      written: base.written,
      failed: failures.map((f) => `${f.platform}:${f.error.errorCode}`),
    },
    'Meta refused one platform; the other was written',
  );
  // Workflows started before per-platform refreshes retry the activity as a whole.
  if (!input.perPlatform) return refuse(deps, run, first, attempt);

  const retryable = failures.filter((f) => retryablePlatformError(f.error));
  if (retryable.length === failures.length) {
    const afterMs = Math.max(
      ...retryable.map(({ error }) =>
        platformRetryDelay(
          error instanceof MetaThrottledError
            ? { throttled: true, retryAfterMs: error.retryAfterMs }
            : { throttled: false },
          round,
          deps.throttleBackoffMs,
        ),
      ),
    );
    await recordPendingIfLong(deps.stores.refresh, input, afterMs, first.errorCode);
    const retry = {
      platforms: retryable.map((f) => f.platform),
      afterMs,
      errorCode: first.errorCode,
      message: describeFailure,
    };
    return { kind: 'done', result: { ...base, retry } };
  }
  return { kind: 'done', result: { ...base, outcome: 'failed', errorCode: first.errorCode, message: describeFailure } };
}
