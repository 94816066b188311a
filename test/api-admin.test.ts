import { Client } from '@temporalio/client';
import { dayIn } from '../src/dates';
import { waitFor } from '../src/net';
import { clientRefreshWorkflowId } from '../workflows/definitions';
import { ADMIN_KEY, READ_KEY, startApi, TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

const TOKEN = 'EAAGsecret-meta-token-never-to-be-seen-0001';

describe('admin routes', () => {
  let stack: RefreshStack;
  let api: TestApi;

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack, { env: { REFRESH_COOLDOWN: '3s', CORS_ORIGINS: 'https://dashboard.example' } });
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  it('add, read, change and remove a client; the token is write-only and stored encrypted', async () => {
    const created = await api.request('/api/clients', {
      method: 'POST',
      key: ADMIN_KEY,
      body: {
        name: 'Acme',
        facebookPageId: '123456',
        instagramAccountId: '17841400009999',
        accessToken: TOKEN,
        timezone: 'Europe/Warsaw',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.data).toEqual({
      id: expect.any(String),
      name: 'Acme',
      facebookPageId: '123456',
      instagramAccountId: '17841400009999',
      timezone: 'Europe/Warsaw',
      tokenStatus: 'unknown',
      tokenError: null,
      hasToken: true,
      instagramStatus: 'unknown',
      facebookStatus: 'unknown',
      tokenExpiresAt: null,
      dataAccessExpiresAt: null,
      tokenScopes: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const id = created.body.data.id as string;
    expect(created.headers.get('location')).toBe(`/api/clients/${id}`);

    const list = await api.request('/api/clients', { key: ADMIN_KEY });
    expect(list.body.data.map((c: { id: string }) => c.id)).toContain(id);
    const one = await api.request(`/api/clients/${id}`, { key: ADMIN_KEY });
    expect(one.body.data.name).toBe('Acme');

    await stack.clients.markToken(id, 'invalid', '190: expired');
    const changed = await api.request(`/api/clients/${id}`, {
      method: 'PATCH',
      key: ADMIN_KEY,
      body: { name: 'Acme Ltd', accessToken: `${TOKEN}-new` },
    });
    expect(changed.body.data).toMatchObject({
      name: 'Acme Ltd',
      tokenStatus: 'unknown',
      tokenError: null,
      hasToken: true,
    });

    const raw = await stack.database.db('clients').where({ id }).first();
    expect(JSON.stringify(raw)).not.toContain(TOKEN);
    for (const res of [created, list, one, changed]) expect(res.text).not.toContain(TOKEN);
    expect(api.logs.join('')).not.toContain(TOKEN);

    const removed = await api.request(`/api/clients/${id}`, { method: 'DELETE', key: ADMIN_KEY });
    expect(removed.body).toEqual({ success: true, data: { id, deleted: true } });
    expect((await api.request(`/api/clients/${id}`, { key: ADMIN_KEY })).status).toBe(404);
  });

  it('writes a day of numbers through POST, never older than what is there', async () => {
    const client = await stack.addClient();
    const period = dayIn(client.timezone);
    const data = {
      facebookNewFollowers: 3,
      instagramFollowers: 1520,
      instagramReach: 12275,
      instagramProfileViews: null,
    };
    const res = await api.request('/api/social-media-cache', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: client.id, period, data },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      success: true,
      written: true,
      source: 'cache',
      data: { ...data, unavailable: { instagramProfileViews: 'no_data' } },
    });
    const read = await api.request(`/api/social-media-cache?clientId=${client.id}&period=${period}`);
    expect(read.body.data).toMatchObject(data);
  });

  it('refuses a forced refresh inside the cooldown with 429 and Retry-After, and starts one after it', async () => {
    const client = await stack.addClient();
    const first = await api.request('/api/social-media-cache?forceRefresh=true', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: client.id },
    });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ success: true, data: { clientId: client.id }, refresh: { status: 'started' } });
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();

    const again = await api.request('/api/social-media-cache?forceRefresh=true', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: client.id },
    });
    expect(again.status).toBe(429);
    expect(again.body.error.code).toBe('refresh_cooldown');
    const retryAfter = Number(again.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3);

    let later = again;
    await waitFor(
      async () => {
        later = await api.request('/api/social-media-cache?forceRefresh=true', {
          method: 'POST',
          key: ADMIN_KEY,
          body: { clientId: client.id },
        });
        return later.status !== 429;
      },
      { timeoutMs: 10_000, intervalMs: 500, what: 'the cooldown to end' },
    );
    expect(later.status).toBe(202);
    expect(later.body.refresh.status).toBe('started');
  });

  it('refuses a forced refresh for a client whose token is invalid', async () => {
    const client = await stack.addClient();
    await stack.clients.markToken(client.id, 'invalid', '190: expired');
    const res = await api.request('/api/social-media-cache?forceRefresh=true', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: client.id },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('token_invalid');
  });

  it('asks Temporal for the Schedule once however many dashboards poll the refresh status together', async () => {
    // A client of its own, so the count is this API's calls alone.
    const temporal = new Client({ connection: stack.client.connection, namespace: stack.client.options.namespace });
    const describes = jest.spyOn(temporal.schedule, 'getHandle');
    const polled = await startApi(stack, { temporal });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => polled.request('/api/automated/refresh-social-media-cache')),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(new Set(answers.map((a) => a.body.data.temporal))).toEqual(new Set(['ok']));
      expect((await polled.request('/api/automated/refresh-social-media-cache')).status).toBe(200);
      expect(describes).toHaveBeenCalledTimes(1);
    } finally {
      await polled.close();
    }
  });

  it('starts a cycle on demand, shows its progress and summary, and refuses a second one meanwhile', async () => {
    await stack.database.db('clients').delete();
    const clients = [await stack.addClient(), await stack.addClient()];
    const expired = await stack.addClient();
    stack.sandbox.control.setToken({ token: expired.token, status: 'expired' });
    stack.sandbox.control.inject({ objectId: '*', latencyMs: 700, times: 2 });

    const started = await api.request('/api/automated/refresh-social-media-cache', { method: 'POST', key: ADMIN_KEY });
    expect(started.status).toBe(202);
    const workflowId = started.body.data.workflowId as string;

    let during = await api.request('/api/automated/refresh-social-media-cache', { key: ADMIN_KEY });
    await waitFor(
      async () =>
        (during = await api.request('/api/automated/refresh-social-media-cache', { key: ADMIN_KEY })).body.data
          .running !== null,
      {
        timeoutMs: 10_000,
        what: 'the cycle to show as running',
      },
    );
    expect(during.body.data.running).toMatchObject({ workflowId, total: 3 });
    const second = await api.request('/api/automated/refresh-social-media-cache', { method: 'POST', key: ADMIN_KEY });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('cycle_running');

    await stack.client.workflow.getHandle(workflowId).result();
    // The status is reused for about a second: the end shows within it.
    let after = await api.request('/api/automated/refresh-social-media-cache', { key: ADMIN_KEY });
    await waitFor(
      async () =>
        (after = await api.request('/api/automated/refresh-social-media-cache', { key: ADMIN_KEY })).body.data
          .running === null,
      {
        timeoutMs: 5_000,
        what: 'the cycle to show as ended',
      },
    );
    expect(after.body.data).toMatchObject({
      running: null,
      temporal: 'ok',
      lastCycle: {
        workflowId,
        trigger: 'manual',
        status: 'completed',
        total: 3,
        refreshed: 2,
        failed: 1,
        failures: [{ clientId: expired.id, clientName: expired.name, errorCode: '190', attempts: 1 }],
      },
    });
    for (const client of clients) {
      expect((await api.request(`/api/social-media-cache?clientId=${client.id}`)).body.source).toBe('cache');
    }
  });

  it('serves Prometheus metrics by route, never by raw path', async () => {
    const res = await api.request('/metrics', { key: null });
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/http_requests_total\{method="GET",route="\/api\/social-media-cache",status="200"\} \d+/);
    expect(res.text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/api\/social-media-cache"\}/,
    );
    expect(res.text).toMatch(/social_media_cache_reads_total\{source="cache"\} \d+/);
    expect(res.text).toMatch(/social_media_cache_refresh_requests_total\{status="started"\} \d+/);
    expect(res.text).not.toMatch(/route="\/api\/clients\/[0-9a-f-]{36}"/);
  });

  it('sends security headers, and CORS headers only to allowed origins', async () => {
    const allowed = await api.request('/healthz', { key: null, headers: { Origin: 'https://dashboard.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://dashboard.example');
    expect(allowed.headers.get('x-content-type-options')).toBe('nosniff');
    expect(allowed.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    const other = await api.request('/healthz', { key: null, headers: { Origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await api.request('/api/social-media-cache', {
      method: 'OPTIONS',
      key: null,
      headers: {
        Origin: 'https://dashboard.example',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
  });

  it('lets a read key read and an admin key do everything', async () => {
    const client = await stack.addClient();
    expect((await api.request(`/api/social-media-cache?clientId=${client.id}`, { key: READ_KEY })).status).toBe(200);
    expect((await api.request(`/api/social-media-cache?clientId=${client.id}`, { key: ADMIN_KEY })).status).toBe(200);
    expect((await api.request('/api/automated/refresh-social-media-cache', { key: READ_KEY })).status).toBe(200);
  });
});
