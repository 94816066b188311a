import { createHash } from 'node:crypto';
import { SANDBOX_UNKNOWN_TOKEN_FIELD } from '../../meta/classify';

/** A Graph API error as Meta sends it: an HTTP status and `{"error":{…}}`. */
export interface GraphErrorResponse {
  status: number;
  body: {
    error: {
      message: string;
      type: string;
      code: number;
      error_subcode?: number;
      is_transient: boolean;
      fbtrace_id: string;
      /** Only in the sandbox's 190 for a token it was never given; Meta sends no such field. */
      [SANDBOX_UNKNOWN_TOKEN_FIELD]?: true;
    };
  };
}

const RATE_LIMIT_DOCS =
  'For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.';

/** Meta's message, status and `is_transient` for the error codes Meta documents (developers.facebook.com/docs/graph-api/guides/error-handling). */
const KNOWN_CODES: Record<number, { message: string; status?: number; isTransient?: boolean; type?: string }> = {
  1: { message: 'An unknown error occurred', status: 500 },
  2: { message: 'An unexpected error has occurred. Please retry your request later.', status: 500, isTransient: true },
  4: { message: '(#4) Application request limit reached', isTransient: true },
  10: { message: '(#10) Application does not have permission for this action' },
  17: { message: '(#17) User request limit reached', isTransient: true },
  32: { message: '(#32) Page request limit reached' },
  100: { message: '(#100) Invalid parameter' },
  104: { message: 'An access token is required to request this resource.' },
  190: { message: 'Invalid OAuth access token - Cannot parse access token' },
  200: { message: '(#200) Requires pages_read_engagement permission to manage the object' },
  341: { message: '(#341) Application limit reached', isTransient: true },
  368: { message: 'The action attempted has been deemed abusive or is otherwise disallowed' },
  613: { message: '(#613) Calls to this api have exceeded the rate limit.', isTransient: true },
  2635: {
    message: '(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version.',
  },
  80001: {
    message: `(#80001) There have been too many calls to this Page account. Wait a bit and try again. ${RATE_LIMIT_DOCS}`,
    isTransient: true,
  },
  80002: {
    message: `(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. ${RATE_LIMIT_DOCS}`,
    isTransient: true,
  },
};

let traceCounter = 0;

/** Something shaped like Meta's `fbtrace_id`. */
export function fbtraceId(): string {
  traceCounter += 1;
  return `A${createHash('sha1').update(`trace-${traceCounter}-${process.pid}`).digest('base64url').slice(0, 22)}`;
}

/** Meta's error body for `code`; each part may be overridden. */
export function graphError(
  code: number,
  overrides: { subcode?: number; message?: string; status?: number; isTransient?: boolean; type?: string } = {},
): GraphErrorResponse {
  const known = KNOWN_CODES[code];
  const error: GraphErrorResponse['body']['error'] = {
    message: overrides.message ?? known?.message ?? `(#${code}) An error the sandbox was asked to answer`,
    type: overrides.type ?? known?.type ?? 'OAuthException',
    code,
    is_transient: overrides.isTransient ?? known?.isTransient ?? false,
    fbtrace_id: fbtraceId(),
  };
  if (overrides.subcode !== undefined) {
    // Meta's key order: error_subcode comes right after code.
    const { is_transient, fbtrace_id, ...head } = error;
    return {
      status: overrides.status ?? known?.status ?? 400,
      body: { error: { ...head, error_subcode: overrides.subcode, is_transient, fbtrace_id } },
    };
  }
  return { status: overrides.status ?? known?.status ?? 400, body: { error } };
}

/** `(#100) The value must be a valid insights metric`: one bad metric fails the whole request. */
export function invalidMetric(): GraphErrorResponse {
  return graphError(100, { message: '(#100) The value must be a valid insights metric' });
}

/** Meta's answer for an object that does not exist or that the token may not read. */
export function unsupportedGet(objectId: string): GraphErrorResponse {
  return graphError(100, {
    subcode: 33,
    type: 'GraphMethodException',
    message: `Unsupported get request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
  });
}

/** Meta's answer for an expired token (190/463), as Meta sends it. */
export function tokenExpired(nowMs: number): GraphErrorResponse {
  return graphError(190, {
    subcode: 463,
    message: `Error validating access token: Session has expired on ${pacificStamp(nowMs - 3 * 86_400_000)}. The current time is ${pacificStamp(nowMs)}.`,
  });
}

/** Meta's way of writing a time in its messages: `Tuesday, 03-Dec-24 02:17:23 PST`. */
function pacificStamp(ms: number): string {
  const parts: Record<string, string> = {};
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Los_Angeles',
    weekday: 'long',
    day: '2-digit',
    month: 'short',
    year: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  for (const part of format.formatToParts(new Date(ms))) parts[part.type] = part.value;
  return `${parts.weekday}, ${parts.day}-${parts.month}-${parts.year} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

/**
 * Meta's 190 for a token that cannot be parsed, plus a marker only the sandbox sends: a client
 * running against the sandbox learns that the token is a real one the sandbox cannot know
 * (added while `npm start` runs in demo mode), and does not judge it.
 */
export function unknownToken(): GraphErrorResponse {
  const answer = graphError(190);
  answer.body.error[SANDBOX_UNKNOWN_TOKEN_FIELD] = true;
  return answer;
}

/**
 * Meta's answer when the token lacks an Instagram permission (instagram_manage_insights):
 * `(#10) Application does not have permission for this action` (HTTP 400), or on some calls
 * `(#200) Permissions error` (reported with HTTP 403).
 */
export function instagramPermissionMissing(code: 10 | 200): GraphErrorResponse {
  return code === 10 ? graphError(10) : graphError(200, { message: '(#200) Permissions error', status: 403 });
}

/** A password change or a lost Page role: 190/460. */
export function tokenInvalidated(): GraphErrorResponse {
  return graphError(190, {
    subcode: 460,
    message:
      'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
  });
}
