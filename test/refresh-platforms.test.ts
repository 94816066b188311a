import { randomBytes } from 'node:crypto';
import { dayIn } from '../src/dates';
import { waitFor } from '../src/net';
import { requestRefresh, RefreshRequestDeps } from '../src/temporal/request-refresh';
import { clientRefreshWorkflowId, RefreshAllInput, RefreshClientResult, RefreshTotals } from '../workflows/definitions';
import { startApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';
import { historyText } from './helpers/temporal';

/** 0.05 minutes: Meta's estimate, shrunk so the test waits 3 s instead of minutes. */
const ESTIMATE_MINUTES = 0.05;
const ESTIMATE_MS = ESTIMATE_MINUTES * 60_000;

describe('refreshing Facebook and Instagram on their own, through the worker and the sandbox', () => {
  let stack: RefreshStack;
  let deps: RefreshRequestDeps;
  const workflowIds = new Set<string>();
  const tokens = new Set<string>();

  beforeAll(async () => {
    stack = await createRefreshStack();
    deps = {
      temporal: stack.client,
      clients: stack.clients,
      cooldownMs: 0,
      lookbackDays: 2,
      taskQueue: stack.taskQueue,
    };
  });

  afterAll(async () => {
    await stack?.close();
  });

  beforeEach(async () => {
    // Each test's cycles see only its own clients.
    await stack.database.db('clients').delete();
    stack.sandbox.control.reset('calls');
  });

  async function addClient(options?: Parameters<RefreshStack['addClient']>[0]) {
    const client = await stack.addClient(options);
    tokens.add(client.token);
    workflowIds.add(clientRefreshWorkflowId(client.id));
    return client;
  }

  async function refreshNow(clientId: string): Promise<RefreshClientResult> {
    expect((await requestRefresh(deps, clientId)).status).toBe('started');
    return stack.client.workflow.getHandle(clientRefreshWorkflowId(clientId)).result();
  }

  async function runCycle(): Promise<RefreshTotals> {
    const workflowId = `test-cycle-${randomBytes(5).toString('hex')}`;
    workflowIds.add(workflowId);
    return stack.client.workflow.execute('refreshAllClients', {
      workflowId,
      taskQueue: stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 0, lookbackDays: 2 } satisfies RefreshAllInput],
      workflowExecutionTimeout: '2m',
    });
  }

  async function lastResultRow(
    clientId: string,
  ): Promise<{ outcome: string; error_code: string | null; attempts: number }> {
    return stack.database
      .db('refresh_client_results')
      .where({ client_id: clientId })
      .orderBy('started_at', 'desc')
      .first();
  }

  const callsTo = (objectId: string) => stack.sandbox.control.requests().filter((r) => r.objectId === objectId);

  it('keeps giving a client whose Instagram permission is missing fresh Facebook numbers every cycle, its token valid', async () => {
    const client = await addClient();
    const igId = client.instagramAccountId!;
    const today = dayIn(client.timezone);
    let previousFetch = 0;
    for (const code of [10, 200] as const) {
      stack.sandbox.control.setInstagramMode({ igId, mode: 'permission_missing', code });
      expect(await runCycle()).toMatchObject({ total: 1, refreshed: 1, failed: 0, skippedTokenInvalid: 0 });
      const row = await stack.cache.get(client.id, today);
      expect(row?.data).toEqual({
        facebookNewFollowers: expect.any(Number),
        instagramFollowers: null,
        instagramReach: null,
        instagramProfileViews: null,
        unavailable: {
          instagramFollowers: 'instagram_permission_missing',
          instagramReach: 'instagram_permission_missing',
          instagramProfileViews: 'instagram_permission_missing',
        },
      });
      expect(row!.fetchedAt!.getTime()).toBeGreaterThan(previousFetch);
      previousFetch = row!.fetchedAt!.getTime();
      expect(await stack.clients.get(client.id)).toMatchObject({
        tokenStatus: 'valid',
        tokenError: null,
        instagramStatus: 'permission_missing',
      });
      expect(callsTo(igId).at(-1)).toMatchObject({ status: code === 10 ? 400 : 403, code });
    }
    // Every cycle called the Page: the client was never skipped.
    expect(callsTo(client.facebookPageId)).toHaveLength(2);
  });

  it('writes Facebook at once when only Instagram is throttled, and Instagram after Meta’s estimate, calling the Page once', async () => {
    const client = await addClient();
    const igId = client.instagramAccountId!;
    const today = dayIn(client.timezone);
    stack.sandbox.control.setInstagramMode({
      igId,
      mode: 'throttled',
      estimatedTimeToRegainAccess: ESTIMATE_MINUTES,
      times: 1,
    });

    expect((await requestRefresh(deps, client.id)).status).toBe('started');
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    // Facebook's numbers are there while Instagram waits out Meta's estimate.
    await waitFor(
      async () => typeof (await stack.cache.get(client.id, today))?.data?.facebookNewFollowers === 'number',
      {
        timeoutMs: 20_000,
        what: "Facebook's numbers",
      },
    );
    const during = await stack.cache.get(client.id, today);
    expect(during?.data).toMatchObject({
      instagramReach: null,
      unavailable: { instagramReach: 'throttled', instagramFollowers: 'throttled' },
    });
    expect(during?.lastErrorCode).toBe('80002');

    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'refreshed', attempts: 2 });
    const after = await stack.cache.get(client.id, today);
    expect(after?.data).toEqual({
      facebookNewFollowers: during!.data!.facebookNewFollowers,
      instagramFollowers: expect.any(Number),
      instagramReach: expect.any(Number),
      instagramProfileViews: expect.any(Number),
      // Facebook's number is the first round's: the second round fetched Instagram alone.
      keptFrom: { facebookNewFollowers: during!.fetchedAt!.toISOString() },
    });
    expect(after?.lastErrorCode).toBeNull();

    expect(callsTo(client.facebookPageId)).toHaveLength(1);
    const igCalls = callsTo(igId);
    expect(igCalls.map((c) => c.code ?? c.status)).toEqual([80002, 200, 200, 200]);
    expect(Date.parse(igCalls[1].at) - Date.parse(igCalls[0].at)).toBeGreaterThanOrEqual(ESTIMATE_MS - 50);
    // The wait is a durable timer of Meta's estimate in the client's workflow.
    const history = await handle.fetchHistory();
    const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
    expect(timers).toHaveLength(1);
    const timeout = timers[0].timerStartedEventAttributes!.startToFireTimeout!;
    expect(Number(timeout.seconds ?? 0) * 1000 + Math.round((timeout.nanos ?? 0) / 1e6)).toBe(ESTIMATE_MS);
    expect(await stack.clients.get(client.id)).toMatchObject({ tokenStatus: 'valid', instagramStatus: 'ok' });
    expect(await lastResultRow(client.id)).toMatchObject({ outcome: 'refreshed', error_code: null, attempts: 2 });
  }, 60_000);

  it('records the outcome of an extra round when days are asked for while a platform waits out Meta’s estimate', async () => {
    const client = await addClient();
    const igId = client.instagramAccountId!;
    // A longer estimate than the other tests': the days must be asked for while the timer runs,
    // even on a machine busy enough to take seconds between seeing the timer and signalling.
    stack.sandbox.control.setInstagramMode({
      igId,
      mode: 'throttled',
      estimatedTimeToRegainAccess: 3 * ESTIMATE_MINUTES,
      times: 1,
    });
    expect((await requestRefresh(deps, client.id)).status).toBe('started');
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    await waitFor(async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), {
      timeoutMs: 20_000,
      what: "the estimate's timer",
    });
    // Days asked for during the timer: the retry's step must not record, the extra round follows it.
    const pastDay = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
    // An admin's request (a backfill) joins the running refresh by signal; a read's would wait for it to end.
    expect((await requestRefresh(deps, client.id, { force: true, days: [pastDay] })).status).toBe('in_progress');
    const result = await handle.result();
    // First fetch, Instagram's retry, the extra round for the asked day: one attempt each.
    expect(result).toMatchObject({ outcome: 'refreshed', attempts: 3 });
    expect(await lastResultRow(client.id)).toMatchObject({ outcome: 'refreshed', error_code: null, attempts: 3 });
    expect((await stack.cache.get(client.id, pastDay))?.fetchedAt).toBeTruthy();
    const markers = ((await handle.fetchHistory()).events ?? []).filter((e) => e.markerRecordedEventAttributes);
    // Three steps and the workflow's own record.
    expect(markers).toHaveLength(4);
  }, 60_000);

  it('writes Instagram at once when only the Page is throttled, and asks Instagram once', async () => {
    const client = await addClient();
    const today = dayIn(client.timezone);
    stack.sandbox.control.inject({
      objectId: client.facebookPageId,
      code: 80001,
      estimatedTimeToRegainAccess: ESTIMATE_MINUTES,
      times: 1,
    });
    expect((await requestRefresh(deps, client.id)).status).toBe('started');
    await waitFor(async () => typeof (await stack.cache.get(client.id, today))?.data?.instagramReach === 'number', {
      timeoutMs: 20_000,
      what: "Instagram's numbers",
    });
    expect((await stack.cache.get(client.id, today))?.data).toMatchObject({
      facebookNewFollowers: null,
      unavailable: { facebookNewFollowers: 'throttled' },
    });
    const result = await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
    expect(result).toMatchObject({ outcome: 'refreshed', attempts: 2 });
    expect((await stack.cache.get(client.id, today))?.data?.facebookNewFollowers).toEqual(expect.any(Number));
    expect(callsTo(client.facebookPageId).map((c) => c.code ?? c.status)).toEqual([80001, 200]);
    expect(callsTo(client.instagramAccountId!)).toHaveLength(3);
  }, 60_000);

  it('reports an unlinked Instagram account as instagram_not_linked and keeps the token valid', async () => {
    const client = await addClient();
    stack.sandbox.control.setInstagramMode({ igId: client.instagramAccountId!, mode: 'not_linked' });
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'refreshed' });
    const row = await stack.cache.get(client.id, dayIn(client.timezone));
    expect(row?.data).toMatchObject({
      facebookNewFollowers: expect.any(Number),
      instagramReach: null,
      unavailable: {
        instagramFollowers: 'instagram_not_linked',
        instagramReach: 'instagram_not_linked',
        instagramProfileViews: 'instagram_not_linked',
      },
    });
    expect(await stack.clients.get(client.id)).toMatchObject({ tokenStatus: 'valid', instagramStatus: 'not_linked' });
  });

  it('keeps the Instagram numbers a day already has when Instagram is refused later', async () => {
    const client = await addClient();
    const today = dayIn(client.timezone);
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'refreshed' });
    const before = (await stack.cache.get(client.id, today))!.data!;
    expect(before.instagramReach).toEqual(expect.any(Number));
    const firstFetch = (await stack.cache.get(client.id, today))!.fetchedAt!.toISOString();
    stack.sandbox.control.setInstagramMode({ igId: client.instagramAccountId!, mode: 'permission_missing' });
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'refreshed' });
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'refreshed' });
    const after = (await stack.cache.get(client.id, today))!;
    const { keptFrom, ...numbers } = after.data!;
    expect(numbers).toEqual(before);
    expect((await stack.clients.get(client.id))?.instagramStatus).toBe('permission_missing');
    // The kept numbers keep their own time, the first fetch's, through later fetches too.
    expect(after.fetchedAt!.toISOString() > firstFetch).toBe(true);
    expect(keptFrom).toEqual({
      instagramFollowers: firstFetch,
      instagramReach: firstFetch,
      instagramProfileViews: firstFetch,
    });

    const api = await startApi(stack);
    try {
      const read = await api.request(`/api/social-media-cache?clientId=${client.id}&period=${today}`);
      expect(read.body.data).toMatchObject({
        lastUpdated: after.fetchedAt!.toISOString(),
        keptFrom,
        instagramReach: before.instagramReach,
      });
      expect(read.body.data.keptFrom.facebookNewFollowers).toBeUndefined();
    } finally {
      await api.close();
    }
  });

  it('never marks a token the sandbox does not know invalid, nor gives it numbers: its refresh reports sandbox_unknown_token', async () => {
    // A real client added while `npm start` runs against the sandbox: the sandbox never issued its token.
    const token = `real-client-token-${randomBytes(8).toString('hex')}`;
    tokens.add(token);
    const client = await stack.clients.create({
      name: 'Real Co',
      facebookPageId: '5550000000001',
      instagramAccountId: '17841455500001',
      accessToken: token,
    });
    workflowIds.add(clientRefreshWorkflowId(client.id));

    expect(await refreshNow(client.id)).toMatchObject({
      outcome: 'failed',
      errorCode: 'sandbox_unknown_token',
      attempts: 1,
    });
    expect(await stack.clients.get(client.id)).toMatchObject({ tokenStatus: 'unknown', tokenError: null });
    expect(await lastResultRow(client.id)).toMatchObject({ outcome: 'failed', error_code: 'sandbox_unknown_token' });
    expect((await stack.cache.get(client.id, dayIn(client.timezone)))?.data ?? null).toBeNull();
    // The next cycle tries it again rather than skipping it.
    expect(await runCycle()).toMatchObject({ total: 1, failed: 1, skippedTokenInvalid: 0 });
    expect((await stack.clients.get(client.id))?.tokenStatus).toBe('unknown');
  });

  it('still marks the token invalid on 190, and on a permission error on every object the token reads', async () => {
    const expired = await addClient();
    stack.sandbox.control.setToken({ token: expired.token, status: 'expired' });
    expect(await refreshNow(expired.id)).toMatchObject({ outcome: 'failed', errorCode: '190' });
    expect(await stack.clients.get(expired.id)).toMatchObject({
      tokenStatus: 'invalid',
      tokenError: expect.stringMatching(/^190: /),
    });

    const noPermission = await addClient();
    stack.sandbox.control.setToken({ token: noPermission.token, status: 'no_permission' });
    expect(await refreshNow(noPermission.id)).toMatchObject({ outcome: 'failed', errorCode: '10' });
    expect(await stack.clients.get(noPermission.id)).toMatchObject({
      tokenStatus: 'invalid',
      tokenError: expect.stringMatching(/^10: /),
    });

    expect(await runCycle()).toMatchObject({ total: 2, skippedTokenInvalid: 2 });
  });

  it('puts no access token in any workflow history', async () => {
    expect(tokens.size).toBeGreaterThan(0);
    for (const workflowId of workflowIds) {
      for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
        const text = historyText(await stack.client.workflow.getHandle(workflowId, execution.runId).fetchHistory());
        for (const token of tokens) expect(text).not.toContain(token);
      }
    }
  });
});
