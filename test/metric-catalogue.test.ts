import { addDays, dayBoundsUnix, dayIn } from '../src/dates';
import { instagramTotalValue, pageDailyFollows } from '../src/dev/meta-sandbox/data';
import { METRIC_NAMES } from '../src/domain/vocabulary';
import { rangeResponse } from '../src/api/schemas';
import { requestRefresh, RefreshRequestDeps } from '../src/temporal/request-refresh';
import { clientRefreshWorkflowId, RefreshClientResult } from '../workflows/definitions';
import { ADMIN_KEY, startApi, type TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

/**
 * The metric catalogue end to end, through the worker, Temporal, the Graph sandbox over HTTP and
 * the API: every metric in the Graph calls the seed's four took, range totals and CSV, and the
 * fleet's watch on a metric Meta retires.
 */

const LOOKBACK = 2;

describe('the metric catalogue, end to end', () => {
  let stack: RefreshStack;
  let deps: RefreshRequestDeps;
  let api: TestApi;

  beforeAll(async () => {
    stack = await createRefreshStack({ activityOptions: { metrics: METRIC_NAMES, retireAfterClients: 2 } });
    deps = {
      temporal: stack.client,
      clients: stack.clients,
      cooldownMs: 0,
      lookbackDays: LOOKBACK,
      taskQueue: stack.taskQueue,
    };
    api = await startApi(stack, {
      env: { METRICS: 'all', REFRESH_COOLDOWN: '0s', REFRESH_LOOKBACK_DAYS: String(LOOKBACK) },
    });
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  beforeEach(async () => {
    await stack.database.db('clients').delete();
    await stack.database.db('metric_retirements').delete();
    stack.sandbox.control.reset('all');
  });

  async function refreshNow(clientId: string): Promise<RefreshClientResult> {
    expect((await requestRefresh(deps, clientId, {})).status).toBe('started');
    return stack.client.workflow.getHandle(clientRefreshWorkflowId(clientId)).result();
  }

  const requestsTo = (objectId: string) =>
    stack.sandbox.control.requests().filter((r) => r.path === `/${objectId}/insights`);
  const range = async (clientId: string, from: string, to: string, headers: Record<string, string> = {}) =>
    api.request(`/api/social-media-cache/range?clientId=${clientId}&from=${from}&to=${to}`, { headers });

  it("fetches every metric in the Graph calls the seed's four took, and shows each by name", async () => {
    const client = await stack.addClient();
    const result = await refreshNow(client.id);
    expect(result.outcome).toBe('refreshed');
    // One Page call for the window, Instagram's followers, one Instagram call per day: as with four metrics.
    expect(stack.sandbox.control.calls().total).toBe(2 + LOOKBACK);
    const [page] = requestsTo(client.facebookPageId);
    expect(page.query.metric.split(',').sort()).toEqual(
      [
        'page_daily_follows_unique',
        'page_daily_follows',
        'page_daily_unfollows_unique',
        'page_follows',
        'page_media_view',
        'page_total_media_view_unique',
        'page_post_engagements',
        'page_total_actions',
        'page_views_total',
        'page_video_views',
      ].sort(),
    );
    const instagram = requestsTo(client.instagramAccountId!);
    expect(instagram).toHaveLength(LOOKBACK);
    expect(instagram[0].query).toMatchObject({ metric_type: 'total_value', breakdown: 'follow_type', period: 'day' });
    expect(instagram[0].query.metric.split(',')).toEqual(
      expect.arrayContaining(['reach', 'profile_views', 'views', 'follows_and_unfollows', 'profile_links_taps']),
    );

    const today = await api.request(`/api/social-media-cache?clientId=${client.id}`);
    expect(today.status).toBe(200);
    for (const name of METRIC_NAMES) expect(typeof today.body.data[name]).toBe('number');
    expect(today.body.data.unavailable).toBeUndefined();
    const yesterday = addDays(dayIn(client.timezone), -1);
    const day = await api.request(`/api/social-media-cache?clientId=${client.id}&period=${yesterday}`);
    // A breakdown's parts by name: follows and unfollows of follows_and_unfollows by follow_type.
    const { since, until } = dayBoundsUnix(yesterday, client.timezone);
    const now = Math.floor(Date.now() / 1000);
    const igId = client.instagramAccountId!;
    expect(day.body.data.instagramFollows).toBe(
      instagramTotalValue(igId, 'follows_and_unfollows:FOLLOWER', since, until, now),
    );
    expect(day.body.data.instagramUnfollows).toBe(
      instagramTotalValue(igId, 'follows_and_unfollows:NON_FOLLOWER', since, until, now),
    );
    expect(day.body.data.instagramReach).toBe(instagramTotalValue(igId, 'reach', since, until, now));
    expect(day.body.data.facebookUnfollows).toBe(
      pageDailyFollows(client.facebookPageId, yesterday, 'page_daily_unfollows_unique'),
    );
  });

  it('asks a breakdown on its own only once Meta refused it beside the other metrics', async () => {
    stack.sandbox.control.configure({ separateBreakdowns: true });
    const client = await stack.addClient();
    expect((await refreshNow(client.id)).outcome).toBe('refreshed');
    const instagram = requestsTo(client.instagramAccountId!);
    // The first day: the refused mix, then the two parts; the second day: the two parts at once.
    expect(instagram.map((r) => r.query.breakdown ?? null)).toEqual([
      'follow_type',
      null,
      'follow_type',
      null,
      'follow_type',
    ]);
    const today = dayIn(client.timezone);
    const day = (await api.request(`/api/social-media-cache?clientId=${client.id}&period=${today}`)).body.data;
    expect(typeof day.instagramFollows).toBe('number');
    expect(typeof day.instagramViews).toBe('number');
  });

  it('answers a range with totals by kind, and as CSV for spreadsheets', async () => {
    const client = await stack.addClient();
    await refreshNow(client.id);
    const today = dayIn(client.timezone);
    const from = addDays(today, -1);
    const json = await range(client.id, from, today);
    expect(json.status).toBe(200);
    expect(rangeResponse.safeParse(json.body).success).toBe(true);
    const [first, second] = json.body.data;
    expect(json.body.totals.facebookNewFollowers).toEqual({
      kind: 'flow',
      value: first.facebookNewFollowers + second.facebookNewFollowers,
      days: 2,
    });
    expect(json.body.totals.facebookFollowers).toEqual({ kind: 'stock', value: second.facebookFollowers, day: today });
    expect(json.body.totals.instagramReach).toEqual({ kind: 'unique', value: null, reason: 'not_summable' });
    expect(json.body.totals.instagramAccountsEngaged).toMatchObject({ value: null, reason: 'not_summable' });
    // Followers are a snapshot: only today has one, so the stock's total is today's.
    expect(json.body.totals.instagramFollowers).toEqual({
      kind: 'stock',
      value: second.instagramFollowers,
      day: today,
    });

    const csv = await range(client.id, from, today, { Accept: 'text/csv' });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('etag')).not.toBe(json.headers.get('etag'));
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(['period', ...METRIC_NAMES].join(','));
    expect(lines).toHaveLength(3);
    const cells = lines[2].split(',');
    expect(cells[0]).toBe(today);
    expect(cells[1 + METRIC_NAMES.indexOf('instagramViews')]).toBe(String(second.instagramViews));
    // A day without a snapshot is an empty cell, never 0.
    expect(lines[1].split(',')[1 + METRIC_NAMES.indexOf('instagramFollowers')]).toBe('');
    const asked = await api.request(
      `/api/social-media-cache/range?clientId=${client.id}&from=${from}&to=${today}&format=csv`,
    );
    expect(asked.text).toBe(csv.text);
    const bad = await api.request(
      `/api/social-media-cache/range?clientId=${client.id}&from=${from}&to=${today}&format=xml`,
    );
    expect(bad.status).toBe(400);
  });

  it('retires a metric Meta refuses across the fleet: no request carries it, the others flow, its successor starts, the seam shows', async () => {
    const [a, b, c] = [await stack.addClient(), await stack.addClient(), await stack.addClient()];
    stack.sandbox.control.retireMetric({ metric: 'page_daily_follows_unique', platform: 'page' });

    // The first client: Meta refuses the whole Page request; the refused metric is found, the others are written.
    expect((await refreshNow(a.id)).outcome).toBe('refreshed');
    const today = dayIn(a.timezone);
    const dayOf = async (clientId: string) =>
      (await api.request(`/api/social-media-cache?clientId=${clientId}&period=${today}`)).body.data;
    const first = await dayOf(a.id);
    expect(first).toMatchObject({
      facebookNewFollowers: null,
      unavailable: { facebookNewFollowers: 'metric_unsupported' },
    });
    expect(typeof first.facebookUnfollows).toBe('number');
    expect(typeof first.instagramReach).toBe('number');
    const listed = async () =>
      ((await api.request('/api/metrics')).body.data as { name: string; status: string }[]).find(
        (m) => m.name === 'facebookNewFollowers',
      );
    expect((await listed())?.status).toBe('active');

    // The second client refused too: retired for the fleet.
    await refreshNow(b.id);
    expect(
      await stack.database.db('metric_retirements').where({ metric: 'facebookNewFollowers' }).first(),
    ).toMatchObject({
      since: today,
      replaced_by: 'facebookFollows',
      clients: 2,
    });

    // The third client never asks it: one Page call, without the retired name, and the successor answers.
    stack.sandbox.control.reset('calls');
    await refreshNow(c.id);
    const asked = requestsTo(c.facebookPageId);
    expect(asked).toHaveLength(1);
    expect(asked[0].query.metric.split(',')).not.toContain('page_daily_follows_unique');
    expect(asked[0].query.metric.split(',')).toContain('page_daily_follows');
    // The API reads the retirements again within ten seconds (each process keeps them that long).
    const deadline = Date.now() + 15_000;
    while ((await listed())?.status !== 'retired' && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 250));
    const third = await dayOf(c.id);
    expect(third).toMatchObject({
      facebookNewFollowers: null,
      unavailable: { facebookNewFollowers: 'metric_retired' },
    });
    expect(third.facebookFollows).toBe(pageDailyFollows(c.facebookPageId, today, 'page_daily_follows'));
    const seam = await range(c.id, addDays(today, -1), today);
    expect(seam.body.retired).toEqual({ facebookNewFollowers: { since: today, replacedBy: 'facebookFollows' } });
    expect(seam.body.totals.facebookNewFollowers).toMatchObject({ value: null });
    expect(await listed()).toMatchObject({ status: 'retired', since: today, replacedBy: 'facebookFollows' });
    const status = await api.request('/status', { key: ADMIN_KEY, headers: { Accept: 'text/html' } });
    expect(status.text).toContain('Metrics Meta retired (1)');
    expect(status.text).toContain('metrics restore facebookNewFollowers');

    // Meta restores it; an operator asks it again.
    stack.sandbox.control.restoreMetric({ metric: 'page_daily_follows_unique', platform: 'page' });
    const restored = await api.request('/api/metrics/facebookNewFollowers/restore', { method: 'POST', key: ADMIN_KEY });
    expect(restored.status).toBe(200);
    expect(
      (await api.request('/api/metrics/facebookNewFollowers/restore', { method: 'POST', key: ADMIN_KEY })).body.error
        .code,
    ).toBe('metric_not_retired');
    expect(
      (await api.request('/api/metrics/instagramImpressions/restore', { method: 'POST', key: ADMIN_KEY })).status,
    ).toBe(404);
    stack.sandbox.control.reset('calls');
    await refreshNow(c.id);
    expect(requestsTo(c.facebookPageId)[0].query.metric.split(',')).toContain('page_daily_follows_unique');
    // The API keeps a fresh answer in memory for at most a second.
    const until = Date.now() + 3_000;
    let back = await dayOf(c.id);
    while (typeof back.facebookNewFollowers !== 'number' && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      back = await dayOf(c.id);
    }
    expect(back.facebookNewFollowers).toBe(pageDailyFollows(c.facebookPageId, today));
  });

  it("keeps a metric Meta refuses for one client that client's own, and does not ask it again for a day", async () => {
    const [quirky, other] = [await stack.addClient(), await stack.addClient()];
    stack.sandbox.control.inject({
      objectId: quirky.instagramAccountId!,
      edge: 'insights',
      metricUnsupported: 'views',
    });
    await refreshNow(quirky.id);
    await refreshNow(other.id);
    const today = dayIn(quirky.timezone);
    const day = (await api.request(`/api/social-media-cache?clientId=${quirky.id}&period=${today}`)).body.data;
    expect(day).toMatchObject({ instagramViews: null, unavailable: { instagramViews: 'metric_unsupported' } });
    expect(typeof day.instagramReach).toBe('number');
    expect(await stack.database.db('metric_retirements').count<{ count: string }[]>('* as count')).toEqual([
      { count: '0' },
    ]);
    // The next refresh does not spend a failed call on it: one Instagram call per day, without views.
    stack.sandbox.control.reset('calls');
    await refreshNow(quirky.id);
    const again = requestsTo(quirky.instagramAccountId!);
    expect(again).toHaveLength(LOOKBACK);
    for (const request of again) expect(request.query.metric.split(',')).not.toContain('views');
  });
});
