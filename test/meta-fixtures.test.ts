import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../src/boot/logger';
import { fetchInsights } from './helpers/fetch-insights';
import { createMetaClient } from '../src/meta/client';
import { MetaThrottledError, MetaTokenInvalidError } from '../src/meta/errors';
import { parseUsageHeaders } from '../src/meta/usage';
import { startGraphSandbox, type RunningGraphSandbox } from '../src/dev/meta-sandbox';

/**
 * Meta's own JSON, copied from Meta's documented answers into test/fixtures/meta, read by the client,
 * and compared with the sandbox's answers: if either drifts away from Meta, this file fails.
 */

const FIXTURES = path.join(__dirname, 'fixtures', 'meta');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const json = (name: string): unknown => JSON.parse(fixture(name));
const usageHeaders = json('usage-headers.json') as Record<string, string>;

const TOKEN = 'EAA-fixture-token-0123456789';

interface Reply {
  status?: number;
  body: string;
  headers?: Record<string, string>;
}

/** A client whose fetch answers from fixtures, chosen by the request, as Meta would. */
function clientAnswering(route: (url: URL) => Reply) {
  const requests: URL[] = [];
  const fakeFetch = (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    requests.push(url);
    const reply = route(url);
    return new Response(reply.body, {
      status: reply.status ?? 200,
      headers: { 'content-type': 'application/json; charset=UTF-8', ...reply.headers },
    });
  }) as typeof fetch;
  const client = createMetaClient({
    graphUrl: 'https://graph.facebook.com',
    graphVersion: 'v24.0',
    timeoutMs: 5_000,
    logger: createLogger('silent'),
    fetch: fakeFetch,
    // The fixtures' day is 2026-01-01: the client reads them as Meta's answers of the next day.
    now: () => Date.parse('2026-01-02T12:00:00Z'),
  });
  return { client, requests };
}

const input = {
  accessToken: TOKEN,
  facebookPageId: '{page-id}',
  instagramAccountId: '{ig-user-id}',
  days: ['2026-01-01'],
  timezone: 'America/Los_Angeles',
};

