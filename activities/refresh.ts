/**
 * One client's refresh, written once: it returns an outcome, and the two activities that run it
 * (refresh-activities.ts) only say it in their own terms. `done` carries the result; `wait` is a
 * wait Meta asked for; `failed` is a failure retrying cannot mend. A failure that retrying may
 * mend soon (a 5xx or a timeout of the whole fetch, Postgres away) is thrown, for the retry policy.
 */

import { metricPlan, type Retirement } from '../src/domain/metric-retirement';
import { FAILURE_TYPES, type MetricName, metricsOf } from '../src/domain/vocabulary';
import { Context } from '@temporalio/activity';
import { dayIn } from '../src/dates';
import { appBlockWait } from '../src/domain/retry';
import { TokenDecryptError } from '../src/crypto';
import { MetaError } from '../src/meta/errors';
import { PLATFORMS, type FetchPlatformsResult, type UnavailableReason } from '../src/meta/types';
import type { PlatformHold } from '../src/stores/holds';
import type { ClientCredentials } from '../src/stores/clients';
import { daysToFetch } from './days';
import { recordPendingIfLong } from './records';
import { refuse } from './refusal';
import type { RefreshDeps, RefreshOutcome, RefreshRun } from './outcome';
import { settleFetch } from './settle-fetch';
import { checkTokenLifecycle } from './token-check';
import type { RefreshInsightsInput, RefreshInsightsResult } from './types';

const done = (result: RefreshInsightsResult): RefreshOutcome => ({ kind: 'done', result });

/**
 * Fetches today and the days before from Meta and writes them under the last-known-good rule.
 * The token is read here and goes nowhere else.
 */
export async function refreshClient(deps: RefreshDeps, input: RefreshInsightsInput): Promise<RefreshOutcome> {
  const { cache, appThrottle, refresh } = deps.stores;
  const context = Context.current();
  const attempt = context.info.attempt + (input.attemptOffset ?? 0);
  const credentials = await readCredentials(deps, input, attempt);
  if ('kind' in credentials) return credentials;
  if (credentials.tokenStatus === 'invalid')
    return done({ outcome: 'skipped_token_invalid', attempt, daysWritten: 0, calls: 0 });
  const verdict = await checkTokenLifecycle(deps, input.clientId, credentials, context.cancellationSignal);
  if (verdict.invalid)
    return {
      kind: 'failed',
      errorType: FAILURE_TYPES.tokenInvalid,
      errorCode: verdict.errorCode,
      message: verdict.message,
      attempt,
    };
  const today = dayIn(credentials.timezone);
  const { days, platformDays, rows } = await daysToFetch(cache, input.clientId, credentials.timezone, today, input);
  const nothing = done({ outcome: 'refreshed', attempt, daysWritten: 0, calls: 0, written: [] });
  if (days.length === 0) return nothing;
  // A platform held in Postgres (Meta's throttle estimate, a Page gone) is not called, whoever asks.
  const holds = await deps.stores.holds.active(input.clientId);
  const wanted = (input.platforms ?? PLATFORMS).filter((platform) => platformDays[platform].length > 0);
  const platforms = wanted.filter((platform) => !holds.has(platform));
  const held = wanted.flatMap((platform) => holds.get(platform) ?? []);
  if (platforms.length === 0) return held.length ? heldBack(held, attempt) : nothing;
  // Retired metrics are asked of no one, and a metric Meta refused this client lately not of it.
  const [retired, refusedForClient] = await Promise.all([
    deps.stores.metrics.retired(),
    deps.stores.metrics.refusedFor(input.clientId),
  ]);
  const metrics = metricPlan(deps.metrics, retired, refusedForClient);
  const run: RefreshRun = {
    input,
    attempt,
    round: input.round ?? 1,
    credentials,
    today,
    days,
    platforms,
    platformDays,
    rows,
    metrics,
  };

  // While Meta throttles the whole app, no call goes out: this attempt waits the throttle out.
  const blockedUntil = await appThrottle.throttledUntil();
  if (blockedUntil) {
    const waitMs = appBlockWait(blockedUntil, Date.now());
    await recordPendingIfLong(refresh, input, waitMs, 'app_throttled');
    const message = `Meta throttles the app; calls resume in ${Math.ceil(waitMs / 1000)} s`;
    return {
      kind: 'wait',
      afterMs: waitMs,
      errorType: FAILURE_TYPES.throttled,
      errorCode: 'app_throttled',
      message,
      attempt,
      appThrottledForMs: waitMs,
    };
  }

  let result: FetchPlatformsResult;
  // A local step runs inside a workflow task, which Temporal watches itself: only regular activities heartbeat.
  const heartbeat = context.info.isLocal ? undefined : setInterval(() => context.heartbeat(), deps.heartbeatIntervalMs);
  try {
    result = await deps.meta.fetchPlatforms({
      accessToken: credentials.accessToken,
      facebookPageId: credentials.facebookPageId,
      instagramAccountId: credentials.instagramAccountId,
      days,
      platformDays,
      timezone: credentials.timezone,
      platforms,
      metrics: metrics.ask,
      // Followers are a snapshot of now: only a fetch that covers today asks for them.
      instagramFollowers: days.includes(today),
      // Worker shutdown and cancellation abort the calls in flight.
      signal: context.cancellationSignal,
    });
  } catch (err) {
    if (!(err instanceof MetaError)) throw err;
    return refuse(deps, run, err, attempt);
  } finally {
    clearInterval(heartbeat);
  }
  for (const hold of held) {
    if (hold.platform === 'facebook') result.facebook = heldOutcome(hold);
    else result.instagram = heldOutcome(hold);
  }
  markNotAsked(result, metrics.keep, metrics.ask, retired);
  await watchRefusals(deps, input.clientId, today, result);
  return settleFetch(deps, run, result);
}

