import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addDays, dayIn } from '../src/dates';
import { freePort } from '../src/net';
import { createTemporalClient } from '../src/temporal/client';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server';
import { clientRefreshWorkflowId } from '../workflows/definitions';
import { startApi, TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

const HOUR = 3_600_000;
const OLD = { facebookNewFollowers: 3, instagramFollowers: 1520, instagramReach: 12275, instagramProfileViews: 41 };

describe('reading the cache', () => {
  let stack: RefreshStack;
  let api: TestApi;

  beforeAll(async () => {
    stack = await createRefreshStack();
    // The TTL the figures below are written for (the default is REFRESH_INTERVAL + 1h).
    api = await startApi(stack, { env: { CACHE_TTL: '3h' } });
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  async function clientWithRow(ageMs: number | null) {
    const client = await stack.addClient();
    const today = dayIn(client.timezone);
    if (ageMs !== null) await stack.cache.writeDay(client.id, today, OLD, new Date(Date.now() - ageMs));
    return { client, today };
  }

  async function executions(clientId: string): Promise<number> {
    return (await stack.client.workflow.count(`WorkflowId = '${clientRefreshWorkflowId(clientId)}'`)).count;
  }

  it('serves fresh data as it is, with cache headers and no refresh', async () => {
    const { client, today } = await clientWithRow(HOUR);
    const res = await api.request(`/api/social-media-cache?clientId=${client.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true,
      source: 'cache',
      period: today,
      refresh: { status: 'not_needed' },
      data: { ...OLD, fromCache: true, lastUpdated: expect.any(String) },
    });
    expect(res.body.data.cacheAge).toBeGreaterThanOrEqual(HOUR);
    expect(res.body.data.cacheAge).toBeLessThan(HOUR + 10_000);
    const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control')!)![1]);
    expect(res.headers.get('cache-control')).toMatch(/^private, max-age=\d+, stale-while-revalidate=10800$/);
    // max-age is the time left until the data turns stale: 3 h - 1 h.
    expect(maxAge).toBeLessThanOrEqual(7_200);
    expect(maxAge).toBeGreaterThan(7_190);
    expect(Number(res.headers.get('age'))).toBeGreaterThanOrEqual(3_600);
    expect(res.headers.get('etag')).toMatch(/^W\/".+"$/);
    expect(await executions(client.id)).toBe(0);
  });

  it('answers 304 to If-None-Match with the current ETag, and 200 once the data changed', async () => {
    const { client, today } = await clientWithRow(HOUR);
    const first = await api.request(`/api/social-media-cache?clientId=${client.id}&period=${today}`);
    const etag = first.headers.get('etag')!;
    const again = await api.request(`/api/social-media-cache?clientId=${client.id}&period=${today}`, {
      headers: { 'If-None-Match': etag },
    });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');

    await api.request('/api/social-media-cache', {
      method: 'POST',
      key: 'admin-key-for-tests-0123456789',
      body: { clientId: client.id, period: today, data: { ...OLD, instagramReach: 1 } },
    });
    const changed = await api.request(`/api/social-media-cache?clientId=${client.id}&period=${today}`, {
      headers: { 'If-None-Match': etag },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.data.instagramReach).toBe(1);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  /** Reads one day without pause until `done` holds for an answer; every answer on the way is returned. */
  async function readUntil(
    url: string,
    done: (body: { source: string; data: typeof OLD; refresh: { status: string } }) => boolean,
    timeoutMs = 5_000,
  ) {
    const seen: { source: string; data: typeof OLD; refresh: { status: string } }[] = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const res = await api.request(url);
      expect(res.status).toBe(200);
      seen.push(res.body);
      if (done(res.body)) return seen;
    }
    throw new Error(`no answer matched in ${timeoutMs} ms; the last was ${JSON.stringify(seen.at(-1))}`);
  }

  it('shows numbers written by another process within about a second, while reads never stop', async () => {
    const { client, today } = await clientWithRow(HOUR);
    const url = `/api/social-media-cache?clientId=${client.id}&period=${today}`;
    await readUntil(url, (body) => body.source === 'cache');
    // Written straight to Postgres, as a worker does: this API process is not told.
    await stack.cache.writeDay(client.id, today, { ...OLD, instagramReach: 7 }, new Date());
    const written = Date.now();
    const seen = await readUntil(url, (body) => body.data.instagramReach === 7);
    expect(Date.now() - written).toBeLessThan(2_500);
    expect(seen.every((body) => body.source === 'cache' && body.refresh.status === 'not_needed')).toBe(true);
  });

  it('stops answering a steadily read day from memory once it turns stale, and asks for its refresh', async () => {
    const { client, today } = await clientWithRow(3 * HOUR - 1_500);
    const url = `/api/social-media-cache?clientId=${client.id}&period=${today}`;
    const seen = await readUntil(url, (body) => body.source === 'stale-cache');
    expect(seen[0].source).toBe('cache');
    expect(seen.at(-1)!.refresh.status).toBe('started');
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
  });

  it('serves stale data at once and starts one refresh that brings fresh numbers', async () => {
    const { client } = await clientWithRow(4 * HOUR);
    const res = await api.request(`/api/social-media-cache?clientId=${client.id}`);
    expect(res.body).toMatchObject({
      source: 'stale-cache',
      data: { ...OLD, fromCache: true },
      refresh: { status: 'started' },
    });
    expect(res.headers.get('cache-control')).toMatch(/max-age=0,/);

    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
    const after = await api.request(`/api/social-media-cache?clientId=${client.id}`);
    expect(after.body.source).toBe('cache');
    expect(after.body.data.cacheAge).toBeLessThan(60_000);
    expect(after.body.data.instagramFollowers).toEqual(expect.any(Number));
  });

  it('answers empty data with every number null when nothing is cached, and starts a refresh', async () => {
    const { client } = await clientWithRow(null);
    const res = await api.request(`/api/social-media-cache?clientId=${client.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      source: 'empty',
      period: dayIn(client.timezone),
      data: {
        facebookNewFollowers: null,
        instagramFollowers: null,
        instagramReach: null,
        instagramProfileViews: null,
        lastUpdated: null,
        fromCache: false,
        cacheAge: null,
        final: false,
      },
      refresh: { status: 'started' },
    });
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
    expect((await api.request(`/api/social-media-cache?clientId=${client.id}`)).body.source).toBe('cache');
  });

  it('runs exactly one refresh and one set of Meta calls for 50 concurrent stale reads', async () => {
    const { client } = await clientWithRow(4 * HOUR);
    stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 1_000, times: 1 });
    const reads = await Promise.all(
      Array.from({ length: 50 }, () => api.request(`/api/social-media-cache?clientId=${client.id}`)),
    );
    expect(reads.every((r) => r.status === 200 && r.body.source === 'stale-cache')).toBe(true);
    const statuses = reads.map((r) => r.body.refresh.status);
    expect(statuses.filter((s) => s === 'started')).toHaveLength(1);
    expect(statuses.every((s) => ['started', 'in_progress', 'cooldown'].includes(s))).toBe(true);

    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
    expect(await executions(client.id)).toBe(1);
    expect(stack.sandbox.control.calls().byObject[client.facebookPageId]).toBe(1);
  });

  it('does not make stale or empty reads wait for a slow Meta', async () => {
    const stale = await clientWithRow(4 * HOUR);
    const empty = await clientWithRow(null);
    for (const { client } of [stale, empty])
      stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 5_000, times: 1 });
    for (const { client } of [stale, empty]) {
      const started = Date.now();
      const res = await api.request(`/api/social-media-cache?clientId=${client.id}`);
      expect(res.body.refresh.status).toBe('started');
      expect(Date.now() - started).toBeLessThan(2_500);
    }
  });

  it('returns the days of a range, each with its own freshness', async () => {
    const { client, today } = await clientWithRow(HOUR);
    const yesterday = addDays(today, -1);
    await stack.cache.writeDay(client.id, yesterday, OLD, new Date(Date.now() - 5 * HOUR));
    const from = addDays(today, -2);
    const res = await api.request(`/api/social-media-cache/range?clientId=${client.id}&from=${from}&to=${today}`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((d: { period: string; source: string }) => [d.period, d.source])).toEqual([
      [from, 'empty'],
      [yesterday, 'stale-cache'],
      [today, 'cache'],
    ]);
    expect(res.body.refresh.status).toBe('started');
  });

  it.each([1, 10, 92])(
    'gives a %i-day range a new ETag when only today changes, and 304 while nothing did',
    async (days) => {
      const { client, today } = await clientWithRow(HOUR);
      const from = addDays(today, -(days - 1));
      for (let day = from; day < today; day = addDays(day, 1))
        await stack.cache.writeDay(client.id, day, OLD, new Date(Date.now() - 2 * HOUR));
      const url = `/api/social-media-cache/range?clientId=${client.id}&from=${from}&to=${today}`;
      const first = await api.request(url);
      expect(first.status).toBe(200);
      expect(first.body.data).toHaveLength(days);
      const etag = first.headers.get('etag')!;
      expect((await api.request(url, { headers: { 'If-None-Match': etag } })).status).toBe(304);

      await stack.cache.writeDay(client.id, today, { ...OLD, instagramReach: OLD.instagramReach + 1 }, new Date());
      const changed = await api.request(url, { headers: { 'If-None-Match': etag } });
      expect(changed.status).toBe(200);
      expect(changed.headers.get('etag')).not.toBe(etag);
      expect(changed.body.data.at(-1)).toMatchObject({ period: today, instagramReach: OLD.instagramReach + 1 });
    },
  );
});