/** The structure of a JSON value: keys and value types, arrays by their first element. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shape(inner)]));
  }
  return typeof value;
}

describe("Meta's JSON read by the client", () => {
  it('reads the four numbers from the Page, Instagram user and Instagram insights bodies', async () => {
    const { client, requests } = clientAnswering((url) => {
      if (decodeURIComponent(url.pathname).endsWith('/{page-id}/insights'))
        return { body: fixture('page-insights.json'), headers: usageHeaders };
      if (decodeURIComponent(url.pathname).endsWith('/{ig-user-id}/insights'))
        return { body: fixture('instagram-insights.json') };
      return { body: fixture('instagram-user.json') };
    });

    const result = await fetchInsights(client, input);

    expect(result.instagramFollowers).toEqual({ value: 1520 });
    expect(result.days).toEqual([
      {
        day: '2026-01-01',
        facebookNewFollowers: { value: 3 },
        instagramReach: { value: 224 },
        instagramProfileViews: { value: 41 },
      },
    ]);
    expect(result.calls).toBe(3);
    expect(requests.map((url) => url.pathname)).toEqual([
      '/v24.0/%7Bpage-id%7D/insights',
      '/v24.0/%7Big-user-id%7D',
      '/v24.0/%7Big-user-id%7D/insights',
    ]);
    expect(Object.fromEntries(requests[0].searchParams)).toEqual({
      metric: 'page_daily_follows_unique',
      period: 'day',
      since: '2026-01-01',
      until: '2026-01-02',
      access_token: TOKEN,
    });
    expect(Object.fromEntries(requests[2].searchParams)).toEqual({
      metric: 'reach,profile_views',
      period: 'day',
      metric_type: 'total_value',
      since: '1767254400',
      until: '1767340800',
      access_token: TOKEN,
    });
  });

  it("reads Meta's usage headers into percentages", () => {
    const usage = parseUsageHeaders(new Headers(usageHeaders));
    expect(usage).toEqual({
      appPercent: 28,
      business: { '<object-id>': { type: 'pages', percent: 97, estimatedTimeToRegainAccessMinutes: 0 } },
      maxPercent: 97,
    });
  });

  it("turns Meta's expired-token body into a token-invalid error with its subcode and trace id", async () => {
    const { client } = clientAnswering(() => ({ status: 400, body: fixture('error-token-expired.json') }));
    const error = await fetchInsights(client, input).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MetaTokenInvalidError);
    expect(error).toMatchObject({ code: 190, subcode: 463, httpStatus: 400, fbtraceId: 'AbCdEf123', errorCode: '190' });
  });

  it("turns Meta's Page throttling body into a throttled error with the header's estimate", async () => {
    const throttledHeaders = {
      'X-Business-Use-Case-Usage': JSON.stringify({
        '{page-id}': [
          { type: 'pages', call_count: 103, total_cputime: 23, total_time: 23, estimated_time_to_regain_access: 7 },
        ],
      }),
    };
    const { client } = clientAnswering(() => ({
      status: 400,
      body: fixture('error-page-throttled.json'),
      headers: throttledHeaders,
    }));
    const error = await fetchInsights(client, input).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MetaThrottledError);
    expect(error).toMatchObject({ code: 80001, httpStatus: 400, retryAfterMs: 7 * 60_000 });
  });

  it("keeps reach when Meta's invalid-metric body refuses profile_views", async () => {
    const { client, requests } = clientAnswering((url) => {
      const metric = url.searchParams.get('metric');
      if (decodeURIComponent(url.pathname).endsWith('/{page-id}/insights'))
        return { body: fixture('page-insights.json') };
      if (!decodeURIComponent(url.pathname).endsWith('/insights')) return { body: fixture('instagram-user.json') };
      if (metric === 'reach') return { body: fixture('instagram-insights.json') };
      return { status: 400, body: fixture('error-invalid-metric.json') };
    });

    const result = await fetchInsights(client, input);

    expect(result.days[0]).toEqual({
      day: '2026-01-01',
      facebookNewFollowers: { value: 3 },
      instagramReach: { value: 224 },
      instagramProfileViews: { value: null, reason: 'metric_unsupported' },
    });
    expect(requests.slice(2).map((url) => url.searchParams.get('metric'))).toEqual([
      'reach,profile_views',
      'reach',
      'profile_views',
    ]);
  });
});

describe("Meta's Instagram refusals read by the client, each platform on its own", () => {
  /** Meta answers the Page; the Instagram account answers `error` (its status, and BUC headers when given). */
  const refusingInstagram = (error: Reply) =>
    clientAnswering((url) =>
      decodeURIComponent(url.pathname).endsWith('/{page-id}/insights')
        ? { body: fixture('page-insights.json') }
        : error,
    );
  const unavailable = (reason: string) => ({ value: null, reason });

  it.each([
    ['error-instagram-permission.json', 400, 'permission_missing', 'instagram_permission_missing'],
    ['error-instagram-permission-200.json', 403, 'permission_missing', 'instagram_permission_missing'],
    ['error-instagram-not-linked.json', 400, 'not_linked', 'instagram_not_linked'],
  ])(
    'reads %s as Instagram numbers unavailable, with the Facebook numbers kept',
    async (file, status, state, reason) => {
      const { client, requests } = refusingInstagram({ status, body: fixture(file) });
      const result = await client.fetchPlatforms(input);
      expect(result.facebook).toEqual({
        status: 'fetched',
        data: { state: 'ok', days: { '2026-01-01': { facebookNewFollowers: { value: 3 } } } },
      });
      expect(result.instagram).toEqual({
        status: 'fetched',
        data: {
          state,
          followers: unavailable(reason),
          days: { '2026-01-01': { instagramReach: unavailable(reason), instagramProfileViews: unavailable(reason) } },
        },
      });
      expect(requests).toHaveLength(2);
    },
  );

  it("reads Meta's Instagram throttling body as a throttle of Instagram alone, with the header's estimate", async () => {
    const headers = {
      'X-Business-Use-Case-Usage': JSON.stringify({
        '{ig-user-id}': [
          { type: 'instagram', call_count: 100, total_cputime: 12, total_time: 14, estimated_time_to_regain_access: 5 },
        ],
      }),
    };
    const { client } = refusingInstagram({ status: 400, body: fixture('error-instagram-throttled.json'), headers });
    const result = await client.fetchPlatforms(input);
    expect(result.facebook.status).toBe('fetched');
    expect(result.instagram.status).toBe('failed');
    const error = (result.instagram as { error: unknown }).error;
    expect(error).toBeInstanceOf(MetaThrottledError);
    expect(error).toMatchObject({ code: 80002, retryAfterMs: 5 * 60_000 });
  });
});

