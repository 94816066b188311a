import { addDays, dayIn } from '../src/dates';
import type { CallCounts } from '../src/dev/meta-sandbox';
import { clientRefreshWorkflowId } from '../workflows/definitions';
import { ADMIN_KEY, startApi, TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

/** US-Pacific, Meta's Page calendar: today always has a Page value, whatever the hour the test runs. */
const TIMEZONE = 'America/Los_Angeles';
const HOUR = 3_600_000;
const NUMBERS = { facebookNewFollowers: 3, instagramFollowers: null, instagramReach: 12275, instagramProfileViews: 41 };
/** REFRESH_LOOKBACK_DAYS's default, which every API below runs with. */
const LOOKBACK_DAYS = 4;
/** A query string padded as a hostile reader would (`&&&…`): it must change nothing of the bound. */
const PADDING = '&'.repeat(4_000);

/**
 * The README's "Quota bound": what reads can make the service ask of Meta for one client, per
 * REFRESH_COOLDOWN window — one refresh of the lookback (a Page insights call, the Instagram
 * followers call, an Instagram insights call per lookback day: 2 + REFRESH_LOOKBACK_DAYS) and one
 * fetch of missing old days alone (a Page insights call per 90-day window: at most 2 for a 92-day
 * range, plus an Instagram insights call per asked day inside Instagram's 90 days).
 */
function readBound({ windows, instagramDaysPerFetch }: { windows: number; instagramDaysPerFetch: number }): number {
  return windows * (2 + LOOKBACK_DAYS + 2 + instagramDaysPerFetch);
}

describe('the quota bound: what dashboard reads can make the service ask of Meta', () => {
  let stack: RefreshStack;
  /** A short cooldown, so a test can see its window end, and a 1 s CACHE_TTL, so a row written 2 s ago is stale. */
  let api: TestApi;
  const COOLDOWN_MS = 3_000;

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack, { env: { REFRESH_COOLDOWN: `${COOLDOWN_MS}ms`, CACHE_TTL: '1s' } });
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  const handleOf = (clientId: string) => stack.client.workflow.getHandle(clientRefreshWorkflowId(clientId));
  const runsOf = async (clientId: string) =>
    (await stack.client.workflow.count(`WorkflowId = "${clientRefreshWorkflowId(clientId)}"`)).count;
  const callsTo = (...objectIds: string[]) =>
    stack.sandbox.control.requests().filter((r) => objectIds.includes(r.objectId));

  async function read(path: string) {
    const res = await api.request(path);
    expect(res.status).toBe(200);
    return res.body;
  }

  it('answers a final day older than CACHE_TTL from the cache with not_needed, and starts no refresh', async () => {
    const client = await stack.addClient({ timezone: TIMEZONE });
    const today = dayIn(TIMEZONE);
    // Fetched 5 h ago, days after each day settled: final, and older than CACHE_TTL.
    for (let day = addDays(today, -13); day <= addDays(today, -7); day = addDays(day, 1)) {
      await stack.cache.writeDay(client.id, day, NUMBERS, new Date(Date.now() - 5 * HOUR));
    }
    // The lookback's oldest day, fetched after it settled (as a cycle or a backfill today does): final, and stale by age.
    const settled = addDays(today, -(LOOKBACK_DAYS - 1));
    await stack.cache.writeDay(client.id, settled, NUMBERS, new Date(Date.now() - 2_000));
    for (const period of [settled, addDays(today, -10)]) {
      for (let i = 0; i < 3; i++) {
        const day = await read(`/api/social-media-cache?clientId=${client.id}&period=${period}`);
        expect(day).toMatchObject({
          source: 'cache',
          data: { ...NUMBERS, final: true, fromCache: true },
          refresh: { status: 'not_needed' },
        });
        expect(day.data.cacheAge).toBeGreaterThanOrEqual(1_000);
      }
    }
    const week = await read(
      `/api/social-media-cache/range?clientId=${client.id}&from=${addDays(today, -13)}&to=${addDays(today, -7)}`,
    );
    expect(week.refresh.status).toBe('not_needed');
    expect(
      week.data.map((d: { source: string; final: boolean; refresh: { status: string } }) => [
        d.source,
        d.final,
        d.refresh.status,
      ]),
    ).toEqual(Array(7).fill(['cache', true, 'not_needed']));
    expect(await runsOf(client.id)).toBe(0);
    expect(callsTo(client.facebookPageId, client.instagramAccountId!)).toHaveLength(0);
  });

  it('refreshes only for the stale days of a range that mixes them with final ones', async () => {
    const client = await stack.addClient({ timezone: TIMEZONE });
    const today = dayIn(TIMEZONE);
    const lookbackStart = addDays(today, -(LOOKBACK_DAYS - 1));
    // Days before the lookback, fetched 5 h ago (a day after they settled): final. The lookback's
    // past days, fetched 30 h ago (before today began, so before any of them settled): stale. Today: empty.
    for (let day = addDays(today, -6); day < today; day = addDays(day, 1)) {
      await stack.cache.writeDay(client.id, day, NUMBERS, new Date(Date.now() - (day < lookbackStart ? 5 : 30) * HOUR));
    }
    const week = await read(
      `/api/social-media-cache/range?clientId=${client.id}&from=${addDays(today, -6)}&to=${today}`,
    );
    expect(week.refresh.status).toBe('started');
    const statuses = week.data.map(
      (d: { period: string; source: string; final: boolean; refresh: { status: string } }) => [
        d.period,
        d.source,
        d.final,
        d.refresh.status,
      ],
    );
    expect(statuses).toEqual(
      week.data.map((d: { period: string }) =>
        d.period === today
          ? [d.period, 'empty', false, 'started']
          : d.period >= lookbackStart
            ? [d.period, 'stale-cache', false, 'started']
            : [d.period, 'cache', true, 'not_needed'],
      ),
    );
    expect(await handleOf(client.id).result()).toMatchObject({ outcome: 'refreshed' });
    expect(await runsOf(client.id)).toBe(1);
  }, 60_000);

  it('fetches a missing day older than the lookback alone: one Page call for that day, no lookback', async () => {
    const client = await stack.addClient({ timezone: TIMEZONE });
    const day = addDays(dayIn(TIMEZONE), -120);
    const first = await read(`/api/social-media-cache?clientId=${client.id}&period=${day}`);
    expect(first).toMatchObject({ source: 'empty', refresh: { status: 'started' } });
    expect(await handleOf(client.id).result()).toMatchObject({ outcome: 'refreshed' });

    const calls = callsTo(client.facebookPageId, client.instagramAccountId!);
    expect(calls.map((c) => [c.path, c.query.since, c.query.until])).toEqual([
      [`/${client.facebookPageId}/insights`, day, addDays(day, 1)],
    ]);
    const filled = await read(`/api/social-media-cache?clientId=${client.id}&period=${day}`);
    expect(filled).toMatchObject({ source: 'cache', data: { final: true }, refresh: { status: 'not_needed' } });
    expect(filled.data.facebookNewFollowers).toEqual(expect.any(Number));
  }, 60_000);

  it('spends one fetch of missing old days per client per cooldown: another new day waits for the next window', async () => {
    const client = await stack.addClient({ timezone: TIMEZONE });
    const today = dayIn(TIMEZONE);
    const [a, b, c] = [addDays(today, -200), addDays(today, -201), addDays(today, -202)];
    const first = await read(`/api/social-media-cache/range?clientId=${client.id}&from=${a}&to=${a}`);
    expect(first.data[0].refresh.status).toBe('started');
    // Another day, spelled in upper case and through the single-day route: the same client, the same budget.
    const second = await read(`/api/social-media-cache?clientId=${client.id.toUpperCase()}&period=${b}`);
    expect(second).toMatchObject({ source: 'empty', refresh: { status: 'cooldown' } });
    const third = await read(`/api/social-media-cache/range?clientId=${client.id}&from=${c}&to=${b}`);
    expect(third.refresh.status).toBe('cooldown');
    expect(third.data.map((d: { refresh: { status: string } }) => d.refresh.status)).toEqual(['cooldown', 'cooldown']);
    await handleOf(client.id).result();
    expect(callsTo(client.facebookPageId, client.instagramAccountId!).map((call) => call.query.since)).toEqual([a]);

    // Refused days were not claimed: once the window ends, a read asks for them.
    let later = third;
    const deadline = Date.now() + 5 * COOLDOWN_MS;
    while (later.refresh.status === 'cooldown' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      later = await read(`/api/social-media-cache/range?clientId=${client.id}&from=${c}&to=${b}`);
    }
    expect(later.data.map((d: { refresh: { status: string } }) => d.refresh.status)).toEqual(['started', 'started']);
    await handleOf(client.id).result();
    const pageCalls = callsTo(client.facebookPageId).map((call) => [call.query.since, call.query.until]);
    // One Page insights window for both days.
    expect(pageCalls).toEqual([
      [a, addDays(a, 1)],
      [c, addDays(b, 1)],
    ]);
    expect(callsTo(client.instagramAccountId!)).toHaveLength(0);
  }, 60_000);
});

