import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../src/boot/logger';
import { classifyMetaError, isReduceDataError } from '../../src/meta/classify';
import {
  MetaBadRequestError,
  MetaError,
  MetaPermissionError,
  MetaThrottledError,
  MetaTokenInvalidError,
  MetaTransientError,
} from '../../src/meta/errors';
import { GraphCalls } from '../../src/meta/graph';
import { emptyUsage, mergeUsage, parseUsageHeaders, retryAfterMsFromUsage } from '../../src/meta/usage';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'meta');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const CALL = 'GET /v24.0/123/insights';

/** Meta's error body for a code, as the sandbox and Meta shape it. */
const body = (error: Record<string, unknown>) => ({
  error: { type: 'OAuthException', fbtrace_id: 'AbCdEf123', ...error },
});

describe("classifying Meta's error bodies", () => {
  const table: [string, number, Record<string, unknown>, new (...args: never[]) => MetaError][] = [
    ['code 1 at HTTP 500 (unknown error)', 500, { code: 1, message: 'An unknown error occurred' }, MetaTransientError],
    [
      'code 1 at HTTP 400 (a window over 93 days)',
      400,
      { code: 1, message: 'There cannot be more than 93 days' },
      MetaBadRequestError,
    ],
    ['code 1 at HTTP 400 with is_transient true', 400, { code: 1, is_transient: true }, MetaTransientError],
    ['code 2 (service error)', 500, { code: 2, is_transient: true }, MetaTransientError],
    ['code 4 (app throttled)', 400, { code: 4, is_transient: true }, MetaThrottledError],
    ['code 4 sent with HTTP 403', 403, { code: 4, is_transient: true }, MetaThrottledError],
    ['code 10 (permission)', 400, { code: 10 }, MetaPermissionError],
    ['code 17 (user throttled)', 400, { code: 17 }, MetaThrottledError],
    ['code 32 (Page throttled, user token)', 400, { code: 32 }, MetaThrottledError],
    ['code 100 (invalid parameter)', 400, { code: 100 }, MetaBadRequestError],
    ['code 100/33 (object missing)', 400, { code: 100, error_subcode: 33 }, MetaBadRequestError],
    ['code 100/2108006 (before business conversion)', 400, { code: 100, error_subcode: 2108006 }, MetaBadRequestError],
    ['code 190/463 (token expired)', 400, { code: 190, error_subcode: 463 }, MetaTokenInvalidError],
    ['code 190/460 (password changed)', 400, { code: 190, error_subcode: 460 }, MetaTokenInvalidError],
    ['code 200 at HTTP 403 (permission)', 403, { code: 200 }, MetaPermissionError],
    ['code 250 (permission range)', 400, { code: 250 }, MetaPermissionError],
    ['code 299 (permission range)', 400, { code: 299 }, MetaPermissionError],
    ['code 341 (application limit)', 400, { code: 341, is_transient: true }, MetaThrottledError],
    ['code 368 (temporarily blocked)', 400, { code: 368 }, MetaTransientError],
    ['code 613 (API rate limit)', 400, { code: 613 }, MetaThrottledError],
    ['code 80001 (Page BUC), marked transient', 400, { code: 80001, is_transient: true }, MetaThrottledError],
    ['code 80002 (Instagram BUC)', 400, { code: 80002 }, MetaThrottledError],
    ['an unlisted code with is_transient true', 400, { code: 9007, is_transient: true }, MetaTransientError],
    ['an unlisted code', 400, { code: 12345 }, MetaBadRequestError],
  ];

  it.each(table)('turns %s into the matching error', (_title, httpStatus, error, expected) => {
    const classified = classifyMetaError({ httpStatus, body: body(error), call: CALL });
    expect(classified).toBeInstanceOf(expected);
    expect(classified).toMatchObject({
      code: error.code,
      subcode: error.error_subcode,
      httpStatus,
      fbtraceId: 'AbCdEf123',
    });
    expect(classified.message).toContain(`Meta ${CALL} answered HTTP ${httpStatus} code ${String(error.code)}`);
  });

  it.each([502, 503, 500])('turns an HTTP %i without a Graph body into a transient error', (httpStatus) => {
    expect(classifyMetaError({ httpStatus, body: undefined, call: CALL })).toBeInstanceOf(MetaTransientError);
  });

  it("reads Meta's reduce-the-data body (code 1, HTTP 500) as transient and tells it apart", () => {
    const reduce = classifyMetaError({
      httpStatus: 500,
      body: JSON.parse(fixture('error-reduce-data.json')),
      call: CALL,
    });
    expect(reduce).toBeInstanceOf(MetaTransientError);
    expect(reduce.code).toBe(1);
    expect(isReduceDataError(reduce)).toBe(true);

    const unknown = classifyMetaError({
      httpStatus: 500,
      body: body({ code: 1, message: 'An unknown error occurred' }),
    });
    expect(isReduceDataError(unknown)).toBe(false);
    const tooLong = classifyMetaError({ httpStatus: 400, body: JSON.parse(fixture('error-code1-bad-request.json')) });
    expect(tooLong).toBeInstanceOf(MetaBadRequestError);
    expect(isReduceDataError(tooLong)).toBe(false);
    // Only Meta's code 1 says so: the same words under another code, or no error at all, do not.
    const otherCode = classifyMetaError({
      httpStatus: 500,
      body: body({ code: 2, message: "Please reduce the amount of data you're asking for, then retry your request" }),
    });
    expect(isReduceDataError(otherCode)).toBe(false);
    expect(isReduceDataError(undefined)).toBe(false);
    expect(isReduceDataError({ code: 1, message: "Please reduce the amount of data you're asking for" })).toBe(false);
  });
});

