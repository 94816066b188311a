/** What a refresh does when Meta refuses it: the rows, the token and the app's block learn of it. */

import { appThrottleMs, throttleBackoff } from '../src/domain/retry';
import {
  MetaBadRequestError,
  MetaError,
  MetaPermissionError,
  MetaSandboxUnknownTokenError,
  MetaThrottledError,
  MetaTokenInvalidError,
} from '../src/meta/errors';
import { recordPendingIfLong } from './records';
import { retrySoon, type RefreshDeps, type RefreshOutcome, type RefreshRun, type Refusal } from './outcome';

/**
 * The outcome of a Meta error, after recording it on the days' rows (and on the token, for a 190
 * or a Page permission; on the app's block, for an app-level throttle). A throttle waits Meta's
 * estimate, or the backoff of `attemptsSoFar`; token, permission and bad-request errors fail for
 * good; anything else is thrown, for the retry policy.
 */
export async function refuse(
  deps: RefreshDeps,
  run: RefreshRun,
  err: MetaError,
  attemptsSoFar: number,
): Promise<RefreshOutcome> {
  const { cache, clients, appThrottle, refresh } = deps.stores;
  const { input, attempt, credentials, days } = run;
  await cache.recordFailure(input.clientId, days, { code: err.errorCode, message: err.message });
  const tokenProblem = err instanceof MetaTokenInvalidError || err instanceof MetaPermissionError;
  if (tokenProblem)
    await clients.markToken(input.clientId, 'invalid', `${err.errorCode}: ${err.message}`, credentials.tokenVersion);
  const throttled = err instanceof MetaThrottledError ? err : undefined;
  const appThrottledForMs = throttled
    ? appThrottleMs(throttled.code, throttled.retryAfterMs, deps.throttleBackoffMs)
    : undefined;
  if (throttled && appThrottledForMs !== undefined) {
    await appThrottle.throttle(new Date(Date.now() + appThrottledForMs), `${throttled.code}: ${throttled.message}`);
  }
  const nextRetryDelay = throttled
    ? (throttled.retryAfterMs ?? throttleBackoff(deps.throttleBackoffMs, attemptsSoFar))
    : undefined;
  // A throttle of the token's user or of the platforms asked (not the app's, which has its own block)
  // holds them until Meta's estimate: no other path or worker calls them meanwhile.
  if (throttled && nextRetryDelay !== undefined && appThrottledForMs === undefined)
    for (const platform of run.platforms)
      await deps.stores.holds.hold(input.clientId, platform, new Date(Date.now() + nextRetryDelay), 'throttled', {
        code: err.errorCode,
        message: err.message,
      });
  if (nextRetryDelay !== undefined) await recordPendingIfLong(refresh, input, nextRetryDelay, err.errorCode);
  deps.logger.warn(
    { clientId: input.clientId, attempt, errorType: err.name, code: err.errorCode, nextRetryDelay },
    'Meta refused a refresh',
  );

  const refusal: Refusal = {
    errorType: err.name,
    errorCode: err.errorCode,
    message: err.message,
    attempt,
    appThrottledForMs,
  };
  // The sandbox's unknown token is not retried, and says nothing about the token.
  if (tokenProblem || err instanceof MetaBadRequestError || err instanceof MetaSandboxUnknownTokenError)
    return { kind: 'failed', ...refusal };
  if (nextRetryDelay !== undefined) return { kind: 'wait', afterMs: nextRetryDelay, ...refusal };
  throw retrySoon(refusal);
}
