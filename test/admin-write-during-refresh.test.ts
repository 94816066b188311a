import { dayIn } from '../src/dates';
import { waitFor } from '../src/net';
import { requestRefresh } from '../src/temporal/request-refresh';
import { clientRefreshWorkflowId, RefreshClientResult } from '../workflows/definitions';
import { ADMIN_KEY, startApi, TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

describe('an admin write while a refresh waits on Meta', () => {
  let stack: RefreshStack;
  let api: TestApi;

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack);
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  it('survives the refresh: its numbers stay, the fetch fills in only what it lacked', async () => {
    const client = await stack.addClient();
    const today = dayIn(client.timezone);
    const deps = {
      temporal: stack.client,
      clients: stack.clients,
      cooldownMs: 0,
      lookbackDays: 1,
      taskQueue: stack.taskQueue,
    };
    const handle = () =>
      stack.client.workflow.getHandle<() => Promise<RefreshClientResult>>(clientRefreshWorkflowId(client.id));
    // A first refresh, so the row holds Meta's numbers the refresh below reads before it fetches.
    await requestRefresh(deps, client.id);
    expect((await handle().result()).outcome).toBe('refreshed');
    const before = (await api.request(`/api/social-media-cache?clientId=${client.id}`)).body.data;
    expect(before.instagramProfileViews).toEqual(expect.any(Number));

    // The Page answers at once, Instagram (fetched after it) only after 3 s: the write lands in between.
    stack.sandbox.control.reset('calls');
    stack.sandbox.control.inject({ objectId: client.instagramAccountId!, latencyMs: 3_000, times: 1 });
    await requestRefresh(deps, client.id);
    await waitFor(async () => stack.sandbox.control.requests().some((r) => r.objectId === client.facebookPageId), {
      timeoutMs: 15_000,
      what: 'the refresh to reach Meta',
    });
    const admin = {
      facebookNewFollowers: 7_777,
      instagramFollowers: 99_999,
      instagramReach: 55_555,
      instagramProfileViews: null,
    };
    const writtenAt = Date.now();
    const written = await api.request('/api/social-media-cache', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: client.id, period: today, data: admin },
    });
    expect(written.status).toBe(200);
    expect(written.body.data).toMatchObject(admin);

    expect((await handle().result()).outcome).toBe('refreshed');
    // The held Instagram call was answered after the write: the fetch ended after it.
    const instagramAnswered = stack.sandbox.control
      .requests()
      .filter((r) => r.objectId === client.instagramAccountId)
      .map((r) => Date.parse(r.at));
    expect(Math.max(...instagramAnswered)).toBeGreaterThan(writtenAt);
    const after = (await api.request(`/api/social-media-cache?clientId=${client.id}`)).body.data;
    // The admin's numbers, newer than the fetch's start, stay; the number it lacked comes from Meta.
    expect(after).toMatchObject({
      facebookNewFollowers: 7_777,
      instagramFollowers: 99_999,
      instagramReach: 55_555,
      instagramProfileViews: expect.any(Number),
    });
    expect(after.unavailable?.instagramProfileViews).toBeUndefined();
  });
});
