import { spawn } from 'node:child_process';
import path from 'node:path';
import { waitFor } from '../src/net';
import { DEMO_ACCOUNTS, startGraphSandbox, type RunningGraphSandbox } from '../src/dev/meta-sandbox';
import { collect, ROOT } from './helpers/process';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const TOKEN = 'EAAG-sandbox-test-token';
const PAGE = '104000000000456';
const IG = '17841400000000456';

interface GraphError {
  error: {
    message: string;
    type: string;
    code: number;
    error_subcode?: number;
    is_transient: boolean;
    fbtrace_id: string;
  };
}

describe('the Graph API sandbox', () => {
  let sandbox: RunningGraphSandbox;

  const graph = async (pathAndQuery: string, token: string | null = TOKEN) => {
    const url = new URL(`${sandbox.url}/v24.0/${pathAndQuery}`);
    if (token !== null) url.searchParams.set('access_token', token);
    const response = await fetch(url);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // a bare error page
    }
    return { status: response.status, body, headers: response.headers };
  };
  const control = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${sandbox.url}/__sandbox${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: response.status,
      body: response.status === 204 ? undefined : ((await response.json()) as unknown),
    };
  };
  const buc = (headers: Headers) =>
    JSON.parse(headers.get('x-business-use-case-usage') ?? 'null') as Record<string, Record<string, unknown>[]>;
  const app = (headers: Headers) => JSON.parse(headers.get('x-app-usage') ?? 'null') as Record<string, number>;
  const pageInsights = (since = '2026-11-20', until = '2026-11-23') =>
    graph(`${PAGE}/insights?metric=page_daily_follows_unique&period=day&since=${since}&until=${until}`);
  const igInsights = (since = 1795388400, until = 1795474800) =>
    graph(`${IG}/insights?metric=reach,profile_views&period=day&metric_type=total_value&since=${since}&until=${until}`);

  beforeAll(async () => {
    sandbox = await startGraphSandbox({ now: () => NOW });
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    sandbox.control.reset();
    sandbox.control.setToken({ token: TOKEN });
  });

  describe('data', () => {
    it('serves one Page value per day, stamped with the next US-Pacific midnight in UTC', async () => {
      const { status, body } = await pageInsights('2026-03-07', '2026-03-10');
      expect(status).toBe(200);
      const [series] = (body as { data: { name: string; values: { value: number; end_time: string }[]; id: string }[] })
        .data;
      expect(series.name).toBe('page_daily_follows_unique');
      expect(series.id).toBe(`${PAGE}/insights/page_daily_follows_unique/day`);
      expect(series.values.map((v) => v.end_time)).toEqual([
        '2026-03-08T08:00:00+0000',
        '2026-03-09T07:00:00+0000',
        '2026-03-10T07:00:00+0000',
      ]);
      for (const { value } of series.values) expect(Number.isInteger(value) && value >= 0).toBe(true);
    });

    it('answers the same numbers for the same object and day, in any sandbox', async () => {
      const other = await startGraphSandbox({ now: () => NOW });
      try {
        other.control.setToken({ token: TOKEN });
        const here = await igInsights();
        const there = await fetch(
          `${other.url}/v24.0/${IG}/insights?metric=reach,profile_views&period=day&metric_type=total_value&since=1795388400&until=1795474800&access_token=${TOKEN}`,
        );
        expect(await there.json()).toEqual(here.body);
        expect((await igInsights()).body).toEqual(here.body);
      } finally {
        await other.close();
      }
    });

    it('gives different objects and days different, plausible numbers', async () => {
      const { body } = await graph(`${IG}?fields=followers_count,username`);
      const followers = (body as { followers_count: number }).followers_count;
      expect(followers).toBeGreaterThan(500);
      const reach = (since: number) =>
        graph(
          `${IG}/insights?metric=reach&period=day&metric_type=total_value&since=${since}&until=${since + 86_400}`,
        ).then((r) => (r.body as { data: { total_value: { value: number } }[] }).data[0].total_value.value);
      const days = await Promise.all([1795305600, 1795392000, 1795478400].map(reach));
      expect(new Set(days).size).toBe(3);
      for (const value of days) expect(value).toBeGreaterThan(0);
    });

    it('answers an empty data set for a range that has not happened yet', async () => {
      const { status, body } = await igInsights(NOW / 1000 + 3_600, NOW / 1000 + 90_000);
      expect(status).toBe(200);
      expect(body).toEqual({ data: [] });
    });

    it('links a demo Page to its Instagram account, and leaves the field out when there is none', async () => {
      const [withIg] = DEMO_ACCOUNTS;
      const withoutIg = DEMO_ACCOUNTS.find((a) => a.igId === null)!;
      expect((await graph(`${withIg.pageId}?fields=instagram_business_account`, withIg.token)).body).toEqual({
        instagram_business_account: { id: withIg.igId },
        id: withIg.pageId,
      });
      expect((await graph(`${withoutIg.pageId}?fields=instagram_business_account`, withoutIg.token)).body).toEqual({
        id: withoutIg.pageId,
      });
    });

    it('tells a token apart with debug_token', async () => {
      sandbox.control.setToken({ token: 'expired-one', status: 'expired' });
      const valid = await graph(`debug_token?input_token=${TOKEN}`);
      expect(valid.body).toMatchObject({
        data: { is_valid: true, expires_at: 0, scopes: expect.arrayContaining(['read_insights']) },
      });
      const expired = await graph('debug_token?input_token=expired-one');
      expect(expired.body).toMatchObject({ data: { is_valid: false, error: { code: 190, subcode: 463 } } });
    });
  });

  describe("Meta's refusals", () => {
    it('answers a missing token with 104, an unknown one with 190, an expired one with 190/463 and one without permission with 10', async () => {
      sandbox.control.setToken({ token: 'expired-one', status: 'expired' });
      sandbox.control.setToken({ token: 'no-rights', status: 'no_permission' });
      const answers = await Promise.all(
        [null, 'never-issued', 'expired-one', 'no-rights'].map((token) => graph(`${PAGE}?fields=name`, token)),
      );
      expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400]);
      expect(
        answers.map((a) => [(a.body as GraphError).error.code, (a.body as GraphError).error.error_subcode]),
      ).toEqual([
        [104, undefined],
        [190, undefined],
        [190, 463],
        [10, undefined],
      ]);
      for (const answer of answers)
        expect((answer.body as GraphError).error).toMatchObject({ type: 'OAuthException', is_transient: false });
    });

    it('answers an unknown path, edge or field with a Graph error 100', async () => {
      for (const route of [
        `${PAGE}/feed/extra`,
        `${PAGE}/nonsense`,
        `${PAGE}?fields=nonsense`,
        `${IG}/insights?metric=impressions&period=day`,
      ]) {
        const { status, body } = await graph(route);
        expect(status).toBe(400);
        expect((body as GraphError).error.code).toBe(100);
      }
      const noVersion = await fetch(`${sandbox.url}/${PAGE}/insights?access_token=${TOKEN}`);
      expect(noVersion.status).toBe(400);
      expect(((await noVersion.json()) as GraphError).error.code).toBe(100);
    });

    it('insists on metric_type=total_value for profile_views, as Meta does since 2025', async () => {
      const { status, body } = await graph(`${IG}/insights?metric=reach,profile_views&period=day`);
      expect(status).toBe(400);
      expect((body as GraphError).error.message).toContain('metric_type=total_value');
    });

    it('serves a demo token its own Page and Instagram account and nothing else', async () => {
      const [first, second] = DEMO_ACCOUNTS;
      expect((await graph(`${first.pageId}?fields=name`, first.token)).body).toEqual({
        name: first.name,
        id: first.pageId,
      });
      expect((await graph(`${first.igId}?fields=followers_count`, first.token)).status).toBe(200);
      const foreign = await graph(`${second.pageId}?fields=name`, first.token);
      expect(foreign.status).toBe(400);
      expect((foreign.body as GraphError).error).toMatchObject({
        code: 100,
        error_subcode: 33,
        type: 'GraphMethodException',
      });
    });

    it('keeps the demo scenarios: an expired token, an unsupported profile_views, a small Instagram quota', async () => {
      const expired = DEMO_ACCOUNTS.find((a) => a.scenario === 'token_expired')!;
      expect(((await graph(`${expired.pageId}?fields=name`, expired.token)).body as GraphError).error).toMatchObject({
        code: 190,
        error_subcode: 463,
      });

      const noViews = DEMO_ACCOUNTS.find((a) => a.scenario === 'profile_views_unsupported')!;
      const refused = await graph(
        `${noViews.igId}/insights?metric=reach,profile_views&period=day&metric_type=total_value`,
        noViews.token,
      );
      expect((refused.body as GraphError).error.message).toBe('(#100) The value must be a valid insights metric');
      expect(
        (await graph(`${noViews.igId}/insights?metric=reach&period=day&metric_type=total_value`, noViews.token)).status,
      ).toBe(200);

      const busy = DEMO_ACCOUNTS.find((a) => a.scenario === 'instagram_quota_small')!;
      const statuses: number[] = [];
      for (let i = 0; i < 7; i += 1)
        statuses.push((await graph(`${busy.igId}?fields=followers_count`, busy.token)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 400]);
    });
  });

  describe('Instagram refused while the Page answers', () => {
    it('keeps the demo accounts whose Instagram permission is missing or whose Instagram is not linked', async () => {
      const refused = DEMO_ACCOUNTS.find((a) => a.scenario === 'instagram_permission_missing')!;
      expect((await graph(`${refused.pageId}?fields=name`, refused.token)).status).toBe(200);
      const permission = await graph(`${refused.igId}?fields=followers_count`, refused.token);
      expect(permission.status).toBe(400);
      expect((permission.body as GraphError).error).toMatchObject({
        code: 10,
        type: 'OAuthException',
        message: '(#10) Application does not have permission for this action',
      });

      const unlinked = DEMO_ACCOUNTS.find((a) => a.scenario === 'instagram_not_linked')!;
      expect(
        (await graph(`${unlinked.pageId}/insights?metric=page_daily_follows_unique&period=day`, unlinked.token)).status,
      ).toBe(200);
      const missing = await graph(
        `${unlinked.igId}/insights?metric=reach&period=day&metric_type=total_value`,
        unlinked.token,
      );
      expect((missing.body as GraphError).error).toMatchObject({
        code: 100,
        error_subcode: 33,
        type: 'GraphMethodException',
      });
      expect((missing.body as GraphError).error.message).toContain(
        `Object with ID '${unlinked.igId}' does not exist, cannot be loaded due to missing permissions`,
      );
    });

    it('throttles one Instagram account alone over HTTP, with the estimate in its usage header, for N calls', async () => {
      expect(
        await control('POST', '/instagram', { igId: IG, mode: 'throttled', estimatedTimeToRegainAccess: 3, times: 2 }),
      ).toMatchObject({
        status: 200,
        body: { igId: IG, mode: 'throttled', remaining: 2 },
      });
      for (let i = 0; i < 2; i += 1) {
        const throttled = await igInsights();
        expect((throttled.body as GraphError).error.code).toBe(80002);
        expect(buc(throttled.headers)[IG][0]).toMatchObject({ type: 'instagram', estimated_time_to_regain_access: 3 });
        expect((await pageInsights()).status).toBe(200);
      }
      expect((await igInsights()).status).toBe(200);

      await control('POST', '/instagram', { igId: IG, mode: 'permission_missing', code: 200 });
      const permission = await graph(`${IG}?fields=followers_count`);
      expect(permission.status).toBe(403);
      expect((permission.body as GraphError).error).toMatchObject({ code: 200, message: '(#200) Permissions error' });
      const { instagramModes } = (await control('GET', '/')).body as { instagramModes: { igId: string }[] };
      expect(instagramModes.find((m) => m.igId === IG)).toEqual({ igId: IG, mode: 'permission_missing', code: 200 });
      await control('POST', '/instagram', { igId: IG, mode: 'ok' });
      expect((await graph(`${IG}?fields=followers_count`)).status).toBe(200);
      expect((await control('POST', '/instagram', { igId: IG, mode: 'sleepy' })).status).toBe(400);
    });

    it('marks its 190 for a token it never issued, and only that one', async () => {
      const unknown = await graph(`${PAGE}?fields=name`, 'never-issued');
      expect(unknown.body).toMatchObject({
        error: { code: 190, type: 'OAuthException', x_sandbox_unknown_token: true },
      });
      sandbox.control.setToken({ token: 'expired-one', status: 'expired' });
      const expired = await graph(`${PAGE}?fields=name`, 'expired-one');
      expect((expired.body as GraphError).error.code).toBe(190);
      expect(expired.body).not.toMatchObject({ error: { x_sandbox_unknown_token: expect.anything() } });
    });
  });

  describe('a Page refused while its Instagram account answers', () => {
    const pageNode = () => graph(`${PAGE}?fields=name`);

    it.each([
      [
        10,
        400,
        "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature.",
      ],
      [200, 403, '(#200) Permissions error'],
      [
        100,
        400,
        "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable feature, or does not support this operation. This endpoint requires the 'pages_read_engagement' permission",
      ],
    ] as const)(
      "answers a missing Page permission as code %i with HTTP %i and Meta's message, for N calls",
      async (code, status, message) => {
        expect(await control('POST', '/page', { pageId: PAGE, mode: 'permission_missing', code, times: 2 })).toEqual({
          status: 200,
          body: { pageId: PAGE, mode: 'permission_missing', code, times: 2, remaining: 2 },
        });
        for (let i = 0; i < 2; i += 1) {
          const refused = i === 0 ? await pageInsights() : await pageNode();
          expect(refused.status).toBe(status);
          expect((refused.body as GraphError).error).toMatchObject({ code, type: 'OAuthException' });
          expect((refused.body as GraphError).error.message.startsWith(message)).toBe(true);
          expect((refused.body as GraphError).error.error_subcode).toBeUndefined();
          expect((await igInsights()).status).toBe(200);
        }
        expect((await pageInsights()).status).toBe(200);
        expect(sandbox.control.calls().byPath).toEqual({
          [`/${PAGE}/insights`]: 2,
          [`/${PAGE}`]: 1,
          [`/${IG}/insights`]: 2,
        });
      },
    );

    it('answers a Page that is gone with 100/33 GraphMethodException until set back to ok', async () => {
      await control('POST', '/page', { pageId: PAGE, mode: 'not_accessible' });
      for (const answer of [await pageInsights(), await pageNode()]) {
        expect(answer.status).toBe(400);
        expect((answer.body as GraphError).error).toMatchObject({
          code: 100,
          error_subcode: 33,
          type: 'GraphMethodException',
        });
        expect((answer.body as GraphError).error.message).toContain(`Object with ID '${PAGE}' does not exist`);
      }
      expect((await graph(`${IG}?fields=followers_count`)).status).toBe(200);
      const { pageModes } = (await control('GET', '/')).body as { pageModes: unknown[] };
      expect(pageModes).toEqual([{ pageId: PAGE, mode: 'not_accessible' }]);
      await control('POST', '/page', { pageId: PAGE, mode: 'ok' });
      expect((await pageInsights()).status).toBe(200);
      expect((await control('POST', '/page', { pageId: PAGE, mode: 'permission_missing', code: 11 })).status).toBe(400);
    });

    it("throttles one Page alone with 80001 and Meta's estimate in minutes in its usage header, counting each call", async () => {
      await control('POST', '/page', { pageId: PAGE, mode: 'throttled', estimatedTimeToRegainAccess: 240 });
      const throttled = await pageInsights();
      expect(throttled.status).toBe(400);
      expect((throttled.body as GraphError).error).toMatchObject({ code: 80001, type: 'OAuthException' });
      expect((throttled.body as GraphError).error.message).toContain(
        'There have been too many calls to this Page account',
      );
      expect(buc(throttled.headers)[PAGE][0]).toMatchObject({ type: 'pages', estimated_time_to_regain_access: 240 });
      expect((await igInsights()).status).toBe(200);
      expect(((await pageNode()).body as GraphError).error.code).toBe(80001);
      expect(sandbox.control.calls().byObject).toEqual({ [PAGE]: 2, [IG]: 1 });

      await control('POST', '/page', { pageId: PAGE, mode: 'throttled', estimatedTimeToRegainAccess: 0.05, times: 1 });
      expect(buc((await pageInsights()).headers)[PAGE][0].estimated_time_to_regain_access).toBe(0.05);
      expect((await pageInsights()).status).toBe(200);
    });
  });

  describe('refusals of some days only', () => {
    it('refuses the Instagram days given with 100/2108006 and its user title and text, and answers the others', async () => {
      const injected = await control('POST', '/inject', {
        objectId: IG,
        days: ['2026-11-22'],
        timezone: 'Europe/Warsaw',
        code: 100,
        subcode: 2108006,
      });
      expect(injected.status).toBe(201);
      // 2026-11-22 in Warsaw (UTC+1): 2026-11-21T23:00Z to 2026-11-22T23:00Z.
      const refused = await igInsights(1795302000, 1795388400);
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({
        error: {
          message: 'Invalid parameter',
          type: 'OAuthException',
          code: 100,
          error_data: { blame_field_specs: [['']] },
          error_subcode: 2108006,
          is_transient: false,
          error_user_title: 'Media posted before business account conversion',
          error_user_msg:
            "The media was posted before the most recent time that the user's account was converted to a business account from a personal account.",
          fbtrace_id: expect.stringMatching(/^A/),
        },
      });
      expect(Object.keys((refused.body as GraphError).error)).toEqual([
        'message',
        'type',
        'code',
        'error_data',
        'error_subcode',
        'is_transient',
        'error_user_title',
        'error_user_msg',
        'fbtrace_id',
      ]);
      expect((await igInsights(1795215600, 1795302000)).status).toBe(200);
      expect((await igInsights(1795388400, 1795474800)).status).toBe(200);
      expect((await igInsights(1795302000, 1795388400)).status).toBe(400);
      expect((await graph(`${IG}?fields=followers_count`)).status).toBe(200);
    });

    it('refuses a Page window covering a given day with any code and message, for N calls', async () => {
      sandbox.control.inject({
        objectId: PAGE,
        days: ['2026-11-21'],
        code: 100,
        message: '(#100) There cannot be more than 30 days (2592000 s) between since and until',
        times: 1,
      });
      expect((await pageInsights('2026-11-22', '2026-11-23')).status).toBe(200);
      const refused = await pageInsights('2026-11-20', '2026-11-23');
      expect(refused.status).toBe(400);
      expect((refused.body as GraphError).error).toMatchObject({
        code: 100,
        message: '(#100) There cannot be more than 30 days (2592000 s) between since and until',
      });
      expect((await pageInsights('2026-11-20', '2026-11-23')).status).toBe(200);
      expect((await control('POST', '/inject', { objectId: PAGE, days: ['22-11-2026'], code: 100 })).status).toBe(400);
      expect(
        (await control('POST', '/inject', { objectId: IG, days: ['2026-11-22'], timezone: 'Mars/Olympus' })).status,
      ).toBe(400);
    });
  });

  describe('windows Meta finds too large', () => {
    it('answers a Page window longer than the set number of days with code 1, HTTP 500, and only code and message', async () => {
      expect((await control('POST', '/settings', { reduceDataAboveDays: 7 })).body).toMatchObject({
        reduceDataAboveDays: 7,
      });
      const reduce = await pageInsights('2026-11-01', '2026-11-09');
      expect(reduce.status).toBe(500);
      expect(reduce.body).toEqual({
        error: { code: 1, message: "Please reduce the amount of data you're asking for, then retry your request" },
      });
      expect((await pageInsights('2026-11-01', '2026-11-08')).status).toBe(200);
      expect((await igInsights()).status).toBe(200);
      expect(sandbox.control.calls().byPath[`/${PAGE}/insights`]).toBe(2);
      await control('POST', '/settings', { reduceDataAboveDays: null });
      expect((await pageInsights('2026-11-01', '2026-11-09')).status).toBe(200);
    });

    it("answers a Page window over 93 days and an Instagram one over 30 with Meta's range errors", async () => {
      const page = await pageInsights('2026-08-01', '2026-11-05');
      expect(page).toMatchObject({
        status: 400,
        body: { error: { code: 1, message: 'There cannot be more than 93 days (8035200 s) between since and until' } },
      });
      const ig = await igInsights(1795388400 - 31 * 86_400, 1795388400);
      expect(ig.status).toBe(400);
      expect((ig.body as GraphError).error).toMatchObject({
        code: 100,
        message: '(#100) There cannot be more than 30 days (2592000 s) between since and until',
      });
    });

    it('answers an injected code 1 with HTTP 400 and the 93-days message, in the minimal body when asked', async () => {
      const message = 'There cannot be more than 93 days (8035200 s) between since and until';
      sandbox.control.inject({ objectId: PAGE, code: 1, httpStatus: 400, message, times: 1 });
      const full = await pageInsights();
      expect(full.status).toBe(400);
      expect((full.body as GraphError).error).toMatchObject({ code: 1, message, type: 'OAuthException' });
      sandbox.control.inject({ objectId: PAGE, code: 1, httpStatus: 400, message, minimalBody: true, times: 1 });
      const minimal = await pageInsights();
      expect(minimal.status).toBe(400);
      expect(minimal.body).toEqual({ error: { code: 1, message } });
      expect(Object.keys(((await control('GET', '/')).body as { injections: unknown[] }).injections)).toEqual([]);
    });
  });

  describe("Meta's HTML error page", () => {
    it.each([500, 200])('serves it with HTTP %i as text/html, then JSON again', async (httpStatus) => {
      expect((await control('POST', '/inject', { objectId: PAGE, html: true, httpStatus, times: 1 })).status).toBe(201);
      const response = await fetch(
        `${sandbox.url}/v24.0/${PAGE}/insights?metric=page_daily_follows_unique&period=day&access_token=${TOKEN}`,
      );
      expect(response.status).toBe(httpStatus);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await response.text();
      expect(page).toContain('<title>Facebook | Error</title>');
      expect(page).toContain('Sorry, something went wrong.');
      expect((await pageInsights()).status).toBe(200);
      expect(sandbox.control.calls().byPath[`/${PAGE}/insights`]).toBe(2);
    });

    it('refuses html with a code or with a 4xx', async () => {
      expect((await control('POST', '/inject', { objectId: PAGE, html: true, code: 1 })).status).toBe(400);
      expect((await control('POST', '/inject', { objectId: PAGE, html: true, httpStatus: 404 })).status).toBe(400);
      expect((await control('POST', '/inject', { objectId: PAGE, httpStatus: 200 })).status).toBe(400);
    });
  });

  describe('quotas and usage headers', () => {
    it('grows the usage headers with each call', async () => {
      sandbox.control.setQuota({ objectId: PAGE, calls: 10 });
      const first = await pageInsights();
      const second = await pageInsights();
      expect(buc(first.headers)).toEqual({
        [PAGE]: [
          { type: 'pages', call_count: 10, total_cputime: 3, total_time: 3, estimated_time_to_regain_access: 0 },
        ],
      });
      expect(buc(second.headers)[PAGE][0]).toMatchObject({ call_count: 20, estimated_time_to_regain_access: 0 });
      expect(app(first.headers)).toEqual({ call_count: 1, total_time: 0, total_cputime: 0 });
      const ig = await igInsights();
      expect(buc(ig.headers)[IG][0]).toMatchObject({ type: 'instagram', call_count: 1 });
    });

    it('throttles a Page past its quota with 80001 and the minutes left in its window, still counting the calls', async () => {
      sandbox.control.setQuota({ objectId: PAGE, calls: 2, windowMs: 25 * 60_000 });
      const answers = [await pageInsights(), await pageInsights(), await pageInsights(), await pageInsights()];
      expect(answers.map((a) => a.status)).toEqual([200, 200, 400, 400]);
      const throttled = answers[2];
      expect((throttled.body as GraphError).error).toMatchObject({ code: 80001, type: 'OAuthException' });
      expect(buc(throttled.headers)[PAGE][0]).toMatchObject({ call_count: 150, estimated_time_to_regain_access: 25 });
      expect(buc(answers[3].headers)[PAGE][0]).toMatchObject({ call_count: 200 });
      expect(sandbox.control.calls().byPath[`/${PAGE}/insights`]).toBe(4);
    });

    it('throttles an Instagram account past its quota with 80002', async () => {
      sandbox.control.setQuota({ objectId: IG, calls: 1 });
      expect((await igInsights()).status).toBe(200);
      const throttled = await igInsights();
      expect((throttled.body as GraphError).error.code).toBe(80002);
      expect(buc(throttled.headers)[IG][0]).toMatchObject({ type: 'instagram', estimated_time_to_regain_access: 60 });
    });

    it('throttles the whole app past its quota with 4 and an estimate, whatever the object', async () => {
      sandbox.control.setQuota({ calls: 2, windowMs: 10 * 60_000 });
      await pageInsights();
      await igInsights();
      const throttled = await pageInsights();
      expect((throttled.body as GraphError).error).toMatchObject({
        code: 4,
        message: '(#4) Application request limit reached',
      });
      expect(app(throttled.headers).call_count).toBe(150);
      expect(buc(throttled.headers)[PAGE][0]).toMatchObject({ estimated_time_to_regain_access: 10 });
    });

    it('starts a fresh window once the old one has passed', async () => {
      let now = NOW;
      const clocked = await startGraphSandbox({ now: () => now });
      try {
        clocked.control.setToken({ token: TOKEN });
        clocked.control.setQuota({ objectId: PAGE, calls: 1, windowMs: 60_000 });
        const call = () =>
          fetch(`${clocked.url}/v24.0/${PAGE}?fields=name&access_token=${TOKEN}`).then((r) => r.status);
        expect([await call(), await call()]).toEqual([200, 400]);
        now += 60_000;
        expect(await call()).toBe(200);
      } finally {
        await clocked.close();
      }
    });

    it("sends a Page's X-Page-Usage instead of its business-use-case header when set, and code 32 when its quota is spent", async () => {
      expect((await control('POST', '/settings', { pageUsageHeader: true })).body).toMatchObject({
        pageUsageHeader: true,
      });
      sandbox.control.setQuota({ objectId: PAGE, calls: 2, windowMs: 25 * 60_000 });
      const first = await pageInsights();
      expect(first.status).toBe(200);
      expect(JSON.parse(first.headers.get('x-page-usage') ?? 'null')).toEqual({
        call_count: 50,
        total_cputime: 15,
        total_time: 17,
      });
      expect(first.headers.get('x-business-use-case-usage')).toBeNull();
      expect(first.headers.get('x-app-usage')).not.toBeNull();
      expect(buc((await igInsights()).headers)[IG][0]).toMatchObject({ type: 'instagram' });
      await pageInsights();
      const spent = await pageInsights();
      expect(spent.status).toBe(400);
      expect((spent.body as GraphError).error).toMatchObject({ code: 32, message: '(#32) Page request limit reached' });
      expect(JSON.parse(spent.headers.get('x-page-usage') ?? 'null')).toMatchObject({
        call_count: 150,
        estimated_time_to_regain_access: 25,
      });
      await control('POST', '/settings', { pageUsageHeader: false });
      expect((await pageInsights()).headers.get('x-page-usage')).toBeNull();
    });

    it('sends no usage headers when told not to', async () => {
      sandbox.control.configure({ usageHeaders: false });
      const { status, headers } = await pageInsights();
      expect(status).toBe(200);
      expect(headers.get('x-app-usage')).toBeNull();
      expect(headers.get('x-business-use-case-usage')).toBeNull();
    });
  });

  describe('injections', () => {
    it('answers an injected code for the given number of calls, then normally again', async () => {
      sandbox.control.inject({ objectId: PAGE, code: 613, times: 2 });
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await pageInsights()).status);
      expect(statuses).toEqual([400, 400, 200]);
      expect(sandbox.control.snapshot().injections).toEqual([]);
    });

    it('answers an injected 5xx as a bare error page, with no Graph body', async () => {
      sandbox.control.inject({ objectId: PAGE, httpStatus: 502 });
      const { status, body } = await pageInsights();
      expect(status).toBe(502);
      expect(typeof body).toBe('string');
    });

    it('holds an answer for the injected latency', async () => {
      sandbox.control.inject({ objectId: PAGE, latencyMs: 150 });
      const started = Date.now();
      expect((await pageInsights()).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    });

    it('keeps a hanging call open until the caller gives up', async () => {
      sandbox.control.inject({ objectId: PAGE, hang: true, times: 1 });
      const controller = new AbortController();
      const pending = fetch(`${sandbox.url}/v24.0/${PAGE}?fields=name&access_token=${TOKEN}`, {
        signal: controller.signal,
      }).catch((err: unknown) => err);
      await waitFor(async () => sandbox.control.calls().total === 1, {
        timeoutMs: 5_000,
        intervalMs: 10,
        what: 'the call to arrive',
      });
      controller.abort();
      expect(await pending).toMatchObject({ name: 'AbortError' });
      expect((await graph(`${PAGE}?fields=name`)).status).toBe(200);
    });

    it('answers probabilistic injections in their shares, the same way for the same seed', async () => {
      const storm = async (target: RunningGraphSandbox) => {
        target.control.setToken({ token: TOKEN });
        target.control.setQuota({ calls: 10_000 });
        target.control.setQuota({ objectId: PAGE, calls: 10_000 });
        target.control.inject({ objectId: '*', code: 17, probability: 0.3 });
        target.control.inject({ objectId: '*', httpStatus: 503, probability: 0.1 });
        const statuses: number[] = [];
        for (let i = 0; i < 400; i += 1) {
          const response = await fetch(`${target.url}/v24.0/${PAGE}?fields=name&access_token=${TOKEN}`);
          await response.arrayBuffer();
          statuses.push(response.status);
        }
        return statuses;
      };
      const first = await storm(sandbox);
      const share = (status: number) => first.filter((s) => s === status).length / first.length;
      expect(share(400)).toBeGreaterThan(0.22);
      expect(share(400)).toBeLessThan(0.38);
      expect(share(503)).toBeGreaterThan(0.05);
      expect(share(503)).toBeLessThan(0.15);
      const again = await startGraphSandbox({ now: () => NOW });
      try {
        expect(await storm(again)).toEqual(first);
      } finally {
        await again.close();
      }
    });

    it('applies an injection to one edge only when asked', async () => {
      sandbox.control.inject({ objectId: IG, edge: 'node', code: 2 });
      expect((await igInsights()).status).toBe(200);
      const node = await graph(`${IG}?fields=followers_count`);
      expect(node.status).toBe(500);
      expect((node.body as GraphError).error).toMatchObject({ code: 2, is_transient: true });
    });
  });

  describe('the /__sandbox control routes', () => {
    it('counts the calls it served per object and path, lists them without tokens, and resets them', async () => {
      await pageInsights();
      await graph(`${IG}?fields=followers_count`);
      await igInsights();
      await igInsights();

      const calls = await control('GET', '/calls');
      expect(calls.body).toEqual({
        total: 4,
        byPath: { [`/${PAGE}/insights`]: 1, [`/${IG}`]: 1, [`/${IG}/insights`]: 2 },
        byObject: { [PAGE]: 1, [IG]: 3 },
      });
      const requests = (await control('GET', '/requests')).body as {
        path: string;
        query: Record<string, string>;
        status: number;
      }[];
      expect(requests).toHaveLength(4);
      expect(requests[1]).toMatchObject({ path: `/${IG}`, query: { fields: 'followers_count' }, status: 200 });
      expect(JSON.stringify(requests)).not.toContain(TOKEN);

      expect(await control('POST', '/reset', { scope: 'calls' })).toEqual({ status: 200, body: { reset: 'calls' } });
      expect((await control('GET', '/calls')).body).toEqual({ total: 0, byPath: {}, byObject: {} });
      expect((await graph(`${PAGE}?fields=name`)).status).toBe(200);
    });

    it('retires a metric for every account as Meta does, over HTTP, and restores it', async () => {
      const many = 'page_daily_follows_unique,page_media_view,page_follows';
      const page = () => graph(`${PAGE}/insights?metric=${many}&period=day&since=2026-11-20&until=2026-11-23`);
      const ig = () =>
        graph(
          `${IG}/insights?metric=reach,views,follows_and_unfollows&period=day&metric_type=total_value&breakdown=follow_type&since=1795388400&until=1795474800`,
        );
      const answered = (await page()).body as { data: { name: string; values: unknown[] }[] };
      expect(answered.data.map((d) => d.name)).toEqual(many.split(','));
      expect(answered.data[1].values).toHaveLength(3);
      const broken = (await ig()).body as { data: { name: string; total_value: Record<string, unknown> }[] };
      expect(broken.data[1].total_value).toEqual({ value: expect.any(Number) });
      expect(broken.data[2].total_value).toEqual({
        breakdowns: [
          {
            dimension_keys: ['follow_type'],
            results: [
              { dimension_values: ['FOLLOWER'], value: expect.any(Number) },
              { dimension_values: ['NON_FOLLOWER'], value: expect.any(Number) },
            ],
          },
        ],
      });

      expect(await control('POST', '/metrics/retire', { metric: 'page_media_view', platform: 'page' })).toEqual({
        status: 200,
        body: { retired: ['page:page_media_view'] },
      });
      await control('POST', '/metrics/retire', { metric: 'views', platform: 'instagram' });
      const refusedPage = await page();
      expect(refusedPage.status).toBe(400);
      expect((refusedPage.body as GraphError).error).toMatchObject({
        code: 100,
        type: 'OAuthException',
        message: '(#100) The value must be a valid insights metric',
      });
      const refusedIg = (await ig()).body as GraphError;
      expect(refusedIg.error.message).toMatch(
        /^\(#100\) metric\[1\] must be one of the following values: reach, profile_views, /,
      );
      // The retired name is no longer among the valid ones (profile_views still is).
      expect(refusedIg.error.message).not.toMatch(/ views(,|$)/);
      await control('POST', '/metrics/restore', { metric: 'page_media_view', platform: 'page' });
      expect((await page()).status).toBe(200);
      expect((await control('GET', '/metrics')).body).toEqual({ retired: ['instagram:views'] });
      expect((await control('POST', '/metrics/retire', { metric: 'views' })).status).toBe(400);
    });

    it('registers tokens, injects failures and sets quotas over HTTP', async () => {
      expect(await control('POST', '/tokens', { token: 'http-token', objects: [PAGE] })).toEqual({
        status: 201,
        body: { token: 'http-token', status: 'valid', objects: [PAGE] },
      });
      expect((await graph(`${PAGE}?fields=name`, 'http-token')).status).toBe(200);
      expect((await graph(`${IG}?fields=name`, 'http-token')).status).toBe(400);

      const injected = await control('POST', '/inject', {
        objectId: PAGE,
        code: 80001,
        estimatedTimeToRegainAccess: 7,
        times: 1,
      });
      expect(injected).toMatchObject({
        status: 201,
        body: { id: expect.any(String), objectId: PAGE, code: 80001, remaining: 1 },
      });
      const throttled = await pageInsights();
      expect((throttled.body as GraphError).error.code).toBe(80001);
      expect(buc(throttled.headers)[PAGE][0].estimated_time_to_regain_access).toBe(7);

      await control('POST', '/inject', { objectId: '*', code: 1 });
      expect(await control('DELETE', '/inject')).toEqual({ status: 200, body: { cleared: 1 } });

      expect((await control('POST', '/quota', { objectId: IG, calls: 1, used: 1 })).body).toMatchObject({
        calls: 1,
        used: 1,
      });
      expect(((await igInsights()).body as GraphError).error.code).toBe(80002);

      expect((await control('POST', '/settings', { usageHeaders: false })).body).toEqual({
        usageHeaders: false,
        pageUsageHeader: false,
        reduceDataAboveDays: null,
        separateBreakdowns: false,
      });
      expect((await control('DELETE', '/tokens/http-token')).status).toBe(204);
      expect((await control('GET', '/')).body).toMatchObject({
        settings: { usageHeaders: false },
        accounts: DEMO_ACCOUNTS,
      });

      expect(await control('POST', '/reset')).toEqual({ status: 200, body: { reset: 'all' } });
      expect(((await graph(`${PAGE}?fields=name`, 'http-token')).body as GraphError).error.code).toBe(190);
    });

    it('refuses a control body it cannot use, listing the problems', async () => {
      const bad = await control('POST', '/inject', { objectId: PAGE, code: 'many', httpStatus: 404 });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).toContain('code');
      const notJson = await fetch(`${sandbox.url}/__sandbox/tokens`, { method: 'POST', body: '{' });
      expect(notJson.status).toBe(400);
    });
  });

  it('runs alone with npm run sandbox, printing its URL, the demo ids and tokens, and stops on SIGTERM', async () => {
    const child = spawn(
      path.join(ROOT, 'node_modules', '.bin', 'tsx'),
      [path.join(ROOT, 'src', 'dev', 'meta-sandbox', 'main.ts'), '--port', '0'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const { output, exited } = collect(child);
    try {
      await waitFor(async () => output().includes('Press Ctrl-C'), {
        timeoutMs: 20_000,
        what: 'the sandbox to print its URL',
      });
      const url = /URL:\s+(http:\/\/\S+)/.exec(output())?.[1];
      expect(url).toBeDefined();
      for (const account of DEMO_ACCOUNTS) {
        expect(output()).toContain(account.pageId);
        expect(output()).toContain(account.token);
      }
      const [account] = DEMO_ACCOUNTS;
      const response = await fetch(`${url}/v24.0/${account.pageId}?fields=name&access_token=${account.token}`);
      expect(await response.json()).toEqual({ name: account.name, id: account.pageId });
    } finally {
      child.kill('SIGTERM');
    }
    expect((await exited).code).toBe(0);
  });
});
