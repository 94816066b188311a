/**
 * One client's refresh, written once: it returns an outcome, and the two activities that run it
 * (refresh-activities.ts) only say it in their own terms. `done` carries the result; `wait` is a
 * wait Meta asked for; `failed` is a failure retrying cannot mend. A failure that retrying may
 * mend soon (a 5xx or a timeout of the whole fetch, Postgres away) is thrown, for the retry policy.
 */

import { FAILURE_TYPES } from '../src/domain/vocabulary';
import { Context } from '@temporalio/activity';
import { dayIn } from '../src/dates';
import { appBlockWait } from '../src/domain/retry';
import { TokenDecryptError } from '../src/crypto';
import { MetaError } from '../src/meta/errors';
import type { FetchPlatformsResult } from '../src/meta/types';
import type { ClientCredentials } from '../src/stores/clients';
import { daysToFetch } from './days';
import { recordPendingIfLong } from './records';
import { refuse } from './refusal';
import type { RefreshDeps, RefreshOutcome, RefreshRun } from './outcome';
import { settleFetch } from './settle-fetch';
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
  const today = dayIn(credentials.timezone);
  const { days, rows } = await daysToFetch(cache, input.clientId, credentials.timezone, today, input);
  if (days.length === 0) return done({ outcome: 'refreshed', attempt, daysWritten: 0, calls: 0, written: [] });
  const run: RefreshRun = { input, attempt, round: input.round ?? 1, credentials, today, days, rows };

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
      timezone: credentials.timezone,
      platforms: input.platforms,
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
  return settleFetch(deps, run, result);
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
