import { z } from 'zod';
import { createDb, Db } from '../src/db';
import { waitFor } from '../src/net';
import { ADMIN_KEY, READ_KEY, startApi, TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';
import { seedFleet } from './helpers/status';
import { overrunText } from '../src/domain/lanes';

const STATUS = '/api/automated/refresh-social-media-cache';

/** The queries a knex instance sends while `fn` runs, and the rows they bring back. */
async function measure(db: Db, fn: () => Promise<unknown>): Promise<{ queries: number; rows: number }> {
  const seen = { queries: 0, rows: 0 };
  const onQuery = () => (seen.queries += 1);
  const onResponse = (response: unknown) => {
    const rows = Array.isArray(response) ? response : (response as { rows?: unknown[] } | undefined)?.rows;
    seen.rows += rows?.length ?? 0;
  };
  db.on('query', onQuery);
  db.on('query-response', onResponse);
  try {
    await fn();
  } finally {
    db.removeListener('query', onQuery);
    db.removeListener('query-response', onResponse);
  }
  return seen;
}

describe('the refresh status', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let counted: Db;
  let workflowId: string;
  let expired: Awaited<ReturnType<RefreshStack['addClient']>>;
  let good: Awaited<ReturnType<RefreshStack['addClient']>>;

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack);
    counted = createDb(stack.database.url);
    good = await stack.addClient({ name: 'Status Good' });
    expired = await stack.addClient({ name: 'Status Expired' });
    stack.sandbox.control.setToken({ token: expired.token, status: 'expired' });
    const started = await api.request(STATUS, { method: 'POST', key: ADMIN_KEY });
    expect(started.status).toBe(202);
    workflowId = started.body.data.workflowId;
    await stack.client.workflow.getHandle(workflowId).result();
  });

  afterAll(async () => {
    await counted?.destroy();
    await api?.close();
    await stack?.close();
  });

  /** An API of its own over the counting knex instance, so nothing it answers was built before. */
  async function freshApi(): Promise<TestApi> {
    return startApi({ ...stack, database: { ...stack.database, db: counted } });
  }

  it("gives a read key counts and times only, and an admin key the failed clients with Meta's error text", async () => {
    let admin: Awaited<ReturnType<TestApi['request']>> | undefined;
    await waitFor(
      async () =>
        (admin = await api.request(STATUS, { key: ADMIN_KEY })).body.data.lastCycle?.workflowId === workflowId,
      {
        timeoutMs: 10_000,
        what: 'the finished cycle in the status',
      },
    );
    const failure = admin!.body.data.lastCycle.failures[0];
    expect(admin!.body.data.lastCycle.failures).toEqual([
      {
        clientId: expired.id,
        clientName: 'Status Expired',
        errorCode: '190',
        errorMessage: expect.stringMatching(/.{10,}/),
        attempts: 1,
      },
    ]);
    expect(admin!.body.data).toHaveProperty('schedule');

    const read = await api.request(STATUS, { key: READ_KEY });
    expect(read.status).toBe(200);
    expect(read.body).toEqual({
      success: true,
      data: {
        lastCycle: {
          trigger: 'manual',
          status: 'completed',
          startedAt: admin!.body.data.lastCycle.startedAt,
          finishedAt: admin!.body.data.lastCycle.finishedAt,
          total: 2,
          refreshed: 1,
          failed: 1,
          skippedTokenInvalid: 0,
          skippedFresh: 0,
          alreadyRunning: 0,
          pending: 0,
        },
        running: null,
        nextRunAt: read.body.data.nextRunAt,
        temporal: 'ok',
      },
    });
    for (const secret of [expired.id, good.id, 'Status Expired', 'Status Good', workflowId, failure.errorMessage])
      expect(read.text).not.toContain(secret);
  });

  it('builds each answer from a fixed number of queries whatever the fleet size, once for a burst of calls', async () => {
    // A running cycle, so the counts of its results are part of what is read.
    const runningId = await stack.refresh.startCycle(`test-status-running-${Date.now()}`, 'schedule', 2);
    await stack.refresh.recordResults([
      {
        cycleId: runningId,
        clientId: good.id,
        workflowId: 'w-good',
        trigger: 'schedule',
        outcome: 'refreshed',
        errorCode: null,
        errorMessage: null,
        attempts: 1,
        startedAt: new Date(),
        durationMs: 10,
      },
    ]);
    const once = async (key: string) => {
      const one = await freshApi();
      try {
        return await measure(counted, async () => expect((await one.request(STATUS, { key })).status).toBe(200));
      } finally {
        await one.close();
      }
    };
    const burst = async (key: string) => {
      const many = await freshApi();
      try {
        return await measure(counted, async () => {
          const answers = await Promise.all(Array.from({ length: 20 }, () => many.request(STATUS, { key })));
          expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
          expect(new Set(answers.map((a) => a.text)).size).toBe(1);
        });
      } finally {
        await many.close();
      }
    };
    const small = { read: await burst(READ_KEY), admin: await burst(ADMIN_KEY) };
    expect(small.read.queries).toBe((await once(READ_KEY)).queries);
    expect(small.admin.queries).toBe((await once(ADMIN_KEY)).queries);

    const steady = await freshApi();
    try {
      expect((await steady.request(STATUS, { key: ADMIN_KEY })).body.data.lastCycle.failures).toHaveLength(1);
      // 150 more clients, each failed in the last cycle, and one more refreshed in the running one.
      const fleet = await seedFleet(stack.database.db, { prefix: 'Status Fleet', count: 150 });
      const last = (await stack.refresh.recentCycles(10)).find((c) => c.workflowId === workflowId)!;
      const result = { trigger: 'schedule' as const, attempts: 2, startedAt: new Date(), durationMs: 10 };
      await stack.refresh.recordResults(
        fleet.map((c) => ({
          ...result,
          cycleId: last.id,
          clientId: c.id,
          workflowId: `w-${c.id}`,
          outcome: 'failed' as const,
          errorCode: '190',
          errorMessage: 'Error validating access token',
        })),
      );
      await stack.refresh.recordResults([
        {
          ...result,
          cycleId: runningId,
          clientId: fleet[0].id,
          workflowId: 'w-fleet',
          outcome: 'refreshed',
          errorCode: null,
          errorMessage: null,
        },
      ]);

      // The answer the steady API built before is reused for about a second, not kept.
      const seeded = Date.now();
      await waitFor(
        async () => (await steady.request(STATUS, { key: ADMIN_KEY })).body.data.lastCycle?.failures.length === 151,
        {
          timeoutMs: 5_000,
          intervalMs: 50,
          what: 'the new failures in a reused answer',
        },
      );
      expect(Date.now() - seeded).toBeLessThan(3_000);

      const large = { read: await burst(READ_KEY), admin: await burst(ADMIN_KEY) };
      expect(large.read.queries).toBe(small.read.queries);
      expect(large.admin.queries).toBe(small.admin.queries);
      // A read key's answer loads no row per client, however many there are.
      expect(large.read.rows).toBe(small.read.rows);

      const admin = (await steady.request(STATUS, { key: ADMIN_KEY })).body.data;
      expect(admin.running).toMatchObject({ cycleId: runningId, refreshed: 2, done: 2 });
      let read: { running: unknown } | undefined;
      await waitFor(
        async () => (read = (await api.request(STATUS, { key: READ_KEY })).body.data).running?.refreshed === 2,
        { timeoutMs: 5_000, what: 'the running cycle counts' },
      );
      expect(read!.running).toEqual({
        trigger: 'schedule',
        total: 2,
        refreshed: 2,
        failed: 0,
        skippedTokenInvalid: 0,
        skippedFresh: 0,
        alreadyRunning: 0,
        pending: 0,
        done: 2,
        started: 0,
      });
    } finally {
      await steady.close();
    }
  });

  it('documents both answers in the OpenAPI document, and each answer is the one its key gets', async () => {
    const { body: document } = await api.request('/openapi.json', { key: null });
    const operation = document.paths[STATUS].get;
    const schema = operation.responses['200'].content['application/json'].schema;
    const branches = Object.fromEntries(
      (schema.properties.data.anyOf as { title: string }[]).map((branch) => [
        branch.title,
        z.fromJSONSchema({ ...schema, properties: { ...schema.properties, data: branch } }),
      ]),
    );
    expect(Object.keys(branches).sort()).toEqual(['RefreshStatus', 'RefreshStatusSummary']);
    expect(operation.summary).toMatch(/read key gets counts and times only/);

    const admin = (await api.request(STATUS, { key: ADMIN_KEY })).body;
    const read = (await api.request(STATUS, { key: READ_KEY })).body;
    expect(admin.data.lastCycle.failures.length).toBeGreaterThan(0);
    expect(z.fromJSONSchema(schema).safeParse(admin).success).toBe(true);
    expect(z.fromJSONSchema(schema).safeParse(read).success).toBe(true);
    expect(branches.RefreshStatus.safeParse(admin).error).toBeUndefined();
    expect(branches.RefreshStatusSummary.safeParse(read).error).toBeUndefined();
    expect(branches.RefreshStatus.safeParse(read).success).toBe(false);
    expect(branches.RefreshStatusSummary.safeParse(admin).success).toBe(false);
  });
  it('says when the fleet does not fit the interval even on REFRESH_MAX_LANES lanes, in the status and under Needs action', async () => {
    // Clients 4 s apart on at most one lane need more than 80 % of a 4 s interval.
    const tooLarge = `test-status-too-large-${Date.now()}`;
    const handle = await stack.client.workflow.start('refreshAllClients', {
      workflowId: tooLarge,
      taskQueue: stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 4_000, lookbackDays: 1, lanes: 'auto', maxLanes: 1, intervalMs: 4_000 }],
      workflowExecutionTimeout: '2m',
    });
    let running: Record<string, unknown> | null = null;
    await waitFor(
      async () => {
        running = (await api.request(STATUS, { key: ADMIN_KEY })).body.data.running;
        return running?.workflowId === tooLarge && running.fitsInterval === false;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the running cycle in the status' },
    );
    // The fleet here is every client the earlier tests added: 4 s per client on the one lane.
    const total = (running as unknown as { total: number }).total;
    expect(total).toBeGreaterThanOrEqual(2);
    expect(running).toMatchObject({ lanes: 1, needsMs: (total - 1) * 4_000, intervalMs: 4_000, fitsInterval: false });
    const page = await api.request('/status', { key: ADMIN_KEY });
    expect(page.status).toBe(200);
    const needsAction = page.text.slice(
      page.text.indexOf('id="problems"'),
      page.text.indexOf('</section>', page.text.indexOf('id="problems"')),
    );
    expect(needsAction).toContain('The fleet does not fit the refresh interval');
    expect(needsAction).toContain(`${overrunText((total - 1) * 4_000, 4_000)} on one lane`);
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
  });
});
