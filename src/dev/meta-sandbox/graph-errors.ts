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
      error_data?: unknown;
      error_subcode?: number;
      is_transient: boolean;
      /** Meta's title and text meant for the person using the app, on some refusals (e.g. 2108006). */
      error_user_title?: string;
      error_user_msg?: string;
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

/**
 * Subcodes whose body Meta fills in beyond the code's own: 2108006, an Instagram day before the
 * account became a business account (as collected by connectors, e.g. keboola/ex-facebook-graph-api#86).
 */
const KNOWN_SUBCODES: Record<
  number,
  { message: string; errorData?: unknown; userTitle?: string; userMessage?: string }
> = {
  2108006: {
    message: 'Invalid parameter',
    errorData: { blame_field_specs: [['']] },
    userTitle: 'Media posted before business account conversion',
    userMessage:
      "The media was posted before the most recent time that the user's account was converted to a business account from a personal account.",
  },
};

export interface GraphErrorOverrides {
  subcode?: number;
  message?: string;
  status?: number;
  isTransient?: boolean;
  type?: string;
  userTitle?: string;
  userMessage?: string;
}

/** Meta's error body for `code`, its keys in Meta's order; each part may be overridden. */
export function graphError(code: number, overrides: GraphErrorOverrides = {}): GraphErrorResponse {
  const known = KNOWN_CODES[code];
  const sub = overrides.subcode !== undefined ? KNOWN_SUBCODES[overrides.subcode] : undefined;
  const userTitle = overrides.userTitle ?? sub?.userTitle;
  const userMessage = overrides.userMessage ?? sub?.userMessage;
  // Built key by key: Meta's order puts error_data and error_subcode after code, the user texts before the trace id.
  const error = {
    message:
      overrides.message ?? sub?.message ?? known?.message ?? `(#${code}) An error the sandbox was asked to answer`,
    type: overrides.type ?? known?.type ?? 'OAuthException',
    code,
    ...(sub?.errorData !== undefined ? { error_data: sub.errorData } : {}),
    ...(overrides.subcode !== undefined ? { error_subcode: overrides.subcode } : {}),
    is_transient: overrides.isTransient ?? known?.isTransient ?? false,
    ...(userTitle !== undefined ? { error_user_title: userTitle } : {}),
    ...(userMessage !== undefined ? { error_user_msg: userMessage } : {}),
    fbtrace_id: fbtraceId(),
  };
  return { status: overrides.status ?? known?.status ?? 400, body: { error } };
}

/**
 * Meta's terse form of some code-1 answers: `{"error":{"code":1,"message":…}}`, with no type,
 * `is_transient` or trace id (e.g. "Please reduce the amount of data…", "There cannot be more than 93 days…").
 */
export function minimalError(code: number, message: string, status: number): { status: number; body: unknown } {
  return { status, body: { error: { code, message } } };
}

/** `(#1) Please reduce the amount of data you're asking for, then retry your request`, with HTTP 500. */
export function reduceData(): { status: number; body: unknown } {
  return minimalError(1, "Please reduce the amount of data you're asking for, then retry your request", 500);
}

/** Meta's answer for a Page window longer than it serves: code 1 with HTTP 400. */
export function pageRangeTooLong(): { status: number; body: unknown } {
  return minimalError(1, 'There cannot be more than 93 days (8035200 s) between since and until', 400);
}

/**
 * Meta's answer when the token lacks `pages_read_engagement` for a Page: `(#10) This endpoint
 * requires…` (400), `(#200) Permissions error` (403), or the same cause worded as a code 100 (400).
 */
export function pagePermissionMissing(code: 10 | 200 | 100): GraphErrorResponse {
  if (code === 200) return graphError(200, { message: '(#200) Permissions error', status: 403 });
  if (code === 10)
    return graphError(10, {
      message:
        "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature. Refer to https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages and https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS for details.",
    });
  return graphError(100, {
    message:
      "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable feature, or does not support this operation. This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature or the 'Page Public Metadata Access' feature. Refer to https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages, https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS and https://developers.facebook.com/docs/apps/review/feature#page-public-metadata-access for details.",
  });
}

/**
 * Meta's own HTML error page, which it serves instead of JSON when something broke on its side,
 * with HTTP 500 and sometimes with HTTP 200 (as SDKs and connectors reported it).
 */
export function facebookErrorPage(): string {
  return `<!DOCTYPE html>
<html lang="en" id="facebook">
  <head>
    <title>Facebook | Error</title>
    <meta charset="utf-8">
    <meta http-equiv="cache-control" content="no-cache">
    <meta name="robots" content="noindex,nofollow">
  </head>
  <body>
    <div id="header"><a href="//www.facebook.com/"><img id="icon" src="//static.facebook.com/images/logos/facebook_2x.png" /></a></div>
    <div id="core">
      <h1 id="sorry">Sorry, something went wrong.</h1>
      <p>We're working on it and we'll get it fixed as soon as we can.</p>
      <p id="back-link"><a id="back" href="//www.facebook.com/">Go Back</a></p>
      <div id="footer">Facebook <span id="copyright">&copy; 2026</span></div>
    </div>
  </body>
</html>
`;
}

/** `(#100) The value must be a valid insights metric`: one bad metric fails the whole request. */
export function invalidMetric(): GraphErrorResponse {
  return graphError(100, { message: '(#100) The value must be a valid insights metric' });
}

/**
 * Instagram's answer for a metric it no longer offers (one retired name fails the whole request):
 * Meta names the request's first refused metric by its index and lists the valid ones.
 */
export function instagramMetricRefused(index: number, valid: readonly string[]): GraphErrorResponse {
  return graphError(100, {
    message: `(#100) metric[${index}] must be one of the following values: ${valid.join(', ')}`,
  });
}

/**
 * A breakdown asked beside metrics that do not have it, where the sandbox is told to refuse that
 * (`separateBreakdowns`). The wording is the sandbox's: no source shows Meta's for this case.
 */
export function breakdownNotSupported(breakdown: string, metrics: readonly string[]): GraphErrorResponse {
  return graphError(100, {
    message: `(#100) The following metrics do not support the breakdown ${breakdown}: ${metrics.join(', ')}`,
  });
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