describe('reading the cache while Temporal is down', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let dir: string;
  let stopTemporal: () => Promise<void>;

  beforeAll(async () => {
    stack = await createRefreshStack();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-down-'));
    const server = await startTemporalDevServer({
      binary: process.env.TEST_TEMPORAL_CLI_PATH!,
      port: await freePort(),
      dbFile: path.join(dir, 'temporal.db'),
      namespace: 'default',
    });
    stopTemporal = server.stop;
    api = await startApi(stack, {
      env: { CACHE_TTL: '3h' },
      temporal: createTemporalClient(server.address, 'default'),
    });
  });

  afterAll(async () => {
    await api?.close();
    await stopTemporal?.();
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('still answers 200 from the cache, with refresh.status "unavailable"', async () => {
    const fresh = await stack.addClient();
    const stale = await stack.addClient();
    await stack.cache.writeDay(fresh.id, dayIn(fresh.timezone), OLD, new Date(Date.now() - HOUR));
    await stack.cache.writeDay(stale.id, dayIn(stale.timezone), OLD, new Date(Date.now() - 4 * HOUR));
    await stopTemporal();

    const staleRead = await api.request(`/api/social-media-cache?clientId=${stale.id}`);
    expect(staleRead.status).toBe(200);
    expect(staleRead.body).toMatchObject({ source: 'stale-cache', data: OLD, refresh: { status: 'unavailable' } });
    const freshRead = await api.request(`/api/social-media-cache?clientId=${fresh.id}`);
    expect(freshRead.body).toMatchObject({ source: 'cache', data: OLD, refresh: { status: 'not_needed' } });
    const ready = await api.request('/readyz', { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks.temporal).toBe('down');
  });
});
