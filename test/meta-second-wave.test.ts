import { randomBytes } from 'node:crypto';
import { addDays, dayIn } from '../src/dates';
import { requestRefresh, RefreshRequestDeps } from '../src/temporal/request-refresh';
import { clientRefreshWorkflowId, RefreshAllInput, RefreshClientResult, RefreshTotals } from '../workflows/definitions';
import { ADMIN_KEY, startApi, type TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

/**
 * Meta's second wave of answers, each through the real worker, Temporal and the Graph sandbox over
 * HTTP: a Page's own refusals cost only the Page, a long throttle is held in Postgres and respected
 * by every path, a throttle midway keeps what was fetched, a day Meta refuses costs that day alone,
 * and a Page that is gone is asked once a day. Graph calls are counted where quota is the point.
 */

const PAGE_PERMISSION = {
  10: {
    code: 10,
    message:
      "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature.",
  },
  200: { code: 200, message: '(#200) Permissions error', httpStatus: 403 },
  100: {
    code: 100,
    message:
      "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable feature, or does not support this operation. This endpoint requires the 'pages_read_engagement' permission",
  },
} as const;

describe("Meta's second wave, through the worker and the sandbox", () => {
  let stack: RefreshStack;
  let deps: RefreshRequestDeps;
  let api: TestApi;

  beforeAll(async () => {
    // Throttles without Meta's estimate wait a second, so a retry within a refresh is seen at once.
    stack = await createRefreshStack({ activityOptions: { throttleBackoffMs: 1_000 } });
    deps = {
      temporal: stack.client,
      clients: stack.clients,
      cooldownMs: 0,
      lookbackDays: 2,
      taskQueue: stack.taskQueue,
    };
    api = await startApi(stack, { env: { REFRESH_COOLDOWN: '0s', REFRESH_LOOKBACK_DAYS: '2' } });
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  beforeEach(async () => {
    await stack.database.db('clients').delete();
    stack.sandbox.control.clearInjections();
    stack.sandbox.control.configure({ usageHeaders: true });
    stack.sandbox.control.reset('calls');
  });

  async function refreshNow(clientId: string, days?: string[]): Promise<RefreshClientResult> {
    expect((await requestRefresh(deps, clientId, days ? { days } : {})).status).toBe('started');
    return stack.client.workflow.getHandle(clientRefreshWorkflowId(clientId)).result();
  }

  async function runCycle(): Promise<RefreshTotals> {
    return stack.client.workflow.execute('refreshAllClients', {
      workflowId: `test-cycle-${randomBytes(5).toString('hex')}`,
      taskQueue: stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 0, lookbackDays: 2 } satisfies RefreshAllInput],
      workflowExecutionTimeout: '2m',
    });
  }

  const calls = (path: string): number => stack.sandbox.control.calls().byPath[path] ?? 0;
  const pageCalls = (client: { facebookPageId: string }) => calls(`/${client.facebookPageId}/insights`);
  const instagramCalls = (client: { instagramAccountId: string | null }) =>
    calls(`/${client.instagramAccountId}/insights`);
  const holdOf = (clientId: string, platform: string) =>
    stack.database.db('platform_holds').where({ client_id: clientId, platform }).first();
  /** Moves a hold's end to the past, as the passing of Meta's estimate would. */
  const endHold = (clientId: string, platform: string) =>
    stack.database
      .db('platform_holds')
      .where({ client_id: clientId, platform })
      .update({ held_until: stack.database.db.raw("now() - interval '1 second'") });
  const forceRefresh = (clientId: string) =>
    api.request('/api/social-media-cache?forceRefresh=true', { method: 'POST', key: ADMIN_KEY, body: { clientId } });

  it.each(Object.entries(PAGE_PERMISSION))(
    'gives a Page refused for permission (code %s) facebook_permission_missing, keeps the token valid and Instagram refreshing every cycle',
    async (_code, refusal) => {
      const client = await stack.addClient();
      const today = dayIn(client.timezone);
      stack.sandbox.control.inject({ objectId: client.facebookPageId, edge: 'insights', ...refusal });
      for (let cycle = 1; cycle <= 2; cycle++) {
        expect(await runCycle()).toMatchObject({ total: 1, refreshed: 1, failed: 0, skippedTokenInvalid: 0 });
        const row = await stack.cache.get(client.id, today);
        expect(row?.data).toMatchObject({
          facebookNewFollowers: null,
          instagramFollowers: expect.any(Number),
          instagramReach: expect.any(Number),
          unavailable: { facebookNewFollowers: 'facebook_permission_missing' },
        });
        expect(await stack.clients.get(client.id)).toMatchObject({
          tokenStatus: 'valid',
          facebookStatus: 'permission_missing',
          instagramStatus: 'ok',
        });
        // Instagram was asked again this cycle: the client is not skipped.
        expect(instagramCalls(client)).toBe(2 * cycle);
      }
      const read = await api.request(`/api/clients/${client.id}`, { key: ADMIN_KEY });
      expect(read.body.data).toMatchObject({ facebookStatus: 'permission_missing', tokenStatus: 'valid' });
      const status = await api.request('/status', { key: ADMIN_KEY });
      expect(status.text).toContain('Page permission missing');
      expect(status.text).toContain('pages_read_engagement');
    },
  );

  it('marks the token invalid only when the permission is missing on every object it reads', async () => {
    const client = await stack.addClient({ instagram: false });
    stack.sandbox.control.inject({ objectId: client.facebookPageId, edge: 'insights', ...PAGE_PERMISSION[10] });
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'failed', errorCode: '10' });
    expect(await stack.clients.get(client.id)).toMatchObject({
      tokenStatus: 'invalid',
      tokenError: expect.stringMatching(/^10: .*pages_read_engagement/),
      facebookStatus: 'permission_missing',
    });
    expect(await runCycle()).toMatchObject({ total: 1, skippedTokenInvalid: 1 });
  });

  it('holds a Page throttled for 4 hours: one Page call, whatever path asks after it, and one when the time is up', async () => {
    const client = await stack.addClient();
    const today = dayIn(client.timezone);
    await refreshNow(client.id);
    const before = await stack.cache.get(client.id, today);
    expect(before?.data?.facebookNewFollowers).toEqual(expect.any(Number));
    stack.sandbox.control.reset('calls');

    stack.sandbox.control.inject({
      objectId: client.facebookPageId,
      edge: 'insights',
      code: 80001,
      estimatedTimeToRegainAccess: 240,
    });
    const throttled = await refreshNow(client.id);
    expect(throttled).toMatchObject({ errorCode: '80001' });
    expect(pageCalls(client)).toBe(1);
    const hold = await holdOf(client.id, 'facebook');
    expect(hold).toMatchObject({ reason: 'throttled', error_code: '80001' });
    const heldForMs = new Date(hold.held_until).getTime() - Date.now();
    expect(heldForMs).toBeGreaterThan(239 * 60_000);
    expect(heldForMs).toBeLessThanOrEqual(240 * 60_000);
    // The kept number says since when it is that old; Instagram's numbers are new.
    const after = await stack.cache.get(client.id, today);
    expect(after?.data).toMatchObject({
      facebookNewFollowers: before?.data?.facebookNewFollowers,
      keptFrom: { facebookNewFollowers: before?.fetchedAt?.toISOString() },
    });
    expect(await stack.clients.get(client.id)).toMatchObject({ facebookStatus: 'throttled', tokenStatus: 'valid' });

    // A refresh, a cycle, a read's refresh and an admin's forced refresh: none calls the Page.
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'refreshed' });
    expect(await runCycle()).toMatchObject({ total: 1, refreshed: 1 });
    const forced = await forceRefresh(client.id);
    expect(forced.status).toBe(202);
    expect(forced.body.refresh.held).toEqual([
      { platform: 'facebook', reason: 'throttled', until: expect.any(String) },
    ]);
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
    // A read of a day never fetched asks for it: Instagram answers it, the Page is not called.
    const oldDay = addDays(today, -10);
    const read = await api.request(`/api/social-media-cache?clientId=${client.id}&period=${oldDay}`);
    expect(read.body.refresh.status).toBe('started');
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
    expect((await stack.cache.get(client.id, oldDay))?.data).toMatchObject({
      facebookNewFollowers: null,
      instagramReach: expect.any(Number),
      unavailable: { facebookNewFollowers: 'throttled' },
    });
    expect(pageCalls(client)).toBe(1);
    expect(instagramCalls(client)).toBeGreaterThanOrEqual(3 * 2);

    // Both platforms held: the forced refresh starts nothing and says when a call is possible.
    stack.sandbox.control.setInstagramMode({
      igId: client.instagramAccountId!,
      mode: 'throttled',
      estimatedTimeToRegainAccess: 120,
    });
    await refreshNow(client.id);
    expect((await holdOf(client.id, 'instagram'))?.reason).toBe('throttled');
    const igCalls = instagramCalls(client) + calls(`/${client.instagramAccountId}`);
    const refused = await forceRefresh(client.id);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'meta_throttled' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(119 * 60);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(120 * 60);
    // The status page's refresh button says the same.
    const page = await api.request(`/status/clients/${client.id}`, { key: ADMIN_KEY });
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1];
    const button = await api.request(`/status/clients/${client.id}/refresh`, {
      method: 'POST',
      key: ADMIN_KEY,
      rawBody: `csrf=${encodeURIComponent(csrf)}`,
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: api.url,
        'Sec-Fetch-Site': 'same-origin',
      },
    });
    expect(button.status).toBe(429);
    expect(button.text).toContain('Meta throttles this client');
    expect(await runCycle()).toMatchObject({ total: 1 });
    expect(instagramCalls(client) + calls(`/${client.instagramAccountId}`)).toBe(igCalls);
    expect(pageCalls(client)).toBe(1);

    // Meta's estimate has passed: the next refresh calls the Page once.
    stack.sandbox.control.clearInjections();
    stack.sandbox.control.setInstagramMode({ igId: client.instagramAccountId!, mode: 'ok' });
    await endHold(client.id, 'facebook');
    await endHold(client.id, 'instagram');
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'refreshed' });
    expect(pageCalls(client)).toBe(2);
    expect((await stack.cache.get(client.id, today))?.data?.keptFrom).toBeUndefined();
    expect(await stack.clients.get(client.id)).toMatchObject({ facebookStatus: 'ok' });
  });

  it('names a Page that is gone (100/33), asks it again once a day, and at once when the token changes', async () => {
    const client = await stack.addClient();
    const today = dayIn(client.timezone);
    stack.sandbox.control.inject({
      objectId: client.facebookPageId,
      edge: 'insights',
      code: 100,
      subcode: 33,
      type: 'GraphMethodException',
      message: `Unsupported get request. Object with ID '${client.facebookPageId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
    });
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'refreshed' });
    expect((await stack.cache.get(client.id, today))?.data).toMatchObject({
      facebookNewFollowers: null,
      instagramReach: expect.any(Number),
      unavailable: { facebookNewFollowers: 'page_not_accessible' },
    });
    expect(await stack.clients.get(client.id)).toMatchObject({
      facebookStatus: 'not_accessible',
      tokenStatus: 'valid',
    });
    const hold = await holdOf(client.id, 'facebook');
    expect(hold.reason).toBe('not_accessible');
    const status = await api.request('/status', { key: ADMIN_KEY });
    expect(status.text).toContain('Page not accessible');
    expect(status.text).toContain(`clients update ${client.id} --page-id`);
    const forced = await forceRefresh(client.id);
    expect(forced.status).toBe(202);
    expect(forced.body.refresh.held).toEqual([
      { platform: 'facebook', reason: 'not_accessible', until: expect.any(String) },
    ]);
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
    expect(new Date(hold.held_until).getTime() - Date.now()).toBeGreaterThan(23.9 * 3_600_000);

    for (let i = 0; i < 3; i++) expect(await refreshNow(client.id)).toMatchObject({ outcome: 'refreshed' });
    expect(await runCycle()).toMatchObject({ total: 1, refreshed: 1 });
    expect(pageCalls(client)).toBe(1);
    expect(instagramCalls(client)).toBe(2 * 6);

    // A day later: one call.
    await endHold(client.id, 'facebook');
    await refreshNow(client.id);
    await refreshNow(client.id);
    expect(pageCalls(client)).toBe(2);

    // A new token may reach the Page: it is asked at once.
    const token = `${client.token}-renewed`;
    stack.sandbox.control.setToken({ token });
    await stack.clients.update(client.id, { accessToken: token });
    expect(await holdOf(client.id, 'facebook')).toBeUndefined();
    stack.sandbox.control.clearInjections();
    await refreshNow(client.id);
    expect(pageCalls(client)).toBe(3);
    expect(await stack.clients.get(client.id)).toMatchObject({ facebookStatus: 'ok' });
    expect((await stack.cache.get(client.id, today))?.data?.facebookNewFollowers).toEqual(expect.any(Number));
  });

  it("calls a throttled Page once, and again when Meta's estimate is up, when a new client's backfill meets a manual cycle", async () => {
    const facebookPageId = `55${Date.now() % 10_000_000}`;
    const token = `test-token-${randomBytes(4).toString('hex')}`;
    stack.sandbox.control.setToken({ token });
    // 0.1 minute: Meta's estimate, shrunk so the test waits 6 s.
    stack.sandbox.control.inject({
      objectId: facebookPageId,
      edge: 'insights',
      code: 80001,
      estimatedTimeToRegainAccess: 0.1,
      times: 1,
    });
    const created = await api.request('/api/clients', {
      method: 'POST',
      key: ADMIN_KEY,
      body: {
        name: 'Backfill meets cycle',
        facebookPageId,
        instagramAccountId: `1784${Date.now() % 1_000_000}`,
        accessToken: token,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.backfill.status).toBe('started');
    const cycle = await api.request('/api/automated/refresh-social-media-cache', { method: 'POST', key: ADMIN_KEY });
    expect(cycle.status).toBe(202);
    await stack.client.workflow.getHandle(cycle.body.data.workflowId).result();
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(created.body.data.id)).result();
    const pageRequests = stack.sandbox.control.requests().filter((r) => r.path === `/${facebookPageId}/insights`);
    expect(pageRequests.map((r) => r.code)).toEqual([80001, undefined]);
    expect(Date.parse(pageRequests[1].at) - Date.parse(pageRequests[0].at)).toBeGreaterThanOrEqual(6_000);
  });

  it("does not call a Page throttled for hours again when the refresh's later round fetches Instagram's deferred days", async () => {
    const client = await stack.addClient();
    const today = dayIn(client.timezone);
    const days = [addDays(today, -3), addDays(today, -2), addDays(today, -1)];
    stack.sandbox.control.inject({
      objectId: client.facebookPageId,
      edge: 'insights',
      code: 80001,
      estimatedTimeToRegainAccess: 240,
    });
    // The first Instagram day's answer says the account's budget needs 3 s: the rest are deferred that long.
    stack.sandbox.control.inject({
      objectId: client.instagramAccountId!,
      edge: 'insights',
      estimatedTimeToRegainAccess: 0.05,
      times: 1,
    });
    await refreshNow(client.id, days);
    expect(pageCalls(client)).toBe(1);
    // Every Instagram day asked once: the deferred ones in the later round.
    const asked = stack.sandbox.control
      .requests()
      .filter((r) => r.path === `/${client.instagramAccountId}/insights`)
      .map((r) => r.query.since);
    expect(asked.length).toBeGreaterThanOrEqual(days.length);
    expect(new Set(asked).size).toBe(asked.length);
    for (const day of days)
      expect((await stack.cache.get(client.id, day))?.data?.instagramReach).toEqual(expect.any(Number));
  });

  it('keeps the days a throttle midway left fetched, and asks only the rest after the wait', async () => {
    const client = await stack.addClient();
    const today = dayIn(client.timezone);
    const days = [addDays(today, -5), addDays(today, -4), addDays(today, -3)];
    // No usage headers (Meta sends none until enough calls were made): the third day's call is throttled unannounced.
    stack.sandbox.control.configure({ usageHeaders: false });
    stack.sandbox.control.setQuota({ objectId: client.instagramAccountId!, calls: 2, windowMs: 500 });
    expect(await refreshNow(client.id, days)).toMatchObject({ outcome: 'refreshed' });
    const asked = stack.sandbox.control
      .requests()
      .filter((r) => r.path === `/${client.instagramAccountId}/insights`)
      .map((r) => ({ since: r.query.since, code: r.code }));
    // Three days, one throttled and asked again once: four calls, the last for the third day alone.
    expect(asked).toHaveLength(4);
    expect(asked[2].code).toBe(80002);
    expect(asked[3]).toEqual({ since: asked[2].since, code: undefined });
    expect(new Set(asked.map((a) => a.since)).size).toBe(3);
    expect(pageCalls(client)).toBe(1);
    for (const day of days)
      expect((await stack.cache.get(client.id, day))?.data).toMatchObject({
        instagramReach: expect.any(Number),
        instagramProfileViews: expect.any(Number),
        facebookNewFollowers: expect.any(Number),
      });
  });

  it('costs a day Meta refuses (a subcode) that day alone, and does not ask it again', async () => {
    const client = await stack.addClient();
    const today = dayIn(client.timezone);
    // The lookback's days, not yet final: a refresh asks them again every time, unless Meta refused them.
    const days = [addDays(today, -1), today];
    // The first insights call is the earliest day's.
    stack.sandbox.control.inject({
      objectId: client.instagramAccountId!,
      edge: 'insights',
      code: 100,
      subcode: 2108006,
      message: 'Invalid parameter',
      times: 1,
    });
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'refreshed' });
    expect((await stack.cache.get(client.id, days[0]))?.data).toMatchObject({
      instagramReach: null,
      instagramProfileViews: null,
      facebookNewFollowers: expect.any(Number),
      unavailable: { instagramReach: 'meta_refused', instagramProfileViews: 'meta_refused' },
    });
    expect((await stack.cache.get(client.id, today))?.data).toMatchObject({
      instagramReach: expect.any(Number),
      instagramProfileViews: expect.any(Number),
    });
    expect(instagramCalls(client)).toBe(2);
    // Asked again: Instagram skips the refused day, the Page is still asked for both.
    stack.sandbox.control.reset('calls');
    await refreshNow(client.id);
    expect(
      stack.sandbox.control.requests().filter((r) => r.path === `/${client.instagramAccountId}/insights`),
    ).toHaveLength(1);
    expect(pageCalls(client)).toBe(1);
    expect((await stack.cache.get(client.id, days[0]))?.data?.unavailable).toMatchObject({
      instagramReach: 'meta_refused',
    });
  });

  it('marks a metric unsupported only when Meta says so: a code 100 about the range costs its day', async () => {
    const client = await stack.addClient();
    const today = dayIn(client.timezone);
    const days = [addDays(today, -6), addDays(today, -5)];
    stack.sandbox.control.inject({
      objectId: client.instagramAccountId!,
      edge: 'insights',
      code: 100,
      message: '(#100) There cannot be more than 30 days (2592000 s) between since and until',
      times: 1,
    });
    await refreshNow(client.id, days);
    expect((await stack.cache.get(client.id, days[0]))?.data?.unavailable).toEqual({
      instagramReach: 'meta_refused',
      instagramProfileViews: 'meta_refused',
      instagramFollowers: 'no_snapshot',
    });
    expect((await stack.cache.get(client.id, days[1]))?.data?.instagramReach).toEqual(expect.any(Number));
  });
});