describe('a minute of hostile reads from one read key stays within the quota bound', () => {
  let stack: RefreshStack;
  /** Two API processes over one Postgres and Temporal: the budget must hold across them. */
  let apis: TestApi[];
  const COOLDOWN_MS = 5_000;
  const FLOOD_MS = 60_000;

  beforeAll(async () => {
    stack = await createRefreshStack();
    // A CACHE_TTL shorter than the cooldown: the lookback is stale again in every window, the worst case.
    const env = { REFRESH_COOLDOWN: `${COOLDOWN_MS}ms`, CACHE_TTL: '2s' };
    apis = [await startApi(stack, { env }), await startApi(stack, { env })];
  });

  afterAll(async () => {
    for (const api of apis ?? []) await api.close();
    await stack?.close();
  });

  async function graphCalls(): Promise<CallCounts> {
    return (await fetch(`${stack.sandbox.url}/__sandbox/calls`)).json() as Promise<CallCounts>;
  }

  it('a settled day, weekly ranges, a new old day every second, the id in upper case, padded queries: Graph calls ≤ the bound', async () => {
    const token = `test-token-flood-${Date.now()}`;
    stack.sandbox.control.setToken({ token });
    const ids = {
      facebookPageId: `55${Date.now() % 1_000_000_000}`,
      instagramAccountId: `1784555${Date.now() % 1_000_000}`,
    };
    const added = await apis[0].request('/api/clients', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { name: 'Flood', ...ids, accessToken: token, timezone: TIMEZONE },
    });
    expect(added.status).toBe(201);
    const id = added.body.data.id as string;
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(id));
    expect(await handle.result()).toMatchObject({ outcome: 'refreshed' });
    stack.sandbox.control.reset('calls');

    const today = dayIn(TIMEZONE);
    // The lookback's oldest day: the backfill fetched it after it settled, so it is final; by age it is stale within 2 s.
    const settled = addDays(today, -(LOOKBACK_DAYS - 1));
    const upper = id.toUpperCase();
    const reads: {
      path: string;
      status: number;
      body: { source?: string; refresh?: { status: string }; data?: unknown };
    }[] = [];
    const get = async (n: number, path: string) => {
      const res = await apis[n % 2].request(path);
      reads.push({ path, status: res.status, body: res.body });
      return res;
    };
    const settledPath = (n: number) =>
      `/api/social-media-cache?clientId=${upper}${PADDING}&period=${settled}&${'&'.repeat(n)}`;

    const started = Date.now();
    let seconds = 0;
    for (let second = 0; Date.now() - started < FLOOD_MS; second++) {
      seconds += 1;
      const tick = Date.now();
      // Every day from 91 days back is older than Instagram keeps: a new one each second, inside Meta's Page history.
      const oldDay = addDays(today, -(100 + second));
      await Promise.all([
        get(second, settledPath(second)),
        get(second + 1, settledPath(second + 1)),
        get(second, `/api/social-media-cache/range?clientId=${upper}&from=${addDays(today, -6)}&to=${today}${PADDING}`),
        get(
          second + 1,
          `/api/social-media-cache/range?${PADDING}clientId=${id}&from=${addDays(today, -13)}&to=${addDays(today, -7)}`,
        ),
        get(second, `/api/social-media-cache?clientId=${second % 3 ? upper : id}&period=${oldDay}${PADDING}`),
        get(second + 1, `/api/social-media-cache/range?clientId=${upper}&from=${oldDay}&to=${oldDay}&${PADDING}`),
      ]);
      // The flood's pace is what is tested: a new old day each second.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_000 - (Date.now() - tick))));
    }
    const elapsedMs = Date.now() - started;
    // Every refresh the flood started has ended: its calls are all counted.
    await handle.result();

    const calls = await graphCalls();
    const clientCalls = (calls.byObject[ids.facebookPageId] ?? 0) + (calls.byObject[ids.instagramAccountId] ?? 0);
    // The refresh slot and the days slot are each claimed at most once per window, the first at any time.
    const windows = Math.floor(elapsedMs / COOLDOWN_MS) + 1;
    const bound = readBound({ windows, instagramDaysPerFetch: 0 });
    process.stdout.write(
      `quota flood: ${reads.length} reads in ${(elapsedMs / 1000).toFixed(1)} s (REFRESH_COOLDOWN ${COOLDOWN_MS / 1000} s, ${windows} windows, 2 API processes): ` +
        `${clientCalls} Graph calls (Page insights ${calls.byPath[`/${ids.facebookPageId}/insights`] ?? 0}, Instagram insights ${calls.byPath[`/${ids.instagramAccountId}/insights`] ?? 0}, ` +
        `Instagram followers ${calls.byPath[`/${ids.instagramAccountId}`] ?? 0}); bound ${bound}\n`,
    );
    expect(reads.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.path.replace(/&{2,}/g, '&…')}`)).toEqual(
      [],
    );
    const settledReads = reads.filter((r) => r.path.includes(`period=${settled}`));
    expect(settledReads).toHaveLength(2 * seconds);
    for (const r of settledReads)
      expect(r.body).toMatchObject({ source: 'cache', data: { final: true }, refresh: { status: 'not_needed' } });
    expect(calls.total).toBe(clientCalls);
    expect(clientCalls).toBeLessThanOrEqual(bound);
    // Each line of the budget on its own: a lookback refresh calls for followers once, so at most one a window.
    expect(calls.byPath[`/${ids.instagramAccountId}`] ?? 0).toBeLessThanOrEqual(windows);
  }, 150_000);
});