describe("Meta's HTML error page", () => {
  const html = fixture('error-html.html');

  /** One Graph call whose answer is Meta's HTML page with `status`. */
  const callAnswering = async (status: number) => {
    const calls = new GraphCalls(
      'https://graph.facebook.com/v24.0',
      {
        graphVersion: 'v24.0',
        timeoutMs: 5_000,
        logger: createLogger('silent'),
        fetch: (async () =>
          new Response(html, { status, headers: { 'content-type': 'text/html; charset=utf-8' } })) as typeof fetch,
      },
      'EAA-token',
    );
    return calls.get('123/insights', { metric: 'page_daily_follows_unique' }).then(
      () => undefined,
      (err: unknown) => err as MetaError,
    );
  };

  it.each([200, 500])(
    'is a transient error named by its call and status, without its HTML, at HTTP %i',
    async (status) => {
      const error = await callAnswering(status);
      expect(error).toBeInstanceOf(MetaTransientError);
      expect(error?.message).toBe(`Meta GET /v24.0/123/insights answered HTTP ${status} with an HTML error page`);
      expect(error?.message).not.toMatch(/<|Sorry|something went wrong|Facebook \| Error/);
      expect(error?.stack).not.toContain('Sorry, something went wrong');
      expect(error?.httpStatus).toBe(status);
      expect(error?.code).toBeUndefined();
    },
  );
});

describe("Meta's X-Page-Usage header", () => {
  const headers = JSON.parse(fixture('page-usage-headers.json')) as Record<string, string>;

  it("reads a user token's Page usage as a percentage, counted in the largest one", () => {
    const usage = parseUsageHeaders(new Headers(headers));
    expect(usage).toEqual({
      business: {},
      page: { percent: 85, estimatedTimeToRegainAccessMinutes: 0 },
      maxPercent: 85,
    });
    expect(retryAfterMsFromUsage(usage)).toBeUndefined();
  });

  it("waits Meta's estimate when the Page usage header gives one", () => {
    const usage = parseUsageHeaders(
      new Headers({
        'X-Page-Usage': JSON.stringify({
          call_count: 100,
          total_cputime: 20,
          total_time: 30,
          estimated_time_to_regain_access: 45,
        }),
      }),
    );
    expect(usage.page).toEqual({ percent: 100, estimatedTimeToRegainAccessMinutes: 45 });
    expect(retryAfterMsFromUsage(usage)).toBe(45 * 60_000);
    const throttled = classifyMetaError({ httpStatus: 400, body: body({ code: 32 }), usage });
    expect(throttled).toBeInstanceOf(MetaThrottledError);
    expect((throttled as MetaThrottledError).retryAfterMs).toBe(45 * 60_000);
  });

  it('keeps the newer Page usage when folding responses, and the older one when the newer has none', () => {
    const first = parseUsageHeaders(new Headers({ 'X-Page-Usage': '{"call_count":40,"total_time":10}' }));
    const second = parseUsageHeaders(new Headers(headers));
    const noPage = parseUsageHeaders(new Headers({ 'X-App-Usage': '{"call_count":5}' }));
    expect(mergeUsage(mergeUsage(emptyUsage(), first), second).page).toEqual({
      percent: 85,
      estimatedTimeToRegainAccessMinutes: 0,
    });
    const kept = mergeUsage(second, noPage);
    expect(kept.page?.percent).toBe(85);
    expect(kept).toMatchObject({ appPercent: 5, maxPercent: 85 });
  });

  it('adds nothing when the header is absent or unreadable', () => {
    expect(parseUsageHeaders(new Headers({ 'X-Page-Usage': 'not json' }))).toEqual(emptyUsage());
    expect(parseUsageHeaders(new Headers())).toEqual(emptyUsage());
  });
});
