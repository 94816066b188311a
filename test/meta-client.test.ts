import { randomUUID } from 'node:crypto';
import { createLogger } from '../src/boot/logger';
import { createMetaClient } from '../src/meta/client';
import { fetchInsights } from './helpers/fetch-insights';
import {
  MetaBadRequestError,
  MetaError,
  MetaSandboxUnknownTokenError,
  MetaThrottledError,
  MetaTokenInvalidError,
  MetaTransientError,
} from '../src/meta/errors';
import type { FetchPlatformsInput, MetaClient } from '../src/meta/types';
import { freePort, waitFor } from '../src/net';
import { startGraphSandbox, type RunningGraphSandbox } from '../src/dev/meta-sandbox';
import { instagramFollowersOn, instagramTotalValue, pageDailyFollows } from '../src/dev/meta-sandbox/data';

/** The sandbox's clock: every number below is a function of the ids, the days and this instant. */
const NOW = Date.parse('2026-11-25T12:00:00Z');
const PAGE = '104000000000123';
const IG = '17841400000000123';
const DAYS = ['2026-11-23', '2026-11-24'];
/** 2026-11-23 and 2026-11-24 in Europe/Warsaw (UTC+1), as unix seconds. */
const WARSAW_BOUNDS = [
  { since: 1795388400, until: 1795474800 },
  { since: 1795474800, until: 1795561200 },
];

/** No pacing: every day is asked until Meta itself throttles. */
const UNPACED = {
  slowAbovePercent: Number.POSITIVE_INFINITY,
  stopAbovePercent: Number.POSITIVE_INFINITY,
  maxDelayMs: 0,
};