describe("the sandbox's JSON compared with Meta's", () => {
  let sandbox: RunningGraphSandbox;
  const pageId = '104000000000777';
  const igId = '17841400000000777';

  beforeAll(async () => {
    sandbox = await startGraphSandbox({ now: () => Date.parse('2026-11-25T12:00:00Z') });
    sandbox.control.setToken({ token: TOKEN });
    sandbox.control.setToken({ token: 'expired-fixture-token', status: 'expired' });
  });
  afterAll(() => sandbox.close());

  const get = async (pathAndQuery: string, token = TOKEN) => {
    const response = await fetch(`${sandbox.url}/v24.0/${pathAndQuery}&access_token=${token}`);
    return { response, body: (await response.json()) as unknown };
  };

  it('answers Page insights in the shape of the fixture, with the same usage headers', async () => {
    const { response, body } = await get(
      `${pageId}/insights?metric=page_daily_follows_unique&period=day&since=2026-01-01&until=2026-01-03`,
    );
    expect(shape(body)).toEqual(shape(json('page-insights.json')));
    expect(shape(JSON.parse(response.headers.get('x-app-usage') ?? 'null'))).toEqual(
      shape(JSON.parse(usageHeaders['X-App-Usage'])),
    );
    const buc = JSON.parse(response.headers.get('x-business-use-case-usage') ?? 'null') as Record<string, unknown>;
    expect(Object.keys(buc)).toEqual([pageId]);
    expect(shape(buc[pageId])).toEqual(
      shape(Object.values(JSON.parse(usageHeaders['X-Business-Use-Case-Usage']) as object)[0]),
    );
  });

  it('answers Instagram total_value insights and the followers count in the shapes of the fixtures', async () => {
    const insights = await get(
      `${igId}/insights?metric=reach,profile_views&period=day&metric_type=total_value&since=1795132800&until=1795219200`,
    );
    expect(shape(insights.body)).toEqual(shape(json('instagram-insights.json')));
    const user = await get(`${igId}?fields=followers_count`);
    expect(shape(user.body)).toEqual(shape(json('instagram-user.json')));
  });

  it('answers an expired token, an invalid metric and a spent Page quota with the error bodies of the fixtures', async () => {
    const expired = await get(`${pageId}?fields=name`, 'expired-fixture-token');
    expect(expired.response.status).toBe(400);
    expect(shape(expired.body)).toEqual(shape(json('error-token-expired.json')));

    const invalid = await get(`${igId}/insights?metric=impressions&period=day&metric_type=total_value`);
    expect(invalid.response.status).toBe(400);
    expect(shape(invalid.body)).toEqual(shape(json('error-invalid-metric.json')));
    expect(invalid.body).toMatchObject({
      error: { code: 100, message: '(#100) The value must be a valid insights metric' },
    });

    sandbox.control.setQuota({ objectId: pageId, calls: 1, used: 1 });
    const throttled = await get(
      `${pageId}/insights?metric=page_daily_follows_unique&period=day&since=2026-01-01&until=2026-01-02`,
    );
    expect(throttled.response.status).toBe(400);
    expect(shape(throttled.body)).toEqual(shape(json('error-page-throttled.json')));
    expect((throttled.body as { error: { message: string } }).error.message).toContain(
      'There have been too many calls to this Page account. Wait a bit and try again.',
    );
  });

  it('answers an Instagram permission, an unlinked account and an Instagram throttle with the error bodies of the fixtures', async () => {
    const cases = [
      [{ mode: 'permission_missing', code: 10 }, 400, 'error-instagram-permission.json'],
      [{ mode: 'permission_missing', code: 200 }, 403, 'error-instagram-permission-200.json'],
      [{ mode: 'not_linked' }, 400, 'error-instagram-not-linked.json'],
      [{ mode: 'throttled', estimatedTimeToRegainAccess: 5 }, 400, 'error-instagram-throttled.json'],
    ] as const;
    for (const [mode, status, file] of cases) {
      sandbox.control.setInstagramMode({ igId, ...mode });
      const answer = await get(`${igId}?fields=followers_count`);
      expect(answer.response.status).toBe(status);
      expect(shape(answer.body)).toEqual(shape(json(file)));
      const expected = (json(file) as { error: { message: string; type: string; code: number } }).error;
      expect(answer.body).toMatchObject({ error: { type: expected.type, code: expected.code } });
      if (mode.mode !== 'not_linked')
        expect((answer.body as { error: { message: string } }).error.message).toContain(expected.message);
      if (mode.mode === 'not_linked')
        expect((answer.body as { error: { message: string } }).error.message).toContain(
          `Object with ID '${igId}' does not exist`,
        );
      if (mode.mode === 'throttled') {
        const buc = JSON.parse(answer.response.headers.get('x-business-use-case-usage') ?? 'null') as Record<
          string,
          [{ type: string; estimated_time_to_regain_access: number }]
        >;
        expect(buc[igId][0]).toMatchObject({ type: 'instagram', estimated_time_to_regain_access: 5 });
      }
      // The Page still answers (another Page: the test above spent this one's quota).
      expect(
        (
          await get(
            `104000000000778/insights?metric=page_daily_follows_unique&period=day&since=2026-01-01&until=2026-01-02`,
          )
        ).response.status,
      ).toBe(200);
    }
    sandbox.control.setInstagramMode({ igId, mode: 'ok' });
    expect((await get(`${igId}?fields=followers_count`)).response.status).toBe(200);
  });
});

