import { createHash, timingSafeEqual } from 'node:crypto';
import coBody from 'co-body';
import type { Context, Middleware, Next } from 'koa';
import { z, ZodType } from 'zod';
import { badRequest, forbidden, HttpError, unauthorized } from './errors';

/** Who may call a route: anyone, a read key or an admin key, or an admin key only. */
export type Access = 'public' | 'read' | 'admin';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Checks bearer keys in constant time: every configured key is compared (as SHA-256 digests of
 * equal length), so timing tells nothing about which key, or how much of one, matched.
 */
export function createKeyChecker(readKeys: string[], adminKeys: string[]) {
  const read = readKeys.map(digest);
  const admin = adminKeys.map(digest);
  const matches = (candidate: Buffer, keys: Buffer[]) => keys.reduce((found, key) => timingSafeEqual(key, candidate) || found, false);
  return (presented: string | undefined): 'admin' | 'read' | undefined => {
    if (!presented) return undefined;
    const candidate = digest(presented);
    const isAdmin = matches(candidate, admin);
    const isRead = matches(candidate, read);
    return isAdmin ? 'admin' : isRead ? 'read' : undefined;
  };
}

export type KeyChecker = ReturnType<typeof createKeyChecker>;

/** 401 without a valid key, 403 when a read key calls an admin route. */
export function requireAccess(access: Access, check: KeyChecker): Middleware {
  return async (ctx: Context, next: Next) => {
    if (access !== 'public') {
      const header = ctx.get('authorization');
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const role = check(match?.[1]);
      if (!role) throw unauthorized(header ? 'the API key is not valid' : undefined);
      if (access === 'admin' && role !== 'admin') throw forbidden();
      ctx.state.role = role;
    }
    await next();
  };
}

/** Headers that keep browsers from sniffing, framing or leaking what the API answers. */
export function securityHeaders(): Middleware {
  return async (ctx, next) => {
    await next();
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
    if (!ctx.response.get('Content-Security-Policy')) ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  };
}

export const BODY_LIMIT = '16kb';

/** Reads a JSON body of at most 16 KB; any other content type is a 415. */
export async function readJsonBody(ctx: Context): Promise<unknown> {
  const length = Number(ctx.get('content-length') || 0);
  const chunked = /chunked/i.test(ctx.get('transfer-encoding'));
  if (!length && !chunked) return undefined;
  if (!ctx.is('application/json')) {
    throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json');
  }
  try {
    // Not strict: `null` or `5` parse, and then fail validation with a message saying what is expected.
    return await coBody.json(ctx.req, { limit: BODY_LIMIT, strict: false });
  } catch (err) {
    if (err instanceof SyntaxError) throw badRequest('invalid_json', `the body is not valid JSON: ${err.message}`);
    throw err;
  }
}

function describeIssues(error: z.ZodError, where: string) {
  const issues = error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  return { message: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues };
}

/** Reads and validates a JSON body in a handler that picks its schema itself. */
export async function parseBody<T extends ZodType>(ctx: Context, schema: T): Promise<z.output<T>> {
  const parsed = schema.safeParse(await readJsonBody(ctx));
  if (!parsed.success) {
    const { message, issues } = describeIssues(parsed.error, 'body');
    throw badRequest('validation_failed', message, issues);
  }
  return parsed.data;
}

export interface Schemas {
  query?: ZodType;
  params?: ZodType;
  body?: ZodType;
}

/**
 * Validates query, path parameters and JSON body against zod schemas; the parsed values land
 * in `ctx.state.query`, `ctx.state.params`, `ctx.state.body`. Any mismatch is a 400 listing
 * every problem.
 */
export function validate(schemas: Schemas): Middleware {
  return async (ctx: Context, next: Next) => {
    const parts: [keyof Schemas, unknown][] = [];
    if (schemas.params) parts.push(['params', (ctx as Context & { params?: unknown }).params ?? {}]);
    if (schemas.query) parts.push(['query', { ...ctx.query }]);
    if (schemas.body) parts.push(['body', await readJsonBody(ctx)]);
    for (const [where, value] of parts) {
      const parsed = schemas[where]!.safeParse(value);
      if (!parsed.success) {
        const { message, issues } = describeIssues(parsed.error, where);
        throw badRequest('validation_failed', message, issues);
      }
      ctx.state[where] = parsed.data;
    }
    await next();
  };
}
