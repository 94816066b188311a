import {
  MetaBadRequestError,
  MetaError,
  MetaErrorDetails,
  MetaPermissionError,
  MetaThrottledError,
  MetaTokenInvalidError,
  MetaTransientError,
} from './errors';
import type { MetaUsage } from './types';
import { retryAfterMsFromUsage } from './usage';

/** Meta's throttling codes; Meta throttles with HTTP 400 (sometimes 403), not 429. */
export const THROTTLED_CODES: ReadonlySet<number> = new Set([4, 17, 32, 341, 613, 80001, 80002]);

/** Unknown error, service error, temporarily blocked: worth another try later. */
export const TRANSIENT_CODES: ReadonlySet<number> = new Set([1, 2, 368]);

/** 190: the token is invalid; 102: the (older) API session code for the same. */
export const TOKEN_INVALID_CODES: ReadonlySet<number> = new Set([190, 102]);

/** Code 10 and the 200–299 range: a permission is missing. */
export function isPermissionCode(code: number): boolean {
  return code === 10 || (code >= 200 && code <= 299);
}

/** The `error` object of a Graph API error body. */
export interface GraphErrorBody {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  fbtrace_id?: string;
}

/** Reads `{"error":{…}}`; undefined when the body is not a Graph error. */
export function readGraphError(body: unknown): GraphErrorBody | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as Record<string, unknown>;
  return {
    message: typeof e.message === 'string' ? e.message : undefined,
    type: typeof e.type === 'string' ? e.type : undefined,
    code: integer(e.code),
    error_subcode: integer(e.error_subcode),
    is_transient: typeof e.is_transient === 'boolean' ? e.is_transient : undefined,
    fbtrace_id: typeof e.fbtrace_id === 'string' ? e.fbtrace_id : undefined,
  };
}

export interface ClassifyInput {
  httpStatus: number;
  /** The parsed JSON body, or undefined when the body was not JSON. */
  body: unknown;
  /** Usage headers of the same response: the throttling estimate comes from there. */
  usage?: MetaUsage;
  /** What was called, e.g. `GET /v24.0/123/insights`; never a URL with its query. */
  call?: string;
  /** Cleans Meta's message before it becomes the error's message (and stack). */
  redact?: (text: string) => string;
  /** The body was an HTML page (Meta's "Sorry, something went wrong."): named in the message, never quoted. */
  html?: boolean;
}

/**
 * Turns a failed Graph API response into one of the named errors, by Meta's `code`,
 * `error_subcode` and `is_transient` — never by message text, and by HTTP status only when
 * the body carries no code (a proxy's 502, say).
 */
export function classifyMetaError({
  httpStatus,
  body,
  usage,
  call,
  redact = (text) => text,
  html = false,
}: ClassifyInput): MetaError {
  const error = readGraphError(body);
  const code = error?.code;
  const details: MetaErrorDetails = { code, subcode: error?.error_subcode, httpStatus, fbtraceId: error?.fbtrace_id };
  const message = redact(describe(call, httpStatus, error, html));

  if (code !== undefined) {
    if (THROTTLED_CODES.has(code))
      return new MetaThrottledError(message, { ...details, retryAfterMs: retryAfterMsFromUsage(usage) });
    if (error?.is_transient === true) return new MetaTransientError(message, details);
    // Meta's code 1 is "unknown" only with a 5xx; with a 4xx it refuses the request itself (e.g. a Page window over 93 days), so a retry would fail the same way.
    if (code === 1 && httpStatus >= 400 && httpStatus < 500) return new MetaBadRequestError(message, details);
    if (TRANSIENT_CODES.has(code)) return new MetaTransientError(message, details);
    if (TOKEN_INVALID_CODES.has(code)) return new MetaTokenInvalidError(message, details);
    if (isPermissionCode(code)) return new MetaPermissionError(message, details);
    return new MetaBadRequestError(message, details);
  }
  if (error?.is_transient === true || httpStatus >= 500 || httpStatus === 408)
    return new MetaTransientError(message, details);
  if (httpStatus === 429)
    return new MetaThrottledError(message, { ...details, retryAfterMs: retryAfterMsFromUsage(usage) });
  // A 2xx that reached here could not be read: most likely cut short on the way.
  if (httpStatus >= 200 && httpStatus < 300) return new MetaTransientError(message, details);
  return new MetaBadRequestError(message, details);
}

/**
 * A field only the Graph sandbox puts in the `error` of its 190 for a token it was never
 * given. A client reads it only when built for the sandbox, so real Meta cannot trigger it.
 */
export const SANDBOX_UNKNOWN_TOKEN_FIELD = 'x_sandbox_unknown_token';

/** Whether a body is the sandbox's 190 for a token it does not know. */
export function isSandboxUnknownTokenBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = (body as { error: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<string, unknown>)[SANDBOX_UNKNOWN_TOKEN_FIELD] === true &&
    (error as { code?: unknown }).code === 190
  );
}

/** Code 100 with subcode 33 on an Instagram call: the account does not exist for this token, i.e. it is not linked to the Page. */
export function isUnsupportedGetError(err: unknown): err is MetaBadRequestError {
  return err instanceof MetaBadRequestError && err.code === 100 && err.subcode === 33;
}

/** Throttles of the whole app or the token's user: no platform may be called meanwhile. */
export const WHOLE_TOKEN_THROTTLE_CODES: ReadonlySet<number> = new Set([4, 17, 341]);

/** Code 100 without a subcode on an insights call: Meta's "(#100) … must be a valid insights metric". */
export function isInvalidMetricError(err: unknown): err is MetaBadRequestError {
  return err instanceof MetaBadRequestError && err.code === 100 && err.subcode === undefined;
}

/**
 * Meta's `(#1) Please reduce the amount of data you're asking for, then retry your request`
 * (HTTP 500): transient, but asking the same window again fails the same way, so the caller
 * asks a smaller one. Meta gives this case no code of its own, so its message is the only sign
 * (as for the code-100 refusals read in refusals.ts).
 */
export function isReduceDataError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (err as { code?: unknown }).code === 1 && /reduce the amount of data you're asking for/i.test(err.message);
}

function describe(
  call: string | undefined,
  httpStatus: number,
  error: GraphErrorBody | undefined,
  html: boolean,
): string {
  const where = `Meta ${call ?? 'call'} answered HTTP ${httpStatus}`;
  if (!error && html) return `${where} with an HTML error page`;
  if (!error) return httpStatus >= 200 && httpStatus < 300 ? `${where} with a body that is not Graph API JSON` : where;
  const code =
    error.code !== undefined
      ? ` code ${error.code}${error.error_subcode !== undefined ? `/${error.error_subcode}` : ''}`
      : '';
  return `${where}${code}: ${error.message ?? 'no message'}`;
}

function integer(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

/**
 * Removes an access token from text meant for a log or an error: the token itself, its URL
 * encodings, and any `access_token=` parameter.
 */
export function redactToken(text: string, token?: string): string {
  let result = text;
  if (token) {
    for (const form of new Set([
      token,
      encodeURIComponent(token),
      new URLSearchParams({ t: token }).toString().slice(2),
    ])) {
      if (form) result = result.split(form).join('[redacted]');
    }
  }
  return result.replace(/(access_token|input_token)=[^&\s"'#]*/g, '$1=[redacted]');
}
