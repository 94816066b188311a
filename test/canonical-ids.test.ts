import { WorkflowNotFoundError } from '@temporalio/client';
import { dayIn } from '../src/dates';
import { clientRefreshWorkflowId, RefreshClientInput, RefreshClientResult } from '../workflows/definitions';
import { ADMIN_KEY, READ_KEY, useStackAndApi } from './helpers/api';

const NUMBERS = { facebookNewFollowers: 3, instagramFollowers: 1520, instagramReach: 12275, instagramProfileViews: 40 };

describe('a client id in upper case is the same client', () => {
  const harness = useStackAndApi({ env: { REFRESH_COOLDOWN: '1h', BACKFILL_DAYS: '2' } });

  /** Writes a fresh day, so reads of it are answered from memory for a second. */
  async function withFreshDay() {
    const client = await harness.stack.addClient();
    const period = dayIn(client.timezone);
    const written = await harness.api.request('/api/social-media-cache', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: client.id, period, data: NUMBERS },
    });
    expect(written.status).toBe(200);
    return { client, period, upper: client.id.toUpperCase() };
  }

  async function workflowExists(workflowId: string): Promise<boolean> {
    try {
      await harness.stack.client.workflow.getHandle(workflowId).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  it('answers every route that takes an id as it answers the lower-case id, and names the client in lower case', async () => {
    const { period, upper } = await withFreshDay();
    const routes: { path: string; method?: string; key: string; body?: unknown; status: number }[] = [
      { path: `/api/social-media-cache?clientId=${upper}&period=${period}`, key: READ_KEY, status: 200 },
      {
        path: `/api/social-media-cache/range?clientId=${upper}&from=${period}&to=${period}`,
        key: READ_KEY,
        status: 200,
      },
      {
        path: '/api/social-media-cache',
        method: 'POST',
        key: ADMIN_KEY,
        body: { clientId: upper, period, data: NUMBERS },
        status: 200,
      },
      { path: `/api/clients/${upper}`, key: ADMIN_KEY, status: 200 },
      {
        path: `/api/clients/${upper}`,
        method: 'PATCH',
        key: ADMIN_KEY,
        body: { name: 'Renamed Through Upper Case' },
        status: 200,
      },
      { path: `/status/clients/${upper}`, key: ADMIN_KEY, status: 200 },
      {
        path: '/api/social-media-cache?forceRefresh=true',
        method: 'POST',
        key: ADMIN_KEY,
        body: { clientId: upper },
        status: 202,
      },
      { path: `/api/clients/${upper}`, method: 'DELETE', key: ADMIN_KEY, status: 200 },
    ];
    for (const route of routes) {
      const res = await harness.api.request(route.path, { method: route.method, key: route.key, body: route.body });
      expect({ route: `${route.method ?? 'GET'} ${route.path}`, status: res.status }).toEqual({
        route: `${route.method ?? 'GET'} ${route.path}`,
        status: route.status,
      });
      expect(res.text).not.toContain(upper);
    }
  });

  it('stores a token PATCHed through an upper-case id so that the next refresh decrypts it', async () => {
    const client = await harness.stack.addClient();
    const token = `new-token-through-upper-case-${client.id.slice(0, 8)}`;
    harness.stack.sandbox.control.setToken({ token });
    const patched = await harness.api.request(`/api/clients/${client.id.toUpperCase()}`, {
      method: 'PATCH',
      key: ADMIN_KEY,
      body: { accessToken: token },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.backfill).toMatchObject({ status: 'started' });

    // The backfill the new token started runs under the client's one workflow id.
    const backfill = (await harness.stack.client.workflow
      .getHandle(clientRefreshWorkflowId(client.id))
      .result()) as RefreshClientResult;
    expect(backfill.outcome).toBe('refreshed');
    // And the Schedule's cycle, which knows the id as Postgres prints it, opens the token too.
    const scheduled = (await harness.stack.client.workflow.execute('refreshClient', {
      workflowId: `${clientRefreshWorkflowId(client.id)}-scheduled-like`,
      taskQueue: harness.stack.taskQueue,
      args: [{ clientId: client.id, trigger: 'manual', lookbackDays: 1 } satisfies RefreshClientInput],
    })) as RefreshClientResult;
    expect(scheduled.outcome).toBe('refreshed');
    expect((await harness.stack.clients.get(client.id))?.tokenStatus).toBe('valid');
  });

  it('starts a forced refresh of an upper-case id under the lower-case workflow id, and the lower-case id then joins it or waits out its cooldown', async () => {
    const client = await harness.stack.addClient();
    const upper = client.id.toUpperCase();
    const first = await harness.api.request('/api/social-media-cache?forceRefresh=true', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: upper },
    });
    expect(first.status).toBe(202);
    expect(first.body.data).toEqual({ clientId: client.id });
    expect(await workflowExists(clientRefreshWorkflowId(client.id))).toBe(true);
    expect(await workflowExists(`social-media-cache-refresh-${upper}`)).toBe(false);
    const second = await harness.api.request('/api/social-media-cache?forceRefresh=true', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: client.id },
    });
    expect([202, 429]).toContain(second.status);
    if (second.status === 202) expect(second.body.refresh.status).toBe('in_progress');
  });

  it('forgets the answers kept in memory for a client whichever spelling of its id was read or removed', async () => {
    // Read in upper case, removed in lower case.
    const a = await withFreshDay();
    expect(
      (await harness.api.request(`/api/social-media-cache?clientId=${a.upper}&period=${a.period}`)).body.source,
    ).toBe('cache');
    expect(
      (await harness.api.request(`/api/clients/${a.client.id}`, { method: 'DELETE', key: ADMIN_KEY })).status,
    ).toBe(200);
    const afterA = await harness.api.request(`/api/social-media-cache?clientId=${a.upper}&period=${a.period}`);
    expect({ status: afterA.status, code: afterA.body.error?.code }).toEqual({ status: 404, code: 'client_not_found' });

    // Read in lower case, removed in upper case.
    const b = await withFreshDay();
    expect(
      (await harness.api.request(`/api/social-media-cache?clientId=${b.client.id}&period=${b.period}`)).body.source,
    ).toBe('cache');
    expect((await harness.api.request(`/api/clients/${b.upper}`, { method: 'DELETE', key: ADMIN_KEY })).status).toBe(
      200,
    );
    const afterB = await harness.api.request(`/api/social-media-cache?clientId=${b.client.id}&period=${b.period}`);
    expect({ status: afterB.status, code: afterB.body.error?.code }).toEqual({ status: 404, code: 'client_not_found' });
  });

  it('accepts the refresh button of a client page opened through an upper-case id when the form posts the lower-case id, and the other way round', async () => {
    const form = (id: string, token: string) =>
      harness.api.request(`/status/clients/${id}/refresh`, {
        method: 'POST',
        key: ADMIN_KEY,
        rawBody: `csrf=${encodeURIComponent(token)}`,
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Origin: harness.api.url,
          'Sec-Fetch-Site': 'same-origin',
        },
      });
    const csrfOf = async (id: string) =>
      /name="csrf" value="([^"]+)"/.exec(
        (await harness.api.request(`/status/clients/${id}`, { key: ADMIN_KEY })).text,
      )![1];

    const one = await harness.stack.addClient();
    expect((await form(one.id, await csrfOf(one.id.toUpperCase()))).status).toBe(202);
    const two = await harness.stack.addClient();
    expect((await form(two.id.toUpperCase(), await csrfOf(two.id))).status).toBe(202);
  });
});
