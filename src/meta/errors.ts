/**
 * Meta's failures as a few named errors. Temporal sees each as an ApplicationFailure whose
 * `type` is the class name, and the refresh retry policy is written in those names.
 * Messages never contain an access token.
 */

export interface MetaErrorDetails {
  /** Meta's `error.code`, when Meta answered with an error body. */
  code?: number;
  subcode?: number;
  httpStatus?: number;
  fbtraceId?: string;
}

export abstract class MetaError extends Error {
  readonly code?: number;
  readonly subcode?: number;
  readonly httpStatus?: number;
  readonly fbtraceId?: string;

  constructor(message: string, details: MetaErrorDetails = {}) {
    super(message);
    this.name = new.target.name;
    this.code = details.code;
    this.subcode = details.subcode;
    this.httpStatus = details.httpStatus;
    this.fbtraceId = details.fbtraceId;
  }

  /** A short stable code for storage and the API: Meta's code when known, else the kind. */
  get errorCode(): string {
    return this.code !== undefined ? String(this.code) : this.name;
  }
}

/** Codes 4, 17, 32, 341, 613, 80001, 80002: stop calling; retry after Meta's estimate. */
export class MetaThrottledError extends MetaError {
  constructor(
    message: string,
    details: MetaErrorDetails & {
      /** From `estimated_time_to_regain_access` (minutes) when Meta gave one. */
      retryAfterMs?: number;
    } = {},
  ) {
    super(message, details);
    this.retryAfterMs = details.retryAfterMs;
  }
  readonly retryAfterMs?: number;
}

/** Codes 1, 2, 368, `is_transient: true`, HTTP 5xx, timeouts and network failures: retry with backoff. */
export class MetaTransientError extends MetaError {}

/** Code 190: the token expired or was invalidated. No retry; the client's token is marked invalid. */
export class MetaTokenInvalidError extends MetaError {}

/** Codes 10 and 200–299: a permission is missing. No retry; marked on the client. */
export class MetaPermissionError extends MetaError {}

/** Code 100 and other bad requests: no retry for that request. */
export class MetaBadRequestError extends MetaError {}

/**
 * The Graph sandbox does not know the token (a real client's, added while `npm start` runs in
 * demo mode). Raised only by a client built for the sandbox: the token is not judged, no
 * numbers are written, and nothing is retried.
 */
export class MetaSandboxUnknownTokenError extends MetaError {
  override get errorCode(): string {
    return 'sandbox_unknown_token';
  }
}
