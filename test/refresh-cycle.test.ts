import { dayIn } from '../src/dates';
import { randomBytes } from 'node:crypto';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { waitFor } from '../src/net';
import { ensureRefreshSchedule } from '../src/temporal/schedule';
import { RefreshAllInput, RefreshTotals } from '../workflows/definitions';
import { createRefreshStack, RefreshStack } from './helpers/stack';
import { historyText } from './helpers/temporal';
import { AppThrottleStore } from '../src/stores/refresh';
import { nextSpacing } from '../workflows/refresh-all';

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<RefreshStack['client']['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];

function timerMs(event: HistoryEvent): number {
  const timeout = event.timerStartedEventAttributes!.startToFireTimeout!;
  return Number(timeout.seconds ?? 0) * 1000 + Math.round((timeout.nanos ?? 0) / 1e6);
}

function cycleId(): string {
  return `test-cycle-${randomBytes(5).toString('hex')}`;
}

async function runCycle(stack: RefreshStack, input: Partial<RefreshAllInput> = {}) {
  const workflowId = cycleId();
  const result: RefreshTotals = await stack.client.workflow.execute('refreshAllClients', {
    workflowId,
    taskQueue: stack.taskQueue,
    args: [{ trigger: 'manual', spacingMs: 0, lookbackDays: 2, ...input } satisfies RefreshAllInput],
    workflowExecutionTimeout: '5m',
  });
  return { workflowId, result };
}

async function historiesOfAllRuns(stack: RefreshStack, workflowId: string): Promise<HistoryEvent[][]> {
  const histories: HistoryEvent[][] = [];
  for await (const execution of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await stack.client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
    histories.push(history.events ?? []);
  }
  return histories;
}

describe('the refresh cycle', () => {
  let stack: RefreshStack;

  beforeAll(async () => {
    stack = await createRefreshStack();
  });

  afterAll(async () => {
    await stack?.close();
  });

  beforeEach(async () => {
    // Each test sees only its own clients.
    await stack.database.db('clients').delete();
    stack.sandbox.control.reset('calls');
  });

  it("stretches its spacing while Meta reports the app's usage above 75 %", async () => {
    await stack.addClient();
    await stack.addClient();
    await new AppThrottleStore(stack.database.db).recordUsage(90);
    try {
      const { workflowId, result } = await runCycle(stack, { spacingMs: 100 });
      expect(result.refreshed).toBe(2);
      const stretched = nextSpacing(100, 90, 0);
      expect(stretched).toBe(4_000);
      const timers = (await historiesOfAllRuns(stack, workflowId))
        .flat()
        .filter((e) => e.timerStartedEventAttributes)
        .map(timerMs);
      // One timer of the stretched spacing between the two starts (100 ms alone would be a group of 10, no timer).
      expect(timers).toContain(stretched);
      const row = await stack.database.db('refresh_runs').where({ workflow_id: workflowId }).first();
      expect(row.current_spacing_ms).toBe(stretched);
    } finally {
      await stack.database.db('meta_app_usage').delete();
    }
  });

  it('keeps a Schedule every REFRESH_INTERVAL with overlap SKIP, updated when the interval changes', async () => {
    const scheduleId = `test-schedule-${randomBytes(4).toString('hex')}`;
    const settings = {
      scheduleId,
      taskQueue: stack.taskQueue,
      intervalMs: 3 * 3_600_000,
      spacingMs: 2_000,
      lookbackDays: 2,
    };
    try {
      expect(await ensureRefreshSchedule(stack.client, settings)).toBe('created');
      expect(await ensureRefreshSchedule(stack.client, settings)).toBe('unchanged');
      let described = await stack.client.schedule.getHandle(scheduleId).describe();
      expect(described.spec.intervals).toMatchObject([{ every: 3 * 3_600_000 }]);
      expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
      expect(described.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: 'refreshAllClients',
        taskQueue: stack.taskQueue,
      });

      // A worker restarted with REFRESH_INTERVAL=1h updates the existing Schedule.
      expect(await ensureRefreshSchedule(stack.client, { ...settings, intervalMs: 3_600_000 })).toBe('updated');
      described = await stack.client.schedule.getHandle(scheduleId).describe();
      expect(described.spec.intervals).toMatchObject([{ every: 3_600_000 }]);
    } finally {
      await stack.client.schedule.getHandle(scheduleId).delete();
    }
  });

  it('refreshes every client with a token when the Schedule is triggered, and no client without one', async () => {
    const withToken = [await stack.addClient(), await stack.addClient({ instagram: false }), await stack.addClient()];
    const withoutToken = await stack.addClient({ token: null });
    const scheduleId = `test-schedule-${randomBytes(4).toString('hex')}`;
    await ensureRefreshSchedule(stack.client, {
      scheduleId,
      taskQueue: stack.taskQueue,
      intervalMs: 3 * 3_600_000,
      spacingMs: 0,
      lookbackDays: 2,
    });
    const handle = stack.client.schedule.getHandle(scheduleId);
    try {
      await handle.trigger(ScheduleOverlapPolicy.SKIP);
      let workflowId = '';
      await waitFor(
        async () => {
          const action = (await handle.describe()).info.recentActions[0]?.action;
          workflowId = action?.workflow.workflowId ?? '';
          return workflowId !== '';
        },
        { timeoutMs: 20_000, what: 'the triggered cycle to start' },
      );
      const totals: RefreshTotals = await stack.client.workflow.getHandle(workflowId).result();
      expect(totals).toEqual({
        total: 3,
        refreshed: 3,
        failed: 0,
        skippedTokenInvalid: 0,
        skippedFresh: 0,
        alreadyRunning: 0,
        pending: 0,
      });

      for (const client of withToken) {
        const rows = await stack.database
          .db('social_media_cache')
          .where({ client_id: client.id })
          .whereNotNull('fetched_at');
        expect(rows).toHaveLength(2);
      }
      expect(await stack.database.db('social_media_cache').where({ client_id: withoutToken.id })).toEqual([]);
      expect(stack.sandbox.control.calls().byObject[withoutToken.facebookPageId]).toBeUndefined();

      const [cycle] = await stack.refresh.recentCycles(1);
      expect(cycle).toMatchObject({ workflowId, trigger: 'schedule', status: 'completed', totals });
    } finally {
      await handle.delete();
    }
  });

  it('waits a durable timer of REFRESH_SPACING between consecutive child starts', async () => {
    for (let i = 0; i < 3; i += 1) await stack.addClient();
    const { workflowId, result } = await runCycle(stack, { spacingMs: 1_000 });
    expect(result.refreshed).toBe(3);

    const [events] = await historiesOfAllRuns(stack, workflowId);
    const starts = events
      .map((e, i) => (e.startChildWorkflowExecutionInitiatedEventAttributes ? i : -1))
      .filter((i) => i >= 0);
    expect(starts).toHaveLength(3);
    // With a timer per child, as in production: the default page of 100 clients must stay far below
    // 4,096 events. Per client: from one start to the next; the cycle's end is a fixed cost.
    const perClient = (starts[2] - starts[0]) / 2;
    const end = events.length - starts[2];
    process.stdout.write(
      `history events per client in the parent: ${perClient.toFixed(1)} (with spacing timers), ${end} to end the cycle\n`,
    );
    expect(perClient * 100 + end).toBeLessThan(2_000);
    for (let k = 1; k < starts.length; k += 1) {
      const between = events.slice(starts[k - 1] + 1, starts[k]);
      const timers = between.filter((e) => e.timerStartedEventAttributes);
      expect(timers).toHaveLength(1);
      expect(timerMs(timers[0])).toBe(1_000);
      expect(between.some((e) => e.timerFiredEventAttributes)).toBe(true);
    }
  });

  it('starts clients in groups below a second of spacing, one timer per group, so the average spacing holds', async () => {
    for (let i = 0; i < 5; i += 1) await stack.addClient();
    const started = Date.now();
    const { workflowId, result } = await runCycle(stack, { spacingMs: 300 });
    const elapsed = Date.now() - started;
    expect(result.refreshed).toBe(5);

    // 300 ms is below the timers' resolution: four clients start together, then one timer of 4 × 300 ms.
    const [events] = await historiesOfAllRuns(stack, workflowId);
    const starts = events
      .map((e, i) => (e.startChildWorkflowExecutionInitiatedEventAttributes ? i : -1))
      .filter((i) => i >= 0);
    expect(starts).toHaveLength(5);
    // Pacing timers stand between starts; after the last start the cycle only waits for results.
    const timers = events.slice(0, starts[4]).filter((e) => e.timerStartedEventAttributes);
    expect(timers.map(timerMs)).toEqual([1_200]);
    expect(events.slice(starts[0], starts[3]).some((e) => e.timerStartedEventAttributes)).toBe(false);
    expect(events.slice(starts[3], starts[4]).filter((e) => e.timerFiredEventAttributes)).toHaveLength(1);
    expect(elapsed).toBeGreaterThanOrEqual(1_200);
  });

  /**
   * How many children each group started, groups being split by the pacing timers; the timers;
   * and when each group's first start was recorded (ms).
   */
  function startGroups(events: HistoryEvent[]): { sizes: number[]; timers: number[]; startedAt: number[] } {
    const sizes: number[] = [];
    const timers: number[] = [];
    const startedAt: number[] = [];
    let current = 0;
    for (const e of events) {
      if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
        if (current === 0)
          startedAt.push(Number(e.eventTime!.seconds) * 1000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6));
        current += 1;
      } else if (e.timerStartedEventAttributes && current > 0) {
        sizes.push(current);
        timers.push(timerMs(e));
        current = 0;
      }
    }
    if (current) sizes.push(current);
    return { sizes, timers, startedAt };
  }

  /** Each lane keeps the spacing: groups start at least a spacing apart, and no timer is longer. */
  function expectPaced(groups: { timers: number[]; startedAt: number[] }, spacingMs: number): void {
    const paced = groups.timers.slice(0, groups.startedAt.length - 1);
    for (const timer of paced) {
      // A timer is shortened by the time its group's task ran late, never lengthened.
      expect(timer).toBeLessThanOrEqual(spacingMs);
      expect(timer).toBeGreaterThan(spacingMs / 2);
    }
    for (let g = 1; g < groups.startedAt.length; g += 1)
      expect(groups.startedAt[g] - groups.startedAt[0]).toBeGreaterThanOrEqual(g * spacingMs - 20);
  }

  it('starts clients on the fewest lanes that fit the interval, each lane keeping the spacing', async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, () => stack.addClient()));
    // Serially 6 starts 1 s apart take 5 s, more than 80 % of a 4 s interval; two lanes take 2 s.
    const { workflowId, result } = await runCycle(stack, { spacingMs: 1_000, lanes: 'auto', intervalMs: 4_000 });
    expect(result).toMatchObject({ total: 6, refreshed: 6, failed: 0 });
    const [events] = await historiesOfAllRuns(stack, workflowId);
    // The pacing timers stand between groups; after the last group the cycle waits for results.
    const groups = startGroups(events);
    expect(groups.sizes).toEqual([2, 2, 2]);
    expect(groups.timers[0]).toBe(1_000);
    expectPaced(groups, 1_000);
    const row = await stack.database.db('refresh_runs').where({ workflow_id: workflowId }).first();
    expect({ lanes: row.lanes, needsMs: Number(row.needs_ms), fits: row.fits_interval }).toEqual({
      lanes: 2,
      needsMs: 2_000,
      fits: true,
    });
    // Each client is on one lane: refreshed exactly once in the cycle.
    const results = await stack.database.db('refresh_client_results').where({ run_id: row.id });
    expect(results.map((r) => r.client_id).sort()).toEqual(clients.map((c) => c.id).sort());
    expect(results.every((r) => r.outcome === 'refreshed')).toBe(true);
  });

  it("removes lanes while Meta's app usage is above 75 % before it stretches the spacing", async () => {
    for (let i = 0; i < 8; i += 1) await stack.addClient();
    await new AppThrottleStore(stack.database.db).recordUsage(85);
    try {
      const { workflowId, result } = await runCycle(stack, { spacingMs: 1_000, lanes: 4, intervalMs: 60_000 });
      expect(result.refreshed).toBe(8);
      const [events] = await historiesOfAllRuns(stack, workflowId);
      const groups = startGroups(events);
      // 85 % keeps 2 of the 4 lanes (4 × 15 / 25), at the spacing as configured.
      expect(groups.sizes).toEqual([2, 2, 2, 2]);
      expectPaced(groups, 1_000);
      const row = await stack.database.db('refresh_runs').where({ workflow_id: workflowId }).first();
      expect(row.lanes).toBe(2);
    } finally {
      await stack.database.db('meta_app_usage').delete();
    }
  });

  it('continues as new page by page so no run passes 4,096 events, and its counts match the recorded rows', async () => {
    const count = 120;
    await Promise.all(Array.from({ length: count }, () => stack.addClient()));
    const { workflowId, result } = await runCycle(stack, { pageSize: 25, lookbackDays: 1 });
    expect(result).toEqual({
      total: count,
      refreshed: count,
      failed: 0,
      skippedTokenInvalid: 0,
      skippedFresh: 0,
      alreadyRunning: 0,
      pending: 0,
    });

    const histories = await historiesOfAllRuns(stack, workflowId);
    expect(histories.length).toBeGreaterThanOrEqual(5);
    const continued = histories.filter((events) =>
      events.some((e) => e.workflowExecutionContinuedAsNewEventAttributes),
    );
    expect(continued.length).toBeGreaterThanOrEqual(4);
    for (const events of histories) expect(events.length).toBeLessThan(4_096);
    const perClient = Math.max(...histories.map((events) => events.length)) / 25;
    process.stdout.write(`history events per client in the parent: ${perClient.toFixed(1)} (page of 25, spacing 0)\n`);

    const [cycle] = await stack.refresh.recentCycles(1);
    expect(cycle.workflowId).toBe(workflowId);
    const rows = await stack.refresh.resultsOfCycle(cycle.id);
    expect(rows).toHaveLength(count);
    expect(rows.filter((r) => r.outcome === 'refreshed')).toHaveLength(result.refreshed);
    expect(new Set(rows.map((r) => r.clientId)).size).toBe(count);
    expect(cycle).toMatchObject({ status: 'completed', totals: result });
  });

  it('tags every client refresh with ClientId and answers the progress query while it runs', async () => {
    const clients = [await stack.addClient(), await stack.addClient(), await stack.addClient()];
    const workflowId = cycleId();
    const handle = await stack.client.workflow.start('refreshAllClients', {
      workflowId,
      taskQueue: stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 1_500, lookbackDays: 1 } satisfies RefreshAllInput],
      workflowExecutionTimeout: '2m',
    });
    let progress:
      { total: number; done: number; refreshed: number; failed: number; currentClientId: string | null } | undefined;
    await waitFor(
      async () => {
        progress = await handle.query('progress');
        return progress!.done >= 1 && progress!.done < 3;
      },
      { timeoutMs: 20_000, what: 'a cycle half done' },
    );
    expect(progress).toMatchObject({ total: 3, failed: 0 });
    expect(clients.map((c) => c.id)).toContain(progress!.currentClientId);
    // The cycle knows what it started; the outcomes are counted from the children's own records.
    expect(await handle.result()).toMatchObject({ total: 3, refreshed: 3 });
    expect(await handle.query('progress')).toMatchObject({ total: 3, done: 3, started: 3, currentClientId: null });

    for (const client of clients) {
      const runs = [];
      for await (const run of stack.client.workflow.list({ query: `ClientId = '${client.id}'` })) runs.push(run);
      expect(runs.map((r) => r.type)).toEqual(['refreshClient']);
    }
  });

  it('stops every call to Meta while Meta throttles the whole app', async () => {
    const throttling = await createRefreshStack({ activityOptions: { throttleBackoffMs: 2_000 } });
    try {
      // The cycle visits clients in id order: the first one meets the throttle. A spacing of a
      // second starts them one by one (below it, clients start in groups and meet Meta together).
      const [first, second] = [await throttling.addClient(), await throttling.addClient()].sort((a, b) =>
        a.id < b.id ? -1 : 1,
      );
      throttling.sandbox.control.inject({ objectId: first.facebookPageId, code: 4, httpStatus: 400, times: 1 });
      const workflowId = cycleId();
      const totals: RefreshTotals = await throttling.client.workflow.execute('refreshAllClients', {
        workflowId,
        taskQueue: throttling.taskQueue,
        args: [{ trigger: 'manual', spacingMs: 1_000, lookbackDays: 1 } satisfies RefreshAllInput],
        workflowExecutionTimeout: '2m',
      });
      expect(totals).toMatchObject({ refreshed: 2, failed: 0 });
      const requests = throttling.sandbox.control.requests();
      const throttledAt = Date.parse(requests.find((r) => r.code === 4)!.at);
      const row = await throttling.database.db('meta_app_throttle').first();
      const until = row.throttled_until.getTime();
      expect(until - throttledAt).toBeGreaterThanOrEqual(1_900);
      // Nothing went to Meta between the throttle and its end, for any client.
      const during = requests.filter((r) => Date.parse(r.at) > throttledAt && Date.parse(r.at) < until - 50);
      expect(during).toEqual([]);
      expect(requests.some((r) => r.objectId === second.facebookPageId && Date.parse(r.at) >= until - 50)).toBe(true);
    } finally {
      await throttling.close();
    }
  });

  it('skips a client whose token Meta rejected, keeps its data, and refreshes the others', async () => {
    const healthy = await stack.addClient();
    const expired = await stack.addClient();
    const day = dayIn(expired.timezone);
    const good = { facebookNewFollowers: 9, instagramFollowers: 900, instagramReach: 90, instagramProfileViews: 19 };
    await stack.cache.writeDay(expired.id, day, good, new Date(Date.now() - 4 * 3_600_000));
    stack.sandbox.control.setToken({ token: expired.token, status: 'expired' });

    const first = await runCycle(stack);
    expect(first.result).toEqual({
      total: 2,
      refreshed: 1,
      failed: 1,
      skippedTokenInvalid: 0,
      skippedFresh: 0,
      alreadyRunning: 0,
      pending: 0,
    });
    expect(await stack.clients.get(expired.id)).toMatchObject({
      tokenStatus: 'invalid',
      tokenError: expect.stringMatching(/^190: /),
    });
    expect((await stack.cache.get(expired.id, day))?.data).toEqual(good);
    // No retry: one call was enough to learn the token is dead.
    expect(stack.sandbox.control.calls().byObject[expired.facebookPageId]).toBe(1);
    const [failedRow] = (await stack.refresh.resultsOfCycle((await stack.refresh.recentCycles(1))[0].id)).filter(
      (r) => r.clientId === expired.id,
    );
    expect(failedRow).toMatchObject({ outcome: 'failed', errorCode: '190', attempts: 1 });

    stack.sandbox.control.reset('calls');
    const second = await runCycle(stack);
    expect(second.result).toEqual({
      total: 2,
      refreshed: 1,
      failed: 0,
      skippedTokenInvalid: 1,
      skippedFresh: 0,
      alreadyRunning: 0,
      pending: 0,
    });
    expect(stack.sandbox.control.calls().byObject[expired.facebookPageId]).toBeUndefined();
    expect(stack.sandbox.control.calls().byObject[healthy.facebookPageId]).toBe(1);
    expect((await stack.cache.get(expired.id, day))?.data).toEqual(good);
  });

  it('puts no access token in any workflow history of these cycles', async () => {
    const seen: string[] = [];
    for await (const execution of stack.client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` })) {
      const history = await stack.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      seen.push(historyText(history));
    }
    expect(seen.length).toBeGreaterThan(10);
    const text = seen.join('\n');
    // Every test token is `test-token-<run>-<n>`; decoded payloads show client ids, never a token.
    expect(text).toContain('clientId');
    expect(text).not.toMatch(/test-token-/);
  });
});
