import { hash, timingSafeEqual } from 'node:crypto';
import coBody from 'co-body';
import { LRUCache } from 'lru-cache';
import type { Context } from 'koa';
import { z, ZodType } from 'zod';
import { badRequest, forbidden, HttpError, methodNotAllowed, notFound, unauthorized } from './errors';

/** Who may call a route: anyone, a read key or an admin key, or an admin key only. */
export type Access = 'public' | 'read' | 'admin';

const digest = (text: string): Buffer => hash('sha256', text, 'buffer') as unknown as Buffer;

type Role = 'admin' | 'read';

/**
 * Checks keys in constant time: every configured key is compared (as SHA-256 digests of equal
 * length), so timing tells nothing about which key, or how much of one, matched. A Bearer header
 * that matched once is remembered as it was sent, so a dashboard's every read costs a map lookup
 * instead of a parse and a hash; only headers holding a configured key enter (a few per key).
 * The lookup compares hashes first, which tells an attacker nothing about a key they do not hold.
 */
export function createKeyChecker(readKeys: string[], adminKeys: string[]) {
  const read = readKeys.map(digest);
  const admin = adminKeys.map(digest);
  const matches = (candidate: Buffer, keys: Buffer[]) =>
    keys.reduce((found, key) => timingSafeEqual(key, candidate) || found, false);
  const check = (presented: string | undefined): Role | undefined => {
    if (!presented) return undefined;
    const candidate = digest(presented);
    const isAdmin = matches(candidate, admin);
    const isRead = matches(candidate, read);
    return isAdmin ? 'admin' : isRead ? 'read' : undefined;
  };
  const knownBearers = new Map<string, Role>();
  const limit = 4 * (read.length + admin.length);
  /** The role of the key an `Authorization` header presents; Basic credentials only when `allowBasic`. */
  return (header: string, allowBasic: boolean): Role | undefined => {
    const known = knownBearers.get(header);
    if (known) return known;
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (bearer) {
      const role = check(bearer[1]);
      if (role && knownBearers.size < limit) knownBearers.set(header, role);
      return role;
    }
    return allowBasic ? check(basicPassword(header)) : undefined;
  };
}

export type KeyChecker = ReturnType<typeof createKeyChecker>;

/**
 * The password of Basic credentials, which is what a browser's login prompt sends for an HTML
 * page. JSON routes never take Basic: a browser that logged into a page would otherwise carry
 * the key into cross-site requests.
 */
function basicPassword(header: string): string | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/**
 * 401 without a valid key, 403 when a read key calls an admin route; sets `ctx.state.role`.
 * `browserLogin` routes (HTML pages) ask the browser for the key with a Basic-auth prompt.
 */
