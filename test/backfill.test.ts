import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { addDays, dayIn } from '../src/dates';
import type { CallCounts } from '../src/dev/meta-sandbox';
import { requestRefresh, RefreshRequestDeps } from '../src/temporal/request-refresh';
import { clientRefreshWorkflowId } from '../workflows/definitions';
import { ADMIN_KEY, startApi, TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

/** US-Pacific, Meta's Page calendar: today always has a Page value, whatever the hour the test runs. */
const TIMEZONE = 'America/Los_Angeles';

describe('backfilling missing days and settling recent ones, through the API, the worker and the sandbox', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let deps: RefreshRequestDeps;
  let sequence = 0;

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack);
    deps = {
      temporal: stack.client,
      clients: stack.clients,
      cooldownMs: 0,
      lookbackDays: 4,
      taskQueue: stack.taskQueue,
    };
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  beforeEach(() => {
    stack.sandbox.control.reset('calls');
  });

  /** The sandbox's call counters, read over HTTP as an operator would. */
  async function graphCalls(): Promise<CallCounts> {
    return (await fetch(`${stack.sandbox.url}/__sandbox/calls`)).json() as Promise<CallCounts>;
  }

  function newIds() {
    sequence += 1;
    const n = `${Date.now() % 1_000_000}${sequence}`.padStart(8, '0');
    const token = `test-token-backfill-${randomBytes(4).toString('hex')}`;
    stack.sandbox.control.setToken({ token });
    return { facebookPageId: `77${n}`, instagramAccountId: `1784777${n}`, token };
  }

  async function addClientThroughApi() {
    const ids = newIds();
    const res = await api.request('/api/clients', {
      method: 'POST',
      key: ADMIN_KEY,
      body: {
        name: `Backfill ${sequence}`,
        facebookPageId: ids.facebookPageId,
        instagramAccountId: ids.instagramAccountId,
        accessToken: ids.token,
        timezone: TIMEZONE,
      },
    });
    expect(res.status).toBe(201);
    return { id: res.body.data.id as string, ...ids, backfill: res.body.backfill as { status: string; days: number } };
  }

  const refreshResult = (clientId: string) =>
    stack.client.workflow.getHandle(clientRefreshWorkflowId(clientId)).result();

  async function readRange(clientId: string, from: string, to: string) {
    const res = await api.request(`/api/social-media-cache/range?clientId=${clientId}&from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    return res.body as {
      data: ({
        period: string;
        final: boolean;
        refresh: { status: string };
        unavailable?: Record<string, string>;
      } & Record<string, unknown>)[];
      refresh: { status: string };
    };
  }

  async function runsOf(clientId: string): Promise<number> {
    return (await stack.client.workflow.count(`WorkflowId = "${clientRefreshWorkflowId(clientId)}"`)).count;
  }

  it("fills a new client's last 30 days in one backfill: one Page call per 90-day window, one Instagram call per day and one for followers", async () => {
    const client = await addClientThroughApi();
    expect(client.backfill).toEqual({ status: 'started', days: 30 });
    expect(await refreshResult(client.id)).toMatchObject({ outcome: 'refreshed' });

    const calls = await graphCalls();
    const pageInsights = calls.byPath[`/${client.facebookPageId}/insights`] ?? 0;
    const igInsights = calls.byPath[`/${client.instagramAccountId}/insights`] ?? 0;
    const igFollowers = calls.byPath[`/${client.instagramAccountId}`] ?? 0;
    process.stdout.write(
      `backfill of 30 days, Graph calls: ${calls.total} (Page insights ${pageInsights}, Instagram insights ${igInsights}, Instagram followers ${igFollowers})\n`,
    );
    expect({ total: calls.total, pageInsights, igInsights, igFollowers }).toEqual({
      total: 32,
      pageInsights: 1,
      igInsights: 30,
      igFollowers: 1,
    });

    const today = dayIn(TIMEZONE);
    const week = await readRange(client.id, addDays(today, -6), today);
    expect(week.refresh.status).toBe('not_needed');
    for (const day of week.data) {
      expect(day).toMatchObject({ source: 'cache', refresh: { status: 'not_needed' } });
      expect(day.facebookNewFollowers).toEqual(expect.any(Number));
      expect(day.instagramReach).toEqual(expect.any(Number));
      expect(day.instagramProfileViews).toEqual(expect.any(Number));
      if (day.period === today) {
        expect(day.instagramFollowers).toEqual(expect.any(Number));
      } else {
        // A past day's followers are never a copy of today's count.
        expect(day.instagramFollowers).toBeNull();
        expect(day.unavailable).toEqual({ instagramFollowers: 'no_snapshot' });
      }
      // Fetched now: final once 48 h passed since the day's end, i.e. for days at least 3 days old.
      expect({ period: day.period, final: day.final }).toEqual({
        period: day.period,
        final: day.period <= addDays(today, -3),
      });
    }
  }, 60_000);

  it('does not fetch a final day again: the next refresh asks Meta only for the days still settling', async () => {
    const client = await addClientThroughApi();
    await refreshResult(client.id);
    stack.sandbox.control.reset('calls');

    expect((await requestRefresh(deps, client.id)).status).toBe('started');
    expect(await refreshResult(client.id)).toMatchObject({ outcome: 'refreshed' });
    const calls = await graphCalls();
    process.stdout.write(
      `a cycle's refresh after the backfill (lookback 4, the oldest day final), Graph calls: ${calls.total}\n`,
    );
    // Today and the 2 days before: 1 Page call, 3 Instagram insights calls, 1 followers call; the 4th day is final.
    expect(calls.byPath[`/${client.instagramAccountId}/insights`]).toBe(3);
    expect(calls.total).toBe(5);
    const asked = stack.sandbox.control.requests().find((r) => r.path === `/${client.facebookPageId}/insights`);
    expect(asked?.query.since).toBe(addDays(dayIn(TIMEZONE), -2));
  }, 60_000);

  it('asks once for missing days older than the lookback, and says so per day', async () => {
    const client = await stack.addClient({ timezone: TIMEZONE });
    const today = dayIn(TIMEZONE);
    const from = addDays(today, -10);
    const to = addDays(today, -5);
    // Meta answers slowly, so the refresh is still running when the second read comes.
    stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 1_500, times: 1 });

    const first = await readRange(client.id, from, to);
    expect(first.refresh.status).toBe('started');
    expect(first.data.map((d) => d.refresh.status)).toEqual(Array(6).fill('started'));
    expect(first.data.every((d) => d.source === 'empty')).toBe(true);

    const second = await readRange(client.id, from, to);
    expect(second.refresh.status).toBe('not_needed');
    expect(second.data.map((d) => d.refresh.status)).toEqual(Array(6).fill('requested'));

    expect(await refreshResult(client.id)).toMatchObject({ outcome: 'refreshed' });
    expect(await runsOf(client.id)).toBe(1);
    const filled = await readRange(client.id, from, to);
    for (const day of filled.data) {
      expect(day).toMatchObject({
        source: 'cache',
        final: true,
        refresh: { status: 'not_needed' },
        instagramFollowers: null,
      });
      expect(day.facebookNewFollowers).toEqual(expect.any(Number));
      expect(day.instagramReach).toEqual(expect.any(Number));
    }
    expect(await runsOf(client.id)).toBe(1);
  }, 60_000);

  it('answers beyond_meta_history for days Meta no longer keeps, and asks no refresh', async () => {
    const client = await stack.addClient({ timezone: TIMEZONE });
    const today = dayIn(TIMEZONE);
    const range = await readRange(client.id, addDays(today, -800), addDays(today, -795));
    expect(range.refresh.status).toBe('not_needed');
    for (const day of range.data) {
      expect(day).toMatchObject({
        source: 'empty',
        facebookNewFollowers: null,
        refresh: { status: 'beyond_meta_history' },
        unavailable: {
          facebookNewFollowers: 'beyond_meta_history',
          instagramFollowers: 'beyond_meta_history',
          instagramReach: 'beyond_meta_history',
          instagramProfileViews: 'beyond_meta_history',
        },
      });
    }
    await expect(stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
    expect((await graphCalls()).total).toBe(0);
  });

  it('has the sandbox answer like Meta beyond its history: an empty data set, not an error', async () => {
    const { facebookPageId, instagramAccountId, token } = newIds();
    const today = dayIn(TIMEZONE);
    const page = await fetch(
      `${stack.sandbox.url}/v24.0/${facebookPageId}/insights?metric=page_daily_follows_unique&period=day&since=${addDays(today, -800)}&until=${addDays(today, -790)}&access_token=${token}`,
    );
    expect(page.status).toBe(200);
    expect(((await page.json()) as { data: { values: unknown[] }[] }).data[0].values).toEqual([]);
    const since = Math.floor(Date.now() / 1000) - 100 * 86_400;
    const ig = await fetch(
      `${stack.sandbox.url}/v24.0/${instagramAccountId}/insights?metric=reach&period=day&metric_type=total_value&since=${since}&until=${since + 86_400}&access_token=${token}`,
    );
    expect(ig.status).toBe(200);
    expect(await ig.json()).toEqual({ data: [] });
  });

  it('fetches Facebook but not Instagram for a day older than Instagram keeps', async () => {
    const client = await stack.addClient({ timezone: TIMEZONE });
    const day = addDays(dayIn(TIMEZONE), -120);
    const first = await readRange(client.id, day, day);
    expect(first.data[0]).toMatchObject({
      refresh: { status: 'started' },
      unavailable: { instagramReach: 'beyond_meta_history' },
    });
    await refreshResult(client.id);
    const [read] = (await readRange(client.id, day, day)).data;
    expect(read.facebookNewFollowers).toEqual(expect.any(Number));
    expect(read).toMatchObject({
      instagramReach: null,
      unavailable: { instagramReach: 'beyond_meta_history', instagramProfileViews: 'beyond_meta_history' },
    });
    // The day is fetched alone, without the lookback: nothing at all is asked of Instagram.
    const igCalls = stack.sandbox.control.requests().filter((r) => r.objectId === client.instagramAccountId);
    expect(igCalls).toHaveLength(0);
  }, 60_000);

  it('leaves missing days a read meets during a running refresh for the next read, and never signals that refresh', async () => {
    const client = await stack.addClient({ timezone: TIMEZONE });
    const today = dayIn(TIMEZONE);
    stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 1_500, times: 1 });
    expect((await requestRefresh(deps, client.id)).status).toBe('started');
    const during = await readRange(client.id, addDays(today, -9), addDays(today, -8));
    expect(during.data.map((d) => d.refresh.status)).toEqual(['in_progress', 'in_progress']);
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    expect(await handle.result()).toMatchObject({ outcome: 'refreshed', coalescedRequests: 0 });
    expect((await stack.cache.get(client.id, addDays(today, -9)))?.fetchedAt ?? null).toBeNull();

    // The days were not claimed: the next read, with no refresh running, asks for them.
    const after = await readRange(client.id, addDays(today, -9), addDays(today, -8));
    expect(after.data.map((d) => d.refresh.status)).toEqual(['started', 'started']);
    expect(await handle.result()).toMatchObject({ outcome: 'refreshed' });
    expect(await runsOf(client.id)).toBe(2);
    expect((await readRange(client.id, addDays(today, -9), addDays(today, -8))).data.map((d) => d.source)).toEqual([
      'cache',
      'cache',
    ]);
  }, 60_000);

  it("stops Instagram's per-day calls before the account's budget runs out and defers the rest", async () => {
    const ids = newIds();
    stack.sandbox.control.setQuota({ objectId: ids.instagramAccountId, calls: 20 });
    const today = dayIn(TIMEZONE);
    const days = Array.from({ length: 30 }, (_, i) => addDays(today, -i));
    const result = await stack.meta.fetchPlatforms({
      accessToken: ids.token,
      facebookPageId: ids.facebookPageId,
      instagramAccountId: ids.instagramAccountId,
      days,
      timezone: TIMEZONE,
      platforms: ['instagram'],
      instagramPacing: { slowAbovePercent: 50, stopAbovePercent: 90, maxDelayMs: 20 },
    });
    expect(result.instagram.status).toBe('fetched');
    const ig = result.instagram.status === 'fetched' ? result.instagram.data : undefined;
    const served = stack.sandbox.control.requests().filter((r) => r.objectId === ids.instagramAccountId);
    // 18 calls reach 90 % of 20: the 19th and 20th are left for the regular refreshes, and Meta never throttled.
    expect(served).toHaveLength(18);
    expect(served.every((r) => r.status === 200)).toBe(true);
    expect(ig?.deferred?.days).toHaveLength(30 - 17);
    expect(Object.keys(ig?.days ?? {})).toHaveLength(17);
  });

  it('starts a backfill when an invalid token is replaced', async () => {
    const client = await stack.addClient({ timezone: TIMEZONE });
    await stack.clients.markToken(client.id, 'invalid', '190: Error validating access token');
    const { token } = newIds();
    const res = await api.request(`/api/clients/${client.id}`, {
      method: 'PATCH',
      key: ADMIN_KEY,
      body: { accessToken: token },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ data: { tokenStatus: 'unknown' }, backfill: { status: 'started', days: 30 } });
    expect(await refreshResult(client.id)).toMatchObject({ outcome: 'refreshed' });
    const rows = await stack.database
      .db('social_media_cache')
      .where({ client_id: client.id })
      .whereNotNull('fetched_at')
      .count<{ n: string }[]>('* as n');
    expect(Number(rows[0].n)).toBe(30);
    expect(await stack.clients.get(client.id)).toMatchObject({ tokenStatus: 'valid' });
  }, 60_000);
});