/**
 * The metrics kept but not asked, on every day a platform answered: a retired one reads
 * `metric_retired`, one Meta refused this client lately `metric_unsupported` (the merge keeps a
 * number the day already has).
 */
function markNotAsked(
  result: FetchPlatformsResult,
  keep: readonly MetricName[],
  ask: readonly MetricName[],
  retired: ReadonlyMap<MetricName, Retirement>,
): void {
  for (const platform of PLATFORMS) {
    const outcome = result[platform];
    if (outcome.status !== 'fetched') continue;
    const skipped = metricsOf(platform, keep).filter((name) => !ask.includes(name));
    for (const day of Object.values(outcome.data.days))
      for (const name of skipped)
        day[name] = { value: null, reason: retired.has(name) ? 'metric_retired' : 'metric_unsupported' };
  }
}

/** Tells the fleet's watch which metrics Meta refused this client; a metric enough clients were refused is retired. */
async function watchRefusals(deps: RefreshDeps, clientId: string, today: string, result: FetchPlatformsResult) {
  const refusals = PLATFORMS.flatMap((platform) => {
    const outcome = result[platform];
    return outcome.status === 'fetched' ? (outcome.data.refused ?? []) : [];
  });
  if (refusals.length === 0) return;
  const retiredNow = await deps.stores.metrics.recordRefusals(clientId, today, refusals);
  for (const retirement of retiredNow)
    deps.logger.warn(
      {
        metric: retirement.metric,
        since: retirement.since,
        clients: retirement.clients,
        replacedBy: retirement.replacedBy,
        code: retirement.errorCode,
      },
      'Meta refused a metric for several clients: it is retired for the fleet and no longer asked',
    );
}

/** A held platform as the fetch's result says it: its numbers carry the hold's reason where none is known. */
function heldOutcome(hold: PlatformHold): { status: 'held'; reason: UnavailableReason; until: string } {
  return {
    status: 'held',
    reason: hold.reason === 'throttled' ? 'throttled' : 'page_not_accessible',
    until: hold.until.toISOString(),
  };
}

/**
 * Every platform asked is held: nothing is called. Under a throttle the refresh waits for its end
 * (the workflow sleeps a short one out and asks once; a long one ends the refresh, and the hold
 * keeps every later path from calling before it ends); a Page that is gone and nothing else is done.
 */
function heldBack(held: PlatformHold[], attempt: number): RefreshOutcome {
  const throttles = held.filter((hold) => hold.reason === 'throttled');
  if (throttles.length === 0) return done({ outcome: 'refreshed', attempt, daysWritten: 0, calls: 0, written: [] });
  const last = throttles.reduce((a, b) => (a.until.getTime() >= b.until.getTime() ? a : b));
  const afterMs = Math.max(1_000, last.until.getTime() - Date.now() + 1_000);
  return {
    kind: 'wait',
    afterMs,
    errorType: FAILURE_TYPES.throttled,
    errorCode: last.errorCode ?? 'throttled',
    message: `Meta throttles ${throttles.map((h) => h.platform).join(' and ')} of this client until ${last.until.toISOString()}; nothing is called before then`,
    attempt,
  };
}

/**
 * The client's token and ids, or the outcome of a refresh that cannot use them: a token no key
 * decrypts, a deleted client (both fail for good), no token or an invalid one (skipped).
 */
async function readCredentials(
  deps: RefreshDeps,
  input: RefreshInsightsInput,
  attempt: number,
): Promise<ClientCredentials | RefreshOutcome> {
  const { clients } = deps.stores;
  let credentials: ClientCredentials | undefined;
  try {
    credentials = await clients.credentials(input.clientId);
  } catch (err) {
    if (!(err instanceof TokenDecryptError)) throw err;
    // Retrying cannot help. The token is not marked invalid: a key left out of the config is
    // fixed by a restart, after which the client must be refreshed again without an admin's help.
    deps.logger.warn(
      { clientId: input.clientId, attempt, reason: err.message },
      'refresh failed: the stored token cannot be decrypted',
    );
    const message = `${err.message}; set the token again, or check TOKEN_ENCRYPTION_KEY and TOKEN_ENCRYPTION_KEY_PREVIOUS`;
    return {
      kind: 'failed',
      errorType: FAILURE_TYPES.tokenUndecryptable,
      errorCode: 'token_undecryptable',
      message,
      attempt,
    };
  }
  if (!credentials && !(await clients.get(input.clientId))) {
    return {
      kind: 'failed',
      errorType: FAILURE_TYPES.clientRemoved,
      errorCode: 'client_removed',
      message: 'the client was deleted',
      attempt,
    };
  }
  return credentials ?? done({ outcome: 'skipped_token_invalid', attempt, daysWritten: 0, calls: 0 });
}