export function createAuthorizer(
  access: Access,
  check: KeyChecker,
  { browserLogin = false } = {},
): (ctx: Context) => void {
  return (ctx) => {
    if (access === 'public') return;
    const header = ctx.get('authorization');
    const role = check(header, browserLogin);
    if (!role) {
      const error = unauthorized(
        !header
          ? undefined
          : /^Bearer\s/i.test(header) || browserLogin
            ? 'the API key is not valid'
            : 'send the key as `Authorization: Bearer <key>`',
      );
      if (browserLogin)
        error.headers['WWW-Authenticate'] =
          'Basic realm="social-media-cache (password: an admin key)", charset="UTF-8"';
      throw error;
    }
    if (access === 'admin' && role !== 'admin') throw forbidden();
    ctx.state.role = role;
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
 * every problem. Synchronous unless there is a body to read.
 */
export function createValidator(schemas: Schemas): (ctx: Context) => void | Promise<void> {
  const check = (ctx: Context, where: keyof Schemas, value: unknown) => {
    const parsed = schemas[where]!.safeParse(value);
    if (!parsed.success) {
      const { message, issues } = describeIssues(parsed.error, where);
      throw badRequest('validation_failed', message, issues);
    }
    ctx.state[where] = parsed.data;
  };
  const parsedQueries = schemas.query && !schemas.params && !schemas.body ? createParsedQueries() : undefined;
  const checkParamsAndQuery = (ctx: Context) => {
    if (parsedQueries) {
      const known = parsedQueries.get(ctx.querystring);
      if (known) {
        ctx.state.query = known;
        return;
      }
    }
    if (schemas.params) check(ctx, 'params', (ctx as Context & { params?: unknown }).params ?? {});
    if (schemas.query) check(ctx, 'query', { ...ctx.query });
    if (parsedQueries) parsedQueries.keep(ctx.querystring, ctx.state.query as Record<string, unknown>);
  };
  if (!schemas.body) return checkParamsAndQuery;
  return async (ctx) => {
    checkParamsAndQuery(ctx);
    check(ctx, 'body', await readJsonBody(ctx));
  };
}

/** Longest query string whose parse is kept: a dashboard's reads are well under it. */
const MAX_KEPT_QUERY = 256;

/**
 * Parsed queries, kept (frozen) because parsing is a pure function of the query string and
 * dashboards repeat the same URLs. Only a query string that is exactly the canonical spelling of
 * what it parsed to is kept, so what the cache holds is bounded by the parsed values (ids, days),
 * never by what a caller pads a query with (`&&&…`, repeated or reordered fields, upper case):
 * every other spelling is parsed each time. Capped by entries and by bytes, oldest out first.
 */
function createParsedQueries() {
  const kept = new LRUCache<string, Readonly<Record<string, unknown>>>({
    max: 10_000,
    maxSize: 4 * 1024 * 1024,
    // Two bytes a character, and about as much again for the frozen object.
    sizeCalculation: (_value, key) => 4 * key.length + 64,
  });
  return {
    get: (querystring: string) => kept.get(querystring),
    keep(querystring: string, parsed: Record<string, unknown>): void {
      if (querystring.length > MAX_KEPT_QUERY) return;
      const canonical = new URLSearchParams(
        Object.entries(parsed).map(([name, value]): [string, string] => [name, String(value)]),
      ).toString();
      if (canonical === querystring) kept.set(querystring, Object.freeze(parsed));
    },
  };
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};

/**
 * Headers every answer carries: ones that keep browsers from sniffing or framing what the API
 * answers (the CSP's frame-ancestors does X-Frame-Options' job; set first, so a route that
 * serves HTML can replace the CSP), and CORS for the origins in CORS_ORIGINS only — requests
 * without an Origin header (servers, curl, the same origin) pass straight through. Answers a
 * preflight from an allowed origin itself, and then returns true.
 */
export function responseHeaders({ corsOrigins }: { corsOrigins: string[] }): (ctx: Context) => boolean {
  const allowed = new Set(corsOrigins);
  return (ctx) => {
    ctx.set(SECURITY_HEADERS);
    const origin = ctx.get('Origin');
    if (!origin) return false;
    ctx.vary('Origin');
    if (!allowed.has(origin)) return false;
    ctx.set('Access-Control-Allow-Origin', origin);
    if (ctx.method === 'OPTIONS' && ctx.get('Access-Control-Request-Method')) {
      ctx.set({
        'Access-Control-Allow-Methods': 'GET, HEAD, POST, PATCH, DELETE, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-None-Match',
        'Access-Control-Max-Age': '600',
      });
      ctx.status = 204;
      return true;
    }
    ctx.set('Access-Control-Expose-Headers', 'ETag, Age, Retry-After');
    return false;
  };
}

/**
 * The answer to a request no route served: on a known path, `OPTIONS` is a `204` with `Allow`
 * and any other method, standard or not (TRACE, PROPFIND, …), a `405` with `Allow` — never a
 * 5xx, since a method is the caller's choice, not our failure. An unknown path is a `404`.
 */
export function answerUnrouted(ctx: Context): void {
  const layers = (ctx as Context & { matched?: { methods: string[] }[] }).matched ?? [];
  const allowed = [...new Set(layers.flatMap((layer) => layer.methods))];
  if (!allowed.length) throw notFound('not_found', `no route for ${ctx.method} ${ctx.path}`);
  const allow = [...allowed, 'OPTIONS'].join(', ');
  if (ctx.method !== 'OPTIONS') throw methodNotAllowed(ctx.method, ctx.path, allow);
  ctx.set('Allow', allow);
  ctx.status = 204;
}
