/**
 * The token's lifecycle, seen before it ends: with the app's credentials (META_APP_ID and
 * META_APP_SECRET) a refresh asks Meta's `debug_token` about the client's token when it was never
 * asked (the token is new) and then once a day, and stores when it expires, when the app's data
 * access ends and the scopes granted. A token Meta already calls invalid is marked so before any
 * insights call is spent on it.
 */

import { TOKEN_CHECK_INTERVAL_MS } from '../src/domain/token-lifecycle';
import { MetaError, MetaSandboxUnknownTokenError, MetaTransientError } from '../src/meta/errors';
import type { ClientCredentials } from '../src/stores/clients';
import type { RefreshDeps } from './outcome';

/** What the check found: nothing to say, or a token Meta says is invalid (with Meta's words). */
export type TokenVerdict = { invalid: false } | { invalid: true; errorCode: string; message: string };

export async function checkTokenLifecycle(
  deps: RefreshDeps,
  clientId: string,
  credentials: ClientCredentials,
  signal?: AbortSignal,
): Promise<TokenVerdict> {
  const ok = { invalid: false } as const;
  const debugToken = deps.meta.debugToken;
  if (!debugToken) return ok;
  const checkedAt = credentials.tokenCheckedAt?.getTime();
  if (checkedAt !== undefined && Date.now() - checkedAt < TOKEN_CHECK_INTERVAL_MS) return ok;
  const { clients } = deps.stores;
  let info;
  try {
    info = await debugToken({ accessToken: credentials.accessToken, signal });
  } catch (err) {
    if (!(err instanceof MetaError)) throw err;
    // The sandbox's unknown token says nothing of the token; a transient failure is asked again next refresh.
    if (err instanceof MetaSandboxUnknownTokenError || err instanceof MetaTransientError) {
      deps.logger.debug({ clientId, code: err.errorCode }, 'debug_token not answered; asked again next refresh');
      return ok;
    }
    // Anything else (the app's credentials refused, say) is not asked again before a day.
    deps.logger.warn(
      { clientId, code: err.errorCode, error: err.message },
      'debug_token refused; asked again in a day',
    );
    await clients.markTokenChecked(clientId, credentials.tokenVersion);
    return ok;
  }
  await clients.markTokenChecked(clientId, credentials.tokenVersion, info);
  if (info.isValid) return ok;
  const errorCode = info.error?.code !== undefined ? String(info.error.code) : '190';
  const message = `debug_token: ${info.error?.message ?? 'Meta says the token is not valid'}`;
  await clients.markToken(clientId, 'invalid', `${errorCode}: ${message}`, credentials.tokenVersion);
  deps.logger.warn({ clientId, code: errorCode }, 'debug_token says the token is invalid; no insights call is made');
  return { invalid: true, errorCode, message };
}
