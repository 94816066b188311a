import knex from 'knex';
import type { Context, Next } from 'koa';
import type { Logger } from '../boot/logger';

/** An error with an HTTP status and a stable code, safe to show to the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (code: string, message: string, details?: unknown) =>
  new HttpError(400, code, message, details);
export const unauthorized = (message = 'a valid `Authorization: Bearer <key>` header is required') =>
  new HttpError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (message = 'this key may only read; the route needs an admin key') =>
  new HttpError(403, 'forbidden', message);
export const notFound = (code: string, message: string) => new HttpError(404, code, message);
export const conflict = (code: string, message: string, details?: unknown) =>
  new HttpError(409, code, message, details);
export const tooManyRequests = (code: string, message: string, retryAfterSeconds: number) =>
  new HttpError(429, code, message, { retryAfterSeconds }, { 'Retry-After': String(retryAfterSeconds) });
export const methodNotAllowed = (method: string, path: string, allow: string) =>
  new HttpError(405, 'method_not_allowed', `${path} does not serve ${method}; it serves ${allow}`, undefined, {
    Allow: allow,
  });
export const serviceUnavailable = (code: string, message: string) => new HttpError(503, code, message);

/** What Koa and its body parser throw for a bad request: mapped to our codes. */
const KOA_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.too.large': { status: 413, code: 'payload_too_large', message: 'the JSON body is larger than 16 KB' },
  'entity.parse.failed': { status: 400, code: 'invalid_json', message: 'the body is not valid JSON' },
  'encoding.unsupported': { status: 415, code: 'unsupported_encoding', message: 'the body encoding is not supported' },
  'charset.unsupported': { status: 415, code: 'unsupported_encoding', message: 'the body charset is not supported' },
  'request.aborted': { status: 400, code: 'request_aborted', message: 'the request was aborted' },
  'request.size.invalid': {
    status: 400,
    code: 'invalid_body',
    message: 'the body length does not match Content-Length',
  },
  'stream.encoding.set': { status: 400, code: 'invalid_body', message: 'the body could not be read' },
};

/**
 * First in the chain: every error becomes `{ success: false, error: { code, message } }`.
 * Known errors keep their status and code; anything else is logged and masked as a 500. A
 * request no route answered goes to `onUnrouted` (404, 405 or an OPTIONS answer).
 */
export function errorMiddleware(
  logger: Logger,
  {
    before,
    onUnrouted,
    onResponse,
  }: {
    /** Runs first (headers every answer carries, CORS); true when it answered the request itself. */
    before?: (ctx: Context) => boolean;
    onUnrouted: (ctx: Context) => void;
    onResponse?: (ctx: Context, startedAt: number) => void;
  },
) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const startedAt = performance.now();
    try {
      // One layer for what every request passes through: each Koa layer costs a promise.
      if (!before?.(ctx)) await next();
      if (ctx.status === 404 && ctx.body === undefined) onUnrouted(ctx);
    } catch (err) {
      const known = toHttpError(err);
      if (!known) {
        logger.error({ err, method: ctx.method, path: ctx.path }, 'unhandled error');
      } else if (known.code === 'database_busy') {
        logger.warn({ method: ctx.method, path: ctx.path }, 'no database connection free within the acquire timeout');
      }
      const httpError =
        known ?? new HttpError(500, 'internal_error', 'something went wrong on our side; it has been logged');
      ctx.status = httpError.status;
      for (const [name, value] of Object.entries(httpError.headers)) ctx.set(name, value);
      ctx.body = {
        success: false,
        error: {
          code: httpError.code,
          message: httpError.message,
          ...(httpError.details !== undefined ? { details: httpError.details } : {}),
        },
      };
    }
    // Here every status is final, errors included: the one place to count and time the request.
    onResponse?.(ctx, startedAt);
  };
}

/** Seconds a caller is asked to wait when every pooled connection stayed busy for the acquire timeout. */
export const DATABASE_BUSY_RETRY_AFTER_S = 2;

function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  // Every connection of the pool stayed busy (or none could be opened) for the acquire timeout:
  // a load the caller can retry through, not a fault of ours to mask as a 500.
  if (err instanceof knex.KnexTimeoutError) {
    return new HttpError(
      503,
      'database_busy',
      'the database is busy; try again shortly',
      { retryAfterSeconds: DATABASE_BUSY_RETRY_AFTER_S },
      {
        'Retry-After': String(DATABASE_BUSY_RETRY_AFTER_S),
      },
    );
  }
  const e = err as {
    type?: string;
    status?: number;
    expose?: boolean;
    message?: string;
    headers?: Record<string, string>;
  };
  if (e?.type && KOA_ERRORS[e.type]) {
    const { status, code, message } = KOA_ERRORS[e.type];
    return new HttpError(status, code, message);
  }
  // Errors Koa raises itself (e.g. ctx.throw(405), allowedMethods) are exposed 4xx.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) {
    const code = e.status === 405 ? 'method_not_allowed' : 'bad_request';
    return new HttpError(e.status, code, e.message ?? 'bad request', undefined, e.headers ?? {});
  }
  return undefined;
}

export const clientNotFound = (id: string) => notFound('client_not_found', `no client with id ${id}`);