describe('the Meta Graph client against the Graph sandbox', () => {
  let sandbox: RunningGraphSandbox;
  let client: MetaClient;
  let token: string;

  const input = (overrides: Partial<FetchPlatformsInput> = {}): FetchPlatformsInput => ({
    accessToken: token,
    facebookPageId: PAGE,
    instagramAccountId: IG,
    days: DAYS,
    timezone: 'Europe/Warsaw',
    ...overrides,
  });
  const failure = (promise: Promise<unknown>): Promise<MetaError> =>
    promise.then(
      () => {
        throw new Error('expected the fetch to fail');
      },
      (err: unknown) => err as MetaError,
    );

  beforeAll(async () => {
    sandbox = await startGraphSandbox({ now: () => NOW });
    client = createMetaClient({
      graphUrl: sandbox.url,
      graphVersion: 'v24.0',
      timeoutMs: 5_000,
      logger: createLogger('silent'),
    });
  });
  afterAll(() => sandbox.close());

  beforeEach(() => {
    sandbox.control.reset();
    token = `EAAG-test-${randomUUID()}`;
    sandbox.control.setToken({ token });
  });

  it('fetches the four numbers of two days with one Page call, one followers call and one Instagram call per day', async () => {
    const result = await fetchInsights(client, input());

    const nowSeconds = NOW / 1000;
    expect(result.instagramFollowers).toEqual({ value: instagramFollowersOn(IG, '2026-11-25') });
    expect(result.days).toEqual(
      DAYS.map((day, i) => ({
        day,
        facebookNewFollowers: { value: pageDailyFollows(PAGE, day) },
        instagramReach: {
          value: instagramTotalValue(IG, 'reach', WARSAW_BOUNDS[i].since, WARSAW_BOUNDS[i].until, nowSeconds),
        },
        instagramProfileViews: {
          value: instagramTotalValue(IG, 'profile_views', WARSAW_BOUNDS[i].since, WARSAW_BOUNDS[i].until, nowSeconds),
        },
      })),
    );
    for (const day of result.days) expect(day.instagramReach.value).toBeGreaterThan(0);
    expect(result.calls).toBe(4);
    expect(Date.parse(result.fetchedAt)).not.toBeNaN();

    expect(sandbox.control.calls()).toEqual({
      total: 4,
      byPath: { [`/${PAGE}/insights`]: 1, [`/${IG}`]: 1, [`/${IG}/insights`]: 2 },
      byObject: { [PAGE]: 1, [IG]: 3 },
    });
    expect(sandbox.control.requests().map((r) => [r.version, r.path, r.query])).toEqual([
      [
        'v24.0',
        `/${PAGE}/insights`,
        { metric: 'page_daily_follows_unique', period: 'day', since: '2026-11-23', until: '2026-11-25' },
      ],
      ['v24.0', `/${IG}`, { fields: 'followers_count' }],
      ...WARSAW_BOUNDS.map(({ since, until }) => [
        'v24.0',
        `/${IG}/insights`,
        {
          metric: 'reach,profile_views',
          period: 'day',
          metric_type: 'total_value',
          since: String(since),
          until: String(until),
        },
      ]),
    ]);
  });

  it('returns the days in the order asked, and a day asked twice costs no second call', async () => {
    const result = await fetchInsights(client, input({ days: ['2026-11-24', '2026-11-23', '2026-11-24'] }));
    expect(result.days.map((d) => d.day)).toEqual(['2026-11-24', '2026-11-23', '2026-11-24']);
    expect(result.days[0]).toEqual(result.days[2]);
    expect(sandbox.control.calls().total).toBe(4);
  });

  it('calls the Graph version it was configured with', async () => {
    const v25 = createMetaClient({
      graphUrl: sandbox.url,
      graphVersion: 'v25.0',
      timeoutMs: 5_000,
      logger: createLogger('silent'),
    });
    await fetchInsights(v25, input({ instagramAccountId: null }));
    expect(sandbox.control.requests().map((r) => r.version)).toEqual(['v25.0']);
  });

  describe("classifying Meta's errors by code", () => {
    const table: [
      string,
      { code?: number; subcode?: number; isTransient?: boolean; httpStatus?: number },
      new (...args: never[]) => MetaError,
    ][] = [
      ['code 1 (unknown error)', { code: 1 }, MetaTransientError],
      ['code 2 (service error)', { code: 2 }, MetaTransientError],
      ['code 4 (app throttled)', { code: 4 }, MetaThrottledError],
      ['code 4 sent with HTTP 403', { code: 4, httpStatus: 403 }, MetaThrottledError],
      ['code 17 (user throttled)', { code: 17 }, MetaThrottledError],
      ['code 32 (Page throttled)', { code: 32 }, MetaThrottledError],
      ['code 100 (invalid parameter)', { code: 100 }, MetaBadRequestError],
      ['code 190/463 (token expired)', { code: 190, subcode: 463 }, MetaTokenInvalidError],
      ['code 190/460 (password changed)', { code: 190, subcode: 460 }, MetaTokenInvalidError],
      ['code 341 (application limit)', { code: 341 }, MetaThrottledError],
      ['code 368 (temporarily blocked)', { code: 368 }, MetaTransientError],
      ['code 613 (API rate limit)', { code: 613 }, MetaThrottledError],
      ['code 80001 (Page BUC)', { code: 80001 }, MetaThrottledError],
      ['code 80002 (Instagram BUC)', { code: 80002 }, MetaThrottledError],
      ['an unlisted code with is_transient true', { code: 9007, isTransient: true }, MetaTransientError],
      ['HTTP 502 without a Graph body', { httpStatus: 502 }, MetaTransientError],
      ['HTTP 503 without a Graph body', { httpStatus: 503 }, MetaTransientError],
    ];

    it.each(table)('turns %s into the matching error', async (_title, injected, expected) => {
      // On Page insights a bare 100 is the invalid-metric answer (a number, not an error): it is asked of the Instagram node instead.
      const target =
        injected.code === 100 && injected.subcode === undefined
          ? { objectId: IG, edge: 'node' as const }
          : { objectId: PAGE, edge: 'insights' as const };
      sandbox.control.inject({ ...target, ...injected });
      const error = await failure(fetchInsights(client, input()));
      expect(error).toBeInstanceOf(expected);
      expect(error.code).toBe(injected.code);
      expect(error.subcode).toBe(injected.subcode);
      expect(error.httpStatus).toBe(injected.httpStatus ?? (injected.code === 1 || injected.code === 2 ? 500 : 400));
      if (injected.code !== undefined) expect(error.fbtraceId).toMatch(/^A/);
      expect(error.message).toContain(`GET /v24.0/${target.objectId}`);
    });

    // A refusal of the Page for who asks is the Page's state, for what it asks its days' reason: Instagram is still fetched.
    it.each([
      ['code 10 (permission)', { code: 10 }, 'permission_missing', 'facebook_permission_missing'],
      ['code 200 (permission)', { code: 200 }, 'permission_missing', 'facebook_permission_missing'],
      ['code 250 (permission range)', { code: 250 }, 'permission_missing', 'facebook_permission_missing'],
      ['code 299 (permission range)', { code: 299 }, 'permission_missing', 'facebook_permission_missing'],
      [
        'a code 100 naming a permission',
        {
          code: 100,
          message:
            "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable feature, or does not support this operation. This endpoint requires the 'pages_read_engagement' permission",
        },
        'permission_missing',
        'facebook_permission_missing',
      ],
      ['code 100/33 (object gone)', { code: 100, subcode: 33 }, 'not_accessible', 'page_not_accessible'],
      ['an unlisted code', { code: 12345 }, 'ok', 'meta_refused'],
      ['a code 100 with a subcode', { code: 100, subcode: 2108006 }, 'ok', 'meta_refused'],
    ] as const)(
      'answers %s on the Page insights with its state and reason',
      async (_title, injected, state, reason) => {
        sandbox.control.inject({ objectId: PAGE, edge: 'insights', ...injected });
        const result = await client.fetchPlatforms(input());
        expect(result.facebook).toMatchObject({
          status: 'fetched',
          data: {
            state,
            days: Object.fromEntries(DAYS.map((day) => [day, { facebookNewFollowers: { value: null, reason } }])),
          },
        });
        if (state !== 'ok' && result.facebook.status === 'fetched')
          expect(result.facebook.data.refusal).toEqual({
            code: String(injected.code),
            message: expect.stringContaining(`code ${injected.code}`),
          });
        expect(result.instagram).toMatchObject({ status: 'fetched', data: { state: 'ok' } });
      },
    );

    it('treats an HTTP 400 with code 80001 as throttled, not as a bad request, though Meta marks it transient', async () => {
      sandbox.control.inject({ objectId: PAGE, code: 80001 });
      const error = await failure(fetchInsights(client, input()));
      expect(error.httpStatus).toBe(400);
      expect(error).toBeInstanceOf(MetaThrottledError);
      expect(error).not.toBeInstanceOf(MetaBadRequestError);
      expect(error).not.toBeInstanceOf(MetaTransientError);
      expect(error.errorCode).toBe('80001');
    });

    it("waits 7 minutes when Meta's usage header estimates 7 minutes to regain access", async () => {
      sandbox.control.inject({ objectId: PAGE, code: 80001, estimatedTimeToRegainAccess: 7 });
      const error = await failure(fetchInsights(client, input()));
      expect(error).toBeInstanceOf(MetaThrottledError);
      expect((error as MetaThrottledError).retryAfterMs).toBe(7 * 60_000);
    });

    it('leaves the retry to backoff when Meta gives no estimate', async () => {
      sandbox.control.inject({ objectId: PAGE, code: 4 });
      const error = await failure(fetchInsights(client, input()));
      expect(error).toBeInstanceOf(MetaThrottledError);
      expect((error as MetaThrottledError).retryAfterMs).toBeUndefined();
    });

    it('stops calling at the first throttled answer, keeps the days answered, and a spent quota gives the rest of its window as the estimate', async () => {
      sandbox.control.setQuota({ objectId: IG, calls: 2 });
      const days = ['2026-11-22', '2026-11-23', '2026-11-24'];
      const result = await client.fetchPlatforms({ ...input({ days }), instagramPacing: UNPACED });
      if (result.instagram.status !== 'fetched') throw new Error(`Instagram ${result.instagram.status}`);
      expect(Object.keys(result.instagram.data.days)).toEqual(['2026-11-22']);
      expect(result.instagram.data.days['2026-11-22'].instagramReach?.value).toEqual(expect.any(Number));
      expect(result.instagram.data.stopped?.days).toEqual(['2026-11-23', '2026-11-24']);
      const error = result.instagram.data.stopped?.error as MetaThrottledError;
      expect(error).toBeInstanceOf(MetaThrottledError);
      expect(error.code).toBe(80002);
      expect(error.retryAfterMs).toBe(60 * 60_000);
      expect(sandbox.control.calls().byPath).toEqual({
        [`/${PAGE}/insights`]: 1,
        [`/${IG}`]: 1,
        [`/${IG}/insights`]: 2,
      });
    });

    it('answers an expired token with a token-invalid error and an unknown one likewise', async () => {
      sandbox.control.setToken({ token, status: 'expired' });
      const expired = await failure(fetchInsights(client, input()));
      expect(expired).toBeInstanceOf(MetaTokenInvalidError);
      expect(expired).toMatchObject({ code: 190, subcode: 463 });

      const unknown = await failure(fetchInsights(client, input({ accessToken: 'EAAG-never-issued' })));
      expect(unknown).toBeInstanceOf(MetaTokenInvalidError);
      expect(unknown).toMatchObject({ code: 190, subcode: undefined });
    });

    it('answers a token without permission with both platforms refused for permission', async () => {
      sandbox.control.setToken({ token, status: 'no_permission' });
      const result = await client.fetchPlatforms(input());
      expect(result.facebook).toMatchObject({ status: 'fetched', data: { state: 'permission_missing' } });
      expect(result.instagram).toMatchObject({ status: 'fetched', data: { state: 'permission_missing' } });
    });
  });

  describe('each platform on its own', () => {
    const reasons = (reason: string) => ({
      instagramReach: { value: null, reason },
      instagramProfileViews: { value: null, reason },
    });

    it.each([10, 200] as const)(
      'gives Facebook numbers and Instagram numbers unavailable with instagram_permission_missing when Instagram answers code %i',
      async (code) => {
        sandbox.control.setInstagramMode({ igId: IG, mode: 'permission_missing', code });
        const result = await client.fetchPlatforms(input());
        expect(result.facebook).toEqual({
          status: 'fetched',
          data: {
            state: 'ok',
            days: Object.fromEntries(
              DAYS.map((day) => [day, { facebookNewFollowers: { value: pageDailyFollows(PAGE, day) } }]),
            ),
          },
        });
        expect(result.instagram).toEqual({
          status: 'fetched',
          data: {
            state: 'permission_missing',
            followers: { value: null, reason: 'instagram_permission_missing' },
            days: Object.fromEntries(DAYS.map((day) => [day, reasons('instagram_permission_missing')])),
          },
        });
        // The refused account is asked once, not once per day.
        expect(sandbox.control.calls().byObject).toEqual({ [PAGE]: 1, [IG]: 1 });
        const served = sandbox.control.requests().find((r) => r.objectId === IG);
        expect(served).toMatchObject({ status: code === 10 ? 400 : 403, code });
        // The all-or-nothing read gives the same numbers rather than failing.
        const strict = await fetchInsights(client, input());
        expect(strict.instagramFollowers).toEqual({ value: null, reason: 'instagram_permission_missing' });
        expect(strict.days[0].facebookNewFollowers.value).toEqual(expect.any(Number));
      },
    );

    it('keeps the followers count when only Instagram insights are refused for permission', async () => {
      sandbox.control.inject({ objectId: IG, edge: 'insights', code: 10 });
      const result = await client.fetchPlatforms(input());
      expect(result.instagram).toMatchObject({
        status: 'fetched',
        data: { state: 'permission_missing', followers: { value: expect.any(Number) } },
      });
      expect(result.instagram.status === 'fetched' && result.instagram.data.days[DAYS[1]]).toEqual(
        reasons('instagram_permission_missing'),
      );
    });

    it('reports an Instagram account Meta answers 100/33 for as instagram_not_linked', async () => {
      sandbox.control.setInstagramMode({ igId: IG, mode: 'not_linked' });
      const result = await client.fetchPlatforms(input());
      expect(result.facebook.status).toBe('fetched');
      expect(result.instagram).toMatchObject({
        status: 'fetched',
        data: { state: 'not_linked', followers: { value: null, reason: 'instagram_not_linked' } },
      });
      expect(sandbox.control.requests().find((r) => r.objectId === IG)).toMatchObject({ status: 400, code: 100 });
    });

    it("keeps Facebook's numbers when only Instagram is throttled, with Meta's estimate for Instagram", async () => {
      sandbox.control.setInstagramMode({ igId: IG, mode: 'throttled', estimatedTimeToRegainAccess: 4 });
      const result = await client.fetchPlatforms(input());
      expect(result.facebook.status).toBe('fetched');
      expect(result.instagram.status).toBe('failed');
      const error = (result.instagram as { error: MetaThrottledError }).error;
      expect(error).toBeInstanceOf(MetaThrottledError);
      expect(error).toMatchObject({ code: 80002, retryAfterMs: 4 * 60_000 });
      // Throttled: Instagram is not called again in this fetch.
      expect(sandbox.control.calls().byObject).toEqual({ [PAGE]: 1, [IG]: 1 });
    });

    it('still fetches Instagram when the Page is throttled, and fetches only the platforms asked for', async () => {
      sandbox.control.inject({ objectId: PAGE, code: 80001, times: 1 });
      const result = await client.fetchPlatforms(input());
      expect(result.facebook).toMatchObject({ status: 'failed', error: { code: 80001 } });
      expect(result.instagram).toMatchObject({ status: 'fetched', data: { state: 'ok' } });

      sandbox.control.reset('calls');
      const again = await client.fetchPlatforms(input({ platforms: ['facebook'] }));
      expect(again.facebook.status).toBe('fetched');
      expect(again.instagram.status).toBe('not_requested');
      expect(sandbox.control.calls().byObject).toEqual({ [PAGE]: 1 });
    });

    it("keeps Instagram when the Page's permission is missing, and ends the whole fetch on an invalid token or an app throttle", async () => {
      sandbox.control.inject({ objectId: PAGE, code: 200, times: 1 });
      const refused = await client.fetchPlatforms(input());
      expect(refused.facebook).toMatchObject({ status: 'fetched', data: { state: 'permission_missing' } });
      expect(refused.instagram).toMatchObject({ status: 'fetched', data: { state: 'ok' } });
      sandbox.control.reset('calls');
      sandbox.control.inject({ objectId: PAGE, code: 4, times: 1 });
      expect(await failure(client.fetchPlatforms(input()))).toMatchObject({ code: 4 });
      sandbox.control.setToken({ token, status: 'invalidated' });
      expect(await failure(client.fetchPlatforms(input()))).toBeInstanceOf(MetaTokenInvalidError);
      expect(sandbox.control.calls().byObject).toEqual({ [PAGE]: 2 });
    });
  });

  describe('the sandbox and tokens it does not know', () => {
    it('reads the sandbox marker as sandbox_unknown_token only in a client built for the sandbox', async () => {
      const demo = createMetaClient({
        graphUrl: sandbox.url,
        graphVersion: 'v24.0',
        timeoutMs: 5_000,
        logger: createLogger('silent'),
        sandbox: true,
      });
      const unknown = await failure(demo.fetchPlatforms(input({ accessToken: 'EAAG-a-real-token' })));
      expect(unknown).toBeInstanceOf(MetaSandboxUnknownTokenError);
      expect(unknown.errorCode).toBe('sandbox_unknown_token');
      expect(unknown.message).not.toContain('EAAG-a-real-token');
      // A token the sandbox knows as expired is Meta's 190, in the sandbox too.
      sandbox.control.setToken({ token, status: 'expired' });
      expect(await failure(demo.fetchPlatforms(input()))).toBeInstanceOf(MetaTokenInvalidError);
      // A live client never reads the marker: to it, the body is Meta's 190.
      expect(await failure(client.fetchPlatforms(input({ accessToken: 'EAAG-a-real-token' })))).toBeInstanceOf(
        MetaTokenInvalidError,
      );
    });
  });

  describe('numbers Meta does not give', () => {
    it('reports an unsupported profile_views as null with its reason and keeps the other three numbers', async () => {
      sandbox.control.inject({ objectId: IG, metricUnsupported: 'profile_views' });
      const healthy = await (async () => {
        const other = await startGraphSandbox({ now: () => NOW });
        try {
          other.control.setToken({ token });
          const c = createMetaClient({
            graphUrl: other.url,
            graphVersion: 'v24.0',
            timeoutMs: 5_000,
            logger: createLogger('silent'),
          });
          return await fetchInsights(c, input());
        } finally {
          await other.close();
        }
      })();

      const result = await fetchInsights(client, input());

      expect(result.instagramFollowers).toEqual(healthy.instagramFollowers);
      expect(result.days).toEqual(
        healthy.days.map((day) => ({ ...day, instagramProfileViews: { value: null, reason: 'metric_unsupported' } })),
      );
      // Day one: both metrics refused together, then each alone; day two: reach alone.
      expect(
        sandbox.control
          .requests()
          .filter((r) => r.path === `/${IG}/insights`)
          .map((r) => r.query.metric),
      ).toEqual(['reach,profile_views', 'reach', 'profile_views', 'reach']);
      expect(result.calls).toBe(6);
    });

    it('reports a refused Page metric as unsupported and keeps the Instagram numbers', async () => {
      sandbox.control.inject({ objectId: PAGE, metricUnsupported: 'page_daily_follows_unique' });
      const result = await fetchInsights(client, input());
      for (const day of result.days) {
        expect(day.facebookNewFollowers).toEqual({ value: null, reason: 'metric_unsupported' });
        expect(day.instagramReach.value).toEqual(expect.any(Number));
        expect(day.instagramProfileViews.value).toEqual(expect.any(Number));
      }
      expect(result.instagramFollowers.value).toEqual(expect.any(Number));
    });

    it('gives a client without Instagram null Instagram numbers and makes no Instagram call', async () => {
      const result = await fetchInsights(client, input({ instagramAccountId: null }));
      const notLinked = { value: null, reason: 'instagram_not_linked' };
      expect(result.instagramFollowers).toEqual(notLinked);
      for (const day of result.days) {
        expect(day.facebookNewFollowers.value).toEqual(expect.any(Number));
        expect(day.instagramReach).toEqual(notLinked);
        expect(day.instagramProfileViews).toEqual(notLinked);
      }
      expect(sandbox.control.calls().byPath).toEqual({ [`/${PAGE}/insights`]: 1 });
    });

    it('reports an empty Instagram data set as no data, never as 0', async () => {
      sandbox.control.inject({ objectId: IG, edge: 'insights', emptyData: true });
      const result = await fetchInsights(client, input());
      for (const day of result.days) {
        expect(day.instagramReach).toEqual({ value: null, reason: 'no_data' });
        expect(day.instagramProfileViews).toEqual({ value: null, reason: 'no_data' });
        expect(day.facebookNewFollowers.value).toEqual(expect.any(Number));
      }
    });

    it('reports days Meta has no numbers for yet as no data', async () => {
      const result = await fetchInsights(client, input({ days: ['2026-11-26', '2026-11-27'] }));
      for (const day of result.days) {
        expect(day).toMatchObject({
          facebookNewFollowers: { value: null, reason: 'no_data' },
          instagramReach: { value: null, reason: 'no_data' },
          instagramProfileViews: { value: null, reason: 'no_data' },
        });
      }
    });
  });

  describe('Page windows', () => {
    /** `n` days ending on 2026-10-31. */
    const span = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        new Date(Date.parse('2026-10-31T00:00:00Z') - (n - 1 - i) * 86_400_000).toISOString().slice(0, 10),
      );
    const pageOnly = (days: string[]) => input({ days, platforms: ['facebook'] });
    const pageWindows = () => sandbox.control.requests().filter((r) => r.path === `/${PAGE}/insights`);

    it('asks a window again in halves when Meta answers (#1) reduce the amount of data', async () => {
      sandbox.control.inject({
        objectId: PAGE,
        edge: 'insights',
        code: 1,
        message: "Please reduce the amount of data you're asking for, then retry your request",
        httpStatus: 500,
        times: 1,
      });
      const days = span(60);
      const result = await client.fetchPlatforms(pageOnly(days));
      if (result.facebook.status !== 'fetched') throw new Error(`Facebook ${result.facebook.status}`);
      for (const day of days)
        expect(result.facebook.data.days[day]).toEqual({
          facebookNewFollowers: { value: pageDailyFollows(PAGE, day) },
        });
      expect(pageWindows().map((r) => [r.query.since, r.query.until, r.code])).toEqual([
        [days[0], '2026-11-01', 1],
        [days[0], days[30], undefined],
        [days[30], '2026-11-01', undefined],
      ]);
    });

    it('keeps the windows answered when a throttle stops the Page midway, and names the days left', async () => {
      sandbox.control.setQuota({ objectId: PAGE, calls: 1 });
      const days = span(120);
      const result = await client.fetchPlatforms(pageOnly(days));
      if (result.facebook.status !== 'fetched') throw new Error(`Facebook ${result.facebook.status}`);
      expect(Object.keys(result.facebook.data.days)).toEqual(days.slice(0, 90));
      expect(result.facebook.data.stopped?.days).toEqual(days.slice(90));
      expect(result.facebook.data.stopped?.error).toMatchObject({ code: 80001 });
      expect(pageWindows()).toHaveLength(2);
    });
  });

  describe("Meta's usage headers", () => {
    it('returns the usage of the Page, the Instagram account and the app, growing with each call', async () => {
      const first = await fetchInsights(client, input());
      expect(first.usage.business[PAGE]).toEqual({ type: 'pages', percent: 1, estimatedTimeToRegainAccessMinutes: 0 });
      expect(first.usage.business[IG]).toEqual({
        type: 'instagram',
        percent: 3,
        estimatedTimeToRegainAccessMinutes: 0,
      });
      expect(first.usage.appPercent).toBe(1);
      expect(first.usage.maxPercent).toBe(3);

      const second = await fetchInsights(client, input());
      expect(second.usage.business[PAGE].percent).toBe(2);
      expect(second.usage.business[IG].percent).toBe(6);
    });

    it('fetches the same numbers when Meta sends no usage headers', async () => {
      const withHeaders = await fetchInsights(client, input());
      sandbox.control.configure({ usageHeaders: false });
      const without = await fetchInsights(client, input());
      expect(without.usage).toEqual({ business: {}, maxPercent: 0 });
      expect(without.days).toEqual(withHeaders.days);
      expect(without.instagramFollowers).toEqual(withHeaders.instagramFollowers);
    });
  });

  describe('timeouts, failures and tokens', () => {
    it('cuts a hanging request at the configured timeout as a transient error', async () => {
      const quick = createMetaClient({
        graphUrl: sandbox.url,
        graphVersion: 'v24.0',
        timeoutMs: 300,
        logger: createLogger('silent'),
      });
      sandbox.control.inject({ objectId: PAGE, hang: true });
      const started = Date.now();
      const error = await failure(fetchInsights(quick, input()));
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(MetaTransientError);
      expect(error.message).toContain('timed out after 300 ms');
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(3_000);
      // The Page was asked once; Instagram, a platform of its own, was still fetched.
      expect(sandbox.control.calls().byObject[PAGE]).toBe(1);
    });

    it('answers within the timeout when Meta is merely slow', async () => {
      const patient = createMetaClient({
        graphUrl: sandbox.url,
        graphVersion: 'v24.0',
        timeoutMs: 2_000,
        logger: createLogger('silent'),
      });
      sandbox.control.inject({ objectId: PAGE, latencyMs: 100, times: 1 });
      const result = await fetchInsights(patient, input());
      expect(result.days[0].facebookNewFollowers.value).toEqual(expect.any(Number));
    });

    it("gives up at once when the caller's signal aborts", async () => {
      sandbox.control.inject({ objectId: PAGE, hang: true });
      const controller = new AbortController();
      const reason = new Error('activity cancelled');
      const pending = fetchInsights(client, input({ signal: controller.signal })).catch((err: unknown) => err);
      await waitFor(async () => sandbox.control.calls().total === 1, {
        timeoutMs: 5_000,
        intervalMs: 10,
        what: 'the call to reach the sandbox',
      });
      controller.abort(reason);
      expect(await pending).toBe(reason);
    });

    it('turns a refused connection into a transient error', async () => {
      const port = await freePort();
      const nowhere = createMetaClient({
        graphUrl: `http://127.0.0.1:${port}`,
        graphVersion: 'v24.0',
        timeoutMs: 2_000,
        logger: createLogger('silent'),
      });
      const error = await failure(fetchInsights(nowhere, input()));
      expect(error).toBeInstanceOf(MetaTransientError);
      expect(error.message).toContain('ECONNREFUSED');
    });

    it('refuses days and timezones no call could answer, without calling Meta', async () => {
      for (const bad of [{ days: [] }, { days: ['2026-02-30'] }, { timezone: 'Mars/Olympus' }]) {
        await expect(fetchInsights(client, input(bad))).rejects.toBeInstanceOf(MetaBadRequestError);
      }
      expect(sandbox.control.calls().total).toBe(0);
    });

    it('never writes the access token to a log line or an error message', async () => {
      const lines: string[] = [];
      const logger = createLogger('debug', { write: (line: string) => lines.push(line) });
      const secret = `EAAG-secret-${randomUUID()}`;
      sandbox.control.setToken({ token: secret });
      const make = (graphUrl: string, timeoutMs = 5_000) =>
        createMetaClient({ graphUrl, graphVersion: 'v24.0', timeoutMs, logger });
      const withSecret = input({ accessToken: secret });

      await fetchInsights(make(sandbox.url), withSecret);
      const errors: unknown[] = [];
      sandbox.control.inject({ objectId: PAGE, code: 80001, estimatedTimeToRegainAccess: 3, times: 1 });
      errors.push(await failure(fetchInsights(make(sandbox.url), withSecret)));
      sandbox.control.inject({ objectId: IG, metricUnsupported: 'profile_views', times: 2 });
      await fetchInsights(make(sandbox.url), withSecret);
      sandbox.control.inject({ objectId: PAGE, hang: true, times: 1 });
      errors.push(await failure(fetchInsights(make(sandbox.url, 200), withSecret)));
      sandbox.control.inject({ objectId: PAGE, httpStatus: 502, times: 1 });
      errors.push(await failure(fetchInsights(make(sandbox.url), withSecret)));
      errors.push(await failure(fetchInsights(make(`http://127.0.0.1:${await freePort()}`), withSecret)));
      errors.push(await failure(fetchInsights(make('http://not a host'), withSecret)));
      sandbox.control.setToken({ token: secret, status: 'expired' });
      errors.push(await failure(fetchInsights(make(sandbox.url), withSecret)));

      expect(errors.map((e) => (e as Error).constructor.name)).toEqual([
        'MetaThrottledError',
        'MetaTransientError',
        'MetaTransientError',
        'MetaTransientError',
        'MetaTransientError',
        'MetaTokenInvalidError',
      ]);
      expect(lines.length).toBeGreaterThan(10);
      expect(lines.join('\n')).toContain('Meta call failed');
      for (const line of lines) expect(line).not.toContain(secret);
      for (const error of errors) {
        const err = error as Error;
        for (const text of [err.message, err.stack ?? '', JSON.stringify(err), String(err)])
          expect(text).not.toContain(secret);
      }
    });
  });
});