describe("the sandbox's answers to more of Meta's cases compared with the fixtures", () => {
  let sandbox: RunningGraphSandbox;
  const pageId = '104000000000888';
  const igId = '17841400000000888';
  const pageWindow = `${pageId}/insights?metric=page_daily_follows_unique&period=day&since=2026-11-20&until=2026-11-21`;
  // 2026-11-20 in America/Los_Angeles (UTC-8).
  const igDay = `${igId}/insights?metric=reach,profile_views&period=day&metric_type=total_value&since=1795161600&until=1795248000`;

  beforeAll(async () => {
    sandbox = await startGraphSandbox({ now: () => Date.parse('2026-11-25T12:00:00Z') });
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.control.reset();
    sandbox.control.setToken({ token: TOKEN });
  });

  const get = async (pathAndQuery: string) => {
    const response = await fetch(`${sandbox.url}/v24.0/${pathAndQuery}&access_token=${TOKEN}`);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Meta's HTML error page
    }
    return { response, body };
  };
  const message = (body: unknown) => (body as { error: { message: string } }).error.message;
  const fixtureMessage = (file: string) => message(json(file));

  it.each([
    [10, 400, 'error-page-permission-10.json'],
    [200, 403, 'error-instagram-permission-200.json'],
    [100, 400, 'error-page-permission-100.json'],
  ] as const)(
    'answers a Page without its permission as code %i with HTTP %i, in the shape and words of %s',
    async (code, status, file) => {
      sandbox.control.setPageMode({ pageId, mode: 'permission_missing', code });
      const { response, body } = await get(pageWindow);
      expect(response.status).toBe(status);
      expect(shape(body)).toEqual(shape(json(file)));
      expect(message(body)).toContain(fixtureMessage(file).replace(/…$/, ''));
    },
  );

  it('answers a Page that is gone, an app throttle and a long Page throttle with the fixtures’ bodies and header', async () => {
    sandbox.control.setPageMode({ pageId, mode: 'not_accessible', times: 1 });
    const gone = await get(pageWindow);
    expect(gone.response.status).toBe(400);
    expect(shape(gone.body)).toEqual(shape(json('error-page-not-accessible.json')));
    expect(message(gone.body)).toBe(fixtureMessage('error-page-not-accessible.json').replace('{page-id}', pageId));

    sandbox.control.setPageMode({ pageId, mode: 'throttled', estimatedTimeToRegainAccess: 240, times: 1 });
    const throttled = await get(pageWindow);
    expect(throttled.response.status).toBe(400);
    expect(shape(throttled.body)).toEqual(shape(json('error-page-throttled.json')));
    const expectedHeader = JSON.parse(
      (json('page-throttled-long-headers.json') as Record<string, string>)['X-Business-Use-Case-Usage'],
    ) as Record<string, [Record<string, unknown>]>;
    const header = JSON.parse(throttled.response.headers.get('x-business-use-case-usage') ?? 'null') as Record<
      string,
      [Record<string, unknown>]
    >;
    expect(shape(header[pageId])).toEqual(shape(expectedHeader['{page-id}']));
    expect(header[pageId][0]).toMatchObject({ type: 'pages', estimated_time_to_regain_access: 240 });

    sandbox.control.setQuota({ calls: 1, used: 1 });
    const app = await get(pageWindow);
    expect(app.response.status).toBe(400);
    expect(shape(app.body)).toEqual(shape(json('error-app-throttled.json')));
    expect(app.body).toMatchObject({
      error: { code: 4, is_transient: true, message: fixtureMessage('error-app-throttled.json') },
    });
  });

  it('answers a day before the business conversion with the fixture’s body, keys in its order', async () => {
    sandbox.control.inject({
      objectId: igId,
      days: ['2026-11-20'],
      timezone: 'America/Los_Angeles',
      code: 100,
      subcode: 2108006,
    });
    const { response, body } = await get(igDay);
    expect(response.status).toBe(400);
    const expected = (json('error-before-business-conversion.json') as { error: Record<string, unknown> }).error;
    expect(shape(body)).toEqual(shape(json('error-before-business-conversion.json')));
    const error = (body as { error: Record<string, unknown> }).error;
    expect(Object.keys(error)).toEqual(Object.keys(expected));
    const { fbtrace_id: _trace, ...rest } = expected;
    expect(error).toMatchObject(rest);
  });

  it("answers Meta's range, retired-metric and lost-role refusals in the fixtures' shapes", async () => {
    const igRange = await get(
      `${igId}/insights?metric=reach&period=day&metric_type=total_value&since=1792569600&until=1795248000`,
    );
    expect(igRange.response.status).toBe(400);
    expect(shape(igRange.body)).toEqual(shape(json('error-instagram-range-too-long.json')));
    expect(message(igRange.body)).toBe(fixtureMessage('error-instagram-range-too-long.json'));

    const pageRange = await get(
      `${pageId}/insights?metric=page_daily_follows_unique&period=day&since=2026-08-01&until=2026-11-05`,
    );
    expect(pageRange.response.status).toBe(400);
    expect(pageRange.body).toEqual(json('error-code1-bad-request.json'));

    sandbox.control.inject({
      objectId: igId,
      code: 100,
      message: fixtureMessage('error-metric-retired-list.json'),
      times: 1,
    });
    const retired = await get(igDay);
    expect(retired.response.status).toBe(400);
    expect(shape(retired.body)).toEqual(shape(json('error-metric-retired-list.json')));

    sandbox.control.inject({
      objectId: pageId,
      code: 190,
      message: fixtureMessage('error-lost-page-role.json'),
      times: 1,
    });
    const lostRole = await get(pageWindow);
    expect(lostRole.response.status).toBe(400);
    expect(shape(lostRole.body)).toEqual(shape(json('error-lost-page-role.json')));
    expect(message(lostRole.body)).toBe(fixtureMessage('error-lost-page-role.json'));
  });

  it("answers a Page window above the set length with the fixture's reduce-the-data body", async () => {
    sandbox.control.configure({ reduceDataAboveDays: 30 });
    const { response, body } = await get(
      `${pageId}/insights?metric=page_daily_follows_unique&period=day&since=2026-09-01&until=2026-11-01`,
    );
    expect(response.status).toBe(500);
    expect(body).toEqual(json('error-reduce-data.json'));
  });

  it("serves Meta's HTML error page with the fixture's title and words", async () => {
    const html = fixture('error-html.html');
    for (const httpStatus of [500, 200]) {
      sandbox.control.inject({ objectId: pageId, html: true, httpStatus, times: 1 });
      const { response, body } = await get(pageWindow);
      expect(response.status).toBe(httpStatus);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      for (const line of ['<title>Facebook | Error</title>', '<h1 id="sorry">Sorry, something went wrong.</h1>']) {
        expect(html).toContain(line);
        expect(body).toContain(line);
      }
    }
  });

  it("sends X-Page-Usage in the fixture's shape when set", async () => {
    sandbox.control.configure({ pageUsageHeader: true });
    const { response } = await get(pageWindow);
    const expected = JSON.parse((json('page-usage-headers.json') as Record<string, string>)['X-Page-Usage']) as unknown;
    expect(shape(JSON.parse(response.headers.get('x-page-usage') ?? 'null'))).toEqual(shape(expected));
    expect(parseUsageHeaders(response.headers).page).toEqual({ percent: 1, estimatedTimeToRegainAccessMinutes: 0 });
  });
});
