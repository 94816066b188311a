import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import type { CacheView } from '../src/api/cache-reader';
import {
  ApiError,
  createSocialMediaCacheClient,
  DayNumbers,
  isRefreshStatusReport,
  RefreshStatusReport,
  RefreshStatusSummary,
  RefreshTotals,
  RunningCycle,
  SocialMediaCacheClient,
} from '../src/client';
import { dayIn, addDays } from '../src/dates';
import { freePort } from '../src/net';
import type { RefreshTotals as ServerRefreshTotals } from '../workflows/definitions';
import type {
  RefreshStatusSummary as ServerRefreshStatusSummary,
  RefreshStatusView as ServerRefreshStatusView,
  RunningCycle as ServerRunningCycle,
} from '../src/api/support/refresh-status';
import { clientRefreshWorkflowId } from '../workflows/definitions';
import { ADMIN_KEY, READ_KEY, startApi, TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

const TOKEN = 'EAAG-typed-client-token-never-shown-0001';
const NUMBERS = { facebookNewFollowers: 3, instagramFollowers: 1520, instagramReach: 12275, instagramProfileViews: 41 };

/** True when A and B are the same type; checked by the compiler, not at run time. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** What a thrown promise rejected with. */
async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('the typed HTTP client', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let reader: SocialMediaCacheClient;
  let admin: SocialMediaCacheClient;

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack, { env: { REFRESH_SPACING: '100ms' } });
    reader = createSocialMediaCacheClient({ baseUrl: api.url, apiKey: READ_KEY });
    admin = createSocialMediaCacheClient({ baseUrl: `${api.url}/`, apiKey: ADMIN_KEY });
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  it('declares the same shapes as the server', () => {
    const checks: [
      Same<DayNumbers, CacheView>,
      Same<RefreshTotals, ServerRefreshTotals>,
      Same<RunningCycle, ServerRunningCycle>,
      Same<RefreshStatusReport, ServerRefreshStatusView>,
      Same<RefreshStatusSummary, ServerRefreshStatusSummary>,
    ] = [true, true, true, true, true];
    expect(checks).toEqual([true, true, true, true, true]);
  });

  it('reads a day, a range and the refresh status exactly as the API sends them', async () => {
    const client = await stack.addClient();
    const today = dayIn(client.timezone);
    const yesterday = addDays(today, -1);
    const written = await api.request('/api/social-media-cache', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: client.id, period: today, data: NUMBERS },
    });
    expect(written.status).toBe(200);

    const day = await reader.getDay(client.id);
    expect(day).toEqual({
      success: true,
      data: {
        ...NUMBERS,
        lastUpdated: expect.any(String),
        fromCache: true,
        cacheAge: expect.any(Number),
        final: false,
      },
      source: 'cache',
      period: today,
      refresh: { status: 'not_needed' },
    });
    const raw = await api.request(`/api/social-media-cache?clientId=${client.id}&period=${today}`);
    expect({ ...(await reader.getDay(client.id, today)), data: { ...day.data, cacheAge: 0 } }).toEqual({
      ...raw.body,
      data: { ...raw.body.data, cacheAge: 0 },
    });

    const range = await reader.getRange(client.id, yesterday, today);
    expect(range.data.map((d) => [d.period, d.source])).toEqual([
      [yesterday, 'empty'],
      [today, 'cache'],
    ]);
    expect(range.data[1]).toMatchObject({ period: today, ...NUMBERS });
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();

    const status = await reader.getRefreshStatus();
    expect(status).toEqual((await api.request('/api/automated/refresh-social-media-cache')).body);
    expect(status.data).toMatchObject({ lastCycle: null, running: null, temporal: 'ok' });
    // A read key gets the summary, an admin key the report (with the Schedule and, after a cycle, its failures).
    expect(isRefreshStatusReport(status.data)).toBe(false);
    const full = await admin.getRefreshStatus();
    expect(full).toEqual((await api.request('/api/automated/refresh-social-media-cache', { key: ADMIN_KEY })).body);
    expect(isRefreshStatusReport(full.data)).toBe(true);
  });

  it('adds, changes, lists, force-refreshes and removes a client with an admin key', async () => {
    stack.sandbox.control.setToken({ token: TOKEN });
    const added = await admin.addClient({
      name: 'Typed',
      facebookPageId: '5151000001',
      instagramAccountId: '17841400005151',
      accessToken: TOKEN,
    });
    expect(added.data).toMatchObject({
      name: 'Typed',
      facebookPageId: '5151000001',
      tokenStatus: 'unknown',
      hasToken: true,
    });
    const id = added.data.id;
    expect(JSON.stringify(added)).not.toContain(TOKEN);

    const changed = await admin.updateClient(id, { name: 'Typed Ltd', instagramAccountId: null });
    expect(changed.data).toMatchObject({ id, name: 'Typed Ltd', instagramAccountId: null });
    expect((await admin.getClient(id)).data.name).toBe('Typed Ltd');
    expect((await admin.listClients()).data.map((c) => c.id)).toContain(id);

    expect(added.backfill).toEqual({ status: 'started', days: 30 });
    // Adding the client started its backfill: a forced refresh joins it, or starts anew once it ended.
    expect(await admin.forceRefresh(id)).toEqual({
      success: true,
      data: { clientId: id },
      refresh: { status: expect.stringMatching(/^(in_progress|started)$/) },
    });
    const result = await stack.client.workflow.getHandle(clientRefreshWorkflowId(id)).result();
    expect(result.outcome).toBe('refreshed');
    expect((await reader.getDay(id)).source).toBe('cache');

    expect(await admin.removeClient(id)).toEqual({ success: true, data: { id, deleted: true } });
    expect((await failure(admin.getClient(id))).status).toBe(404);
  });

  it('turns API errors into ApiError with status, code and message, and a cooldown into retryAfterSeconds', async () => {
    const unknown = randomUUID();
    const notFound = await failure(reader.getDay(unknown));
    expect(notFound).toMatchObject({
      name: 'ApiError',
      status: 404,
      code: 'client_not_found',
      message: `no client with id ${unknown}`,
    });
    expect(await failure(reader.getDay('not-a-uuid'))).toMatchObject({
      status: 400,
      code: 'validation_failed',
      message: 'query.clientId: must be a UUID',
    });
    expect(await failure(reader.listClients())).toMatchObject({ status: 403, code: 'forbidden' });
    const badKey = createSocialMediaCacheClient({ baseUrl: api.url, apiKey: 'not-a-key-of-this-api-000000' });
    expect(await failure(badKey.getRefreshStatus())).toMatchObject({ status: 401, code: 'unauthorized' });

    const client = await stack.addClient();
    await admin.forceRefresh(client.id);
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
    const cooldown = await failure(admin.forceRefresh(client.id));
    expect(cooldown).toMatchObject({ status: 429, code: 'refresh_cooldown' });
    expect(cooldown.retryAfterSeconds).toBeGreaterThan(200);

    const cycle = await admin.startCycle();
    expect(cycle).toEqual({ success: true, data: { workflowId: expect.any(String), status: 'started' } });
    const running = await failure(admin.startCycle());
    expect(running).toMatchObject({
      status: 409,
      code: 'cycle_running',
      details: { workflowId: cycle.data.workflowId },
    });
    await stack.client.workflow.getHandle(cycle.data.workflowId).result();
  });

  it('reports an unreachable API and a timeout with status 0, and never puts the key in an error', async () => {
    const key = 'a-secret-api-key-that-must-stay-hidden';
    const unreachable = createSocialMediaCacheClient({
      baseUrl: `http://someone:hunter2@127.0.0.1:${await freePort()}`,
      apiKey: key,
    });
    const refused = await failure(unreachable.getRefreshStatus());
    expect(refused).toMatchObject({ status: 0, code: 'unreachable' });
    expect(refused.message).toMatch(/^could not reach the API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED$/);

    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const slow = createSocialMediaCacheClient({
        baseUrl: `http://127.0.0.1:${(silent.address() as { port: number }).port}`,
        apiKey: key,
        timeoutMs: 200,
      });
      const timedOut = await failure(slow.getDay(randomUUID()));
      expect(timedOut).toMatchObject({ status: 0, code: 'timeout' });
      expect(timedOut.message).toContain('within 200 ms');
      for (const err of [refused, timedOut]) {
        const everything = `${JSON.stringify(err)} ${inspect(err, { depth: 5, showHidden: true })} ${err.stack}`;
        expect(everything).not.toContain(key);
        expect(everything).not.toContain('hunter2');
      }
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('sends through the fetch it is given, under the base URL path, and names a non-JSON answer', async () => {
    const sent: { url: string; method: string; headers: Record<string, string>; body?: string }[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      sent.push({
        url: String(input),
        method: init?.method ?? 'GET',
        headers: init?.headers as Record<string, string>,
        body: init?.body as string | undefined,
      });
      if (sent.length === 1)
        return new Response(
          JSON.stringify({ success: true, data: { clientId: 'x' }, refresh: { status: 'started' } }),
          { status: 202 },
        );
      return new Response('<html>502 Bad Gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } });
    };
    const client = createSocialMediaCacheClient({
      baseUrl: 'https://cache.example/smc/',
      apiKey: 'k-0123456789abcdef',
      fetch: fakeFetch,
    });
    const id = randomUUID();
    expect(await client.forceRefresh(id)).toEqual({
      success: true,
      data: { clientId: 'x' },
      refresh: { status: 'started' },
    });
    expect(sent[0]).toEqual({
      url: 'https://cache.example/smc/api/social-media-cache?forceRefresh=true',
      method: 'POST',
      headers: {
        Accept: 'application/json',
        Authorization: 'Bearer k-0123456789abcdef',
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ clientId: id }),
    });
    const gateway = await failure(client.getRange(id, '2026-11-01', '2026-11-07'));
    expect(sent[1].url).toBe(
      `https://cache.example/smc/api/social-media-cache/range?clientId=${id}&from=2026-11-01&to=2026-11-07`,
    );
    expect(gateway).toMatchObject({ status: 502, code: 'invalid_response' });
    expect(gateway.message).toBe(
      `GET https://cache.example/smc/api/social-media-cache/range answered HTTP 502 without the API's JSON body`,
    );
  });
});
