import { randomBytes, randomUUID } from 'node:crypto';
import { addDays, dayIn } from '../src/dates';
import { waitFor } from '../src/net';
import { requestRefresh, RefreshRequestDeps } from '../src/temporal/request-refresh';
import { clientRefreshWorkflowId, RefreshAllInput, RefreshClientResult, RefreshTotals } from '../workflows/definitions';
import { createRefreshStack, RefreshStack } from './helpers/stack';
import { historyText } from './helpers/temporal';

const GOOD = { facebookNewFollowers: 9, instagramFollowers: 900, instagramReach: 90, instagramProfileViews: 19 };

describe('refreshing one client', () => {
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

  async function addClient(options?: Parameters<RefreshStack['addClient']>[0]) {
    const client = await stack.addClient(options);
    if (client.token) tokens.add(client.token);
    workflowIds.add(clientRefreshWorkflowId(client.id));
    return client;
  }

  async function resultOf(clientId: string): Promise<RefreshClientResult> {
    return stack.client.workflow.getHandle(clientRefreshWorkflowId(clientId)).result();
  }

  it('starts one workflow execution and one set of Meta calls for 20 concurrent requests', async () => {
    const client = await addClient();
    // Meta answers slowly, so every request arrives while the first refresh is still running.
    stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 1_500, times: 1 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => requestRefresh(deps, client.id)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 'started' || s === 'in_progress')).toBe(true);
    expect(statuses).toContain('started');

    const result = await resultOf(client.id);
    expect(result.outcome).toBe('refreshed');
    // A read's request never signals the running refresh (a signal landing as its step completes would run the step again).
    expect(result.coalescedRequests).toBe(0);
    const executions = await stack.client.workflow.count(`WorkflowId = '${clientRefreshWorkflowId(client.id)}'`);
    expect(executions.count).toBe(1);
    const calls = stack.sandbox.control.calls().byObject;
    expect(calls[client.facebookPageId]).toBe(1);
    expect(calls[client.instagramAccountId!]).toBe(3); // followers once, insights for each of 2 days
  });

  it('starts one execution for 20 concurrent requests under the default 5-minute cooldown too', async () => {
    const client = await addClient();
    const cooled = { ...deps, cooldownMs: 5 * 60_000 };
    stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 1_000, times: 1 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => requestRefresh(cooled, client.id)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 'started')).toHaveLength(1);
    expect(statuses.every((s) => ['started', 'in_progress', 'cooldown'].includes(s))).toBe(true);
    expect((await resultOf(client.id)).outcome).toBe('refreshed');
    expect((await stack.client.workflow.count(`WorkflowId = '${clientRefreshWorkflowId(client.id)}'`)).count).toBe(1);
    expect(stack.sandbox.control.calls().byObject[client.facebookPageId]).toBe(1);
  });

  it('answers token_invalid for a client without a valid token, and not_found for an unknown one', async () => {
    const noToken = await addClient({ token: null });
    expect(await requestRefresh(deps, noToken.id)).toEqual({ status: 'token_invalid' });
    const invalid = await addClient();
    await stack.clients.markToken(invalid.id, 'invalid', '190: expired');
    expect(await requestRefresh(deps, invalid.id)).toEqual({ status: 'token_invalid' });
  });

  it('answers cooldown with the time left, and in_progress while a refresh runs', async () => {
    const client = await addClient();
    const cooled = { ...deps, cooldownMs: 60_000 };
    stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 1_000, times: 1 });
    expect(await requestRefresh(cooled, client.id)).toEqual({ status: 'started' });
    expect(await requestRefresh(cooled, client.id)).toEqual({ status: 'in_progress' });
    await resultOf(client.id);
    const again = await requestRefresh(cooled, client.id);
    expect(again.status).toBe('cooldown');
    expect(again.retryAfterMs).toBeGreaterThan(55_000);
    expect(await requestRefresh(deps, randomUUID())).toEqual({ status: 'not_found' });
  });

  it('retries a client throttled on both platforms after Meta’s estimate and keeps its earlier numbers until then', async () => {
    const client = await addClient();
    const today = dayIn(client.timezone);
    await stack.cache.writeDay(client.id, today, GOOD, new Date(Date.now() - 4 * 3_600_000));
    // Both platforms throttled: nothing can be written, so the activity itself is retried.
    stack.sandbox.control.inject({
      objectId: client.facebookPageId,
      code: 80001,
      httpStatus: 400,
      estimatedTimeToRegainAccess: 1,
      times: 1,
    });
    stack.sandbox.control.inject({
      objectId: client.instagramAccountId!,
      code: 80002,
      httpStatus: 400,
      estimatedTimeToRegainAccess: 1,
      times: 1,
    });

    expect((await requestRefresh(deps, client.id)).status).toBe('started');
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    await waitFor(
      async () =>
        stack.sandbox.control.requests().some((r) => r.objectId === client.facebookPageId && r.code === 80001),
      {
        timeoutMs: 20_000,
        what: 'the throttled call',
      },
    );
    // While Meta asks us to wait, the row keeps its numbers and records the throttling.
    const during = await stack.cache.get(client.id, today);
    expect(during).toMatchObject({ data: GOOD, lastErrorCode: '80001' });
    // The wait is a durable timer of Meta's estimate in the client's workflow, not a held task.
    await waitFor(async () => ((await handle.fetchHistory()).events ?? []).some((e) => e.timerStartedEventAttributes), {
      timeoutMs: 20_000,
      what: "the workflow's timer of Meta's estimate",
    });
    const timer = ((await handle.fetchHistory()).events ?? []).find((e) => e.timerStartedEventAttributes)!;
    expect(Number(timer.timerStartedEventAttributes!.startToFireTimeout!.seconds)).toBe(60);

    const result: RefreshClientResult = await handle.result();
    expect(result).toMatchObject({ outcome: 'refreshed', attempts: 2 });
    const pageCalls = stack.sandbox.control.requests().filter((r) => r.objectId === client.facebookPageId);
    expect(pageCalls).toHaveLength(2);
    const waitedMs = Date.parse(pageCalls[1].at) - Date.parse(pageCalls[0].at);
    expect(waitedMs).toBeGreaterThanOrEqual(60_000);
    expect(waitedMs).toBeLessThan(90_000);
    const after = await stack.cache.get(client.id, today);
    expect(after?.data).not.toEqual(GOOD);
    expect(after).toMatchObject({ lastErrorCode: null });
    expect(after?.fetchedAt?.getTime()).toBeGreaterThan(during!.fetchedAt!.getTime());
  }, 120_000);

  it('counts a scheduled refresh that meets a running on-demand refresh as already running, and goes on', async () => {
    await stack.database.db('clients').delete();
    const busy = await addClient();
    const others = [await addClient(), await addClient()];
    stack.sandbox.control.inject({ objectId: busy.facebookPageId, latencyMs: 3_000, times: 1 });
    expect((await requestRefresh(deps, busy.id)).status).toBe('started');

    const workflowId = `test-cycle-${randomBytes(5).toString('hex')}`;
    const totals: RefreshTotals = await stack.client.workflow.execute('refreshAllClients', {
      workflowId,
      taskQueue: stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 0, lookbackDays: 2 } satisfies RefreshAllInput],
      workflowExecutionTimeout: '2m',
    });
    workflowIds.add(workflowId);
    expect(totals).toEqual({
      total: 3,
      refreshed: 2,
      failed: 0,
      skippedTokenInvalid: 0,
      skippedFresh: 0,
      alreadyRunning: 1,
      pending: 0,
    });
    const [cycle] = await stack.refresh.recentCycles(1);
    const rows = await stack.refresh.resultsOfCycle(cycle.id);
    expect(rows.find((r) => r.clientId === busy.id)?.outcome).toBe('already_running');
    for (const other of others) expect(rows.find((r) => r.clientId === other.id)?.outcome).toBe('refreshed');
    expect((await resultOf(busy.id)).outcome).toBe('refreshed');
  });

  it('keeps a known number when a later fetch lacks it, instead of replacing it with null', async () => {
    const client = await addClient();
    const today = dayIn(client.timezone);
    await stack.cache.writeDay(client.id, today, GOOD, new Date(Date.now() - 4 * 3_600_000));
    stack.sandbox.control.inject({ objectId: client.instagramAccountId!, metricUnsupported: 'profile_views' });
    expect((await requestRefresh(deps, client.id)).status).toBe('started');
    expect((await resultOf(client.id)).outcome).toBe('refreshed');
    const row = await stack.cache.get(client.id, today);
    expect(row?.fetchedAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(row?.data?.instagramProfileViews).toBe(GOOD.instagramProfileViews);
    expect(row?.data?.instagramReach).not.toBe(GOOD.instagramReach);
    expect(row?.data?.unavailable?.instagramProfileViews).toBeUndefined();
    // A day never fetched before has no number to keep: the reason shows instead.
    const yesterday = await stack.cache.get(client.id, addDays(today, -1));
    expect(yesterday?.data).toMatchObject({
      instagramProfileViews: null,
      unavailable: { instagramProfileViews: 'metric_unsupported' },
    });
    stack.sandbox.control.clearInjections(client.instagramAccountId!);
  });

  it('finishes the cycle when a client is deleted while it is being refreshed', async () => {
    await stack.database.db('clients').delete();
    const [doomed, other] = [await addClient(), await addClient()].sort((a, b) => (a.id < b.id ? -1 : 1));
    stack.sandbox.control.inject({ objectId: doomed.facebookPageId, latencyMs: 1_500, times: 1 });
    const workflowId = `test-cycle-${randomBytes(5).toString('hex')}`;
    workflowIds.add(workflowId);
    const handle = await stack.client.workflow.start('refreshAllClients', {
      workflowId,
      taskQueue: stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 0, lookbackDays: 1 } satisfies RefreshAllInput],
      workflowExecutionTimeout: '2m',
    });
    await waitFor(async () => stack.sandbox.control.requests().some((r) => r.objectId === doomed.facebookPageId), {
      timeoutMs: 20_000,
      what: 'the doomed client to be asked for',
    });
    await stack.clients.remove(doomed.id);
    const totals: RefreshTotals = await handle.result();
    // A deleted client is neither a failure nor left waiting: its rows went with it.
    expect(totals).toMatchObject({ total: 2, refreshed: 1, failed: 0, pending: 0 });
    const [cycle] = await stack.refresh.recentCycles(1);
    expect(cycle).toMatchObject({ workflowId, status: 'completed' });
    expect((await stack.refresh.resultsOfCycle(cycle.id)).map((r) => r.clientId)).toEqual([other.id]);
  });

  it("records a read's refresh in six history events and an admin's in seven, without patch markers, and finds it by ClientId", async () => {
    const reader = await addClient();
    expect((await requestRefresh(deps, reader.id)).status).toBe('started');
    const readerHandle = stack.client.workflow.getHandle(clientRefreshWorkflowId(reader.id));
    expect((await readerHandle.result()).outcome).toBe('refreshed');
    // A read starts the refresh without a signal, as a cycle starts its child: six events.
    expect((await readerHandle.fetchHistory()).events ?? []).toHaveLength(6);

    const client = await addClient();
    expect((await requestRefresh(deps, client.id, { force: true })).status).toBe('started');
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    expect((await handle.result()).outcome).toBe('refreshed');
    const events = (await handle.fetchHistory()).events ?? [];
    const markers = events.flatMap((e) =>
      e.markerRecordedEventAttributes ? [e.markerRecordedEventAttributes.markerName] : [],
    );
    // Started, the admin's signal, one workflow task (scheduled, started, completed), the refresh
    // that records its own outcome (one local activity), completed.
    expect({ events: events.length, markers }).toEqual({ events: 7, markers: ['core_local_activity'] });
    // The Web UI's and the CLI's filter.
    await waitFor(async () => (await stack.client.workflow.count(`ClientId = '${client.id}'`)).count === 1, {
      timeoutMs: 10_000,
      what: 'the run by ClientId',
    });
  });

  it('puts no access token in any workflow history', async () => {
    expect(tokens.size).toBeGreaterThan(0);
    for (const workflowId of workflowIds) {
      for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
        const history = await stack.client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
        const text = historyText(history);
        expect(text).toContain('clientId');
        for (const token of tokens) expect(text).not.toContain(token);
      }
    }
  });
});
