import { lastDays } from '../../src/dates';
import type { CacheData } from '../../src/stores/cache';
import { RefreshTotals } from '../../workflows/definitions';
import { createRefreshStack, RefreshStack } from '../helpers/stack';
import { fetchInsights } from '../helpers/fetch-insights';
import { addClientsWithNumbers, METRICS, snapshotCache, startCycle, TIMEZONE } from './helpers';

const THROTTLE_CODES = [4, 17, 32, 613, 80001, 80002];

describe('a Meta storm: 30 % of calls throttled, 10 % 5xx, 5 % hanging', () => {
  let stack: RefreshStack;

  beforeAll(async () => {
    // Short waits so the storm plays out in a minute: Meta's throttle backoff and timeout.
    stack = await createRefreshStack({
      metaTimeoutMs: 1_000,
      activityOptions: { throttleBackoffMs: 200, heartbeatIntervalMs: 500 },
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  // A client that keeps meeting 5xx waits out the activity's retry backoff (2 + 4 + 8 + 16 + 32 s):
  // the storm takes about a minute alone, longer while other test files share the machine.
  it('never turns a number into 0 or null, and ends every client refreshed or failed with its reason', async () => {
    const { db } = stack.database;
    const clients = await addClientsWithNumbers(db, stack.sandbox, stack.tokenKeys, 30);
    for (const code of THROTTLE_CODES) stack.sandbox.control.inject({ objectId: '*', code, probability: 0.05 });
    stack.sandbox.control.inject({ objectId: '*', httpStatus: 500, probability: 0.05 });
    stack.sandbox.control.inject({ objectId: '*', httpStatus: 503, probability: 0.05 });
    stack.sandbox.control.inject({ objectId: '*', hang: true, probability: 0.05 });

    const snapshots = [await snapshotCache(db)];
    const handle = await startCycle(stack.client, stack.taskQueue);
    let done = false;
    const result = handle.result().finally(() => (done = true));
    while (!done) {
      snapshots.push(await snapshotCache(db));
      await Promise.race([result.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 100))]);
    }
    const totals: RefreshTotals = await result;
    snapshots.push(await snapshotCache(db));

    // The storm was real: every kind of failure reached the refreshes.
    const codes = new Set(stack.sandbox.control.requests().map((r) => r.code ?? r.status));
    for (const code of [...THROTTLE_CODES, 500, 503]) expect(codes).toContain(code);

    // A number may only become 0 if Meta's own answer is 0 (asked again, without the storm).
    stack.sandbox.control.clearInjections();
    const truth = new Map<string, CacheData>();
    const metaSaysZero = async (key: string, metric: (typeof METRICS)[number]) => {
      if (!truth.has(key)) {
        const [clientId, day] = key.split('/');
        const client = clients.find((c) => c.id === clientId)!;
        const credentials = (await stack.clients.credentials(clientId))!;
        const fetched = await fetchInsights(stack.meta, {
          accessToken: credentials.accessToken,
          facebookPageId: client.facebookPageId,
          instagramAccountId: client.instagramAccountId,
          days: lastDays(TIMEZONE, 2),
          timezone: TIMEZONE,
        });
        const dayInsights = fetched.days.find((d) => d.day === day)!;
        truth.set(key, {
          facebookNewFollowers: dayInsights.facebookNewFollowers.value,
          instagramFollowers: fetched.instagramFollowers.value,
          instagramReach: dayInsights.instagramReach.value,
          instagramProfileViews: dayInsights.instagramProfileViews.value,
        });
      }
      return truth.get(key)![metric] === 0;
    };
    const violations: string[] = [];
    for (let i = 1; i < snapshots.length; i += 1) {
      for (const [key, previous] of snapshots[i - 1]) {
        const current = snapshots[i].get(key);
        for (const metric of METRICS) {
          const was = previous?.[metric];
          const now = current?.[metric];
          if (typeof was !== 'number' || was === 0) continue;
          if (now === null || now === undefined) violations.push(`${key} ${metric}: ${was} -> ${now}`);
          else if (now === 0 && !(await metaSaysZero(key, metric))) violations.push(`${key} ${metric}: ${was} -> 0`);
        }
      }
    }
    expect(violations).toEqual([]);
    expect(snapshots.length).toBeGreaterThan(10);

    expect(totals.total).toBe(30);
    // A client Meta asked to wait a minute or more is pending: its cycle ends without it.
    expect(totals.refreshed + totals.failed + totals.pending).toBe(30);
    const [cycle] = await db('refresh_runs').where({ workflow_id: handle.workflowId });
    expect(cycle).toMatchObject({ status: 'completed', refreshed: totals.refreshed, failed: totals.failed });
    const results: { client_id: string; outcome: string; error_code: string | null; error_message: string | null }[] =
      await db('refresh_client_results').where({
        run_id: cycle.id,
      });
    expect(results.map((r) => r.client_id).sort()).toEqual(clients.map((c) => c.id).sort());
    for (const r of results) {
      if (r.outcome === 'refreshed') continue;
      expect(r).toMatchObject({
        outcome: expect.stringMatching(/^(failed|pending)$/),
        error_code: expect.stringMatching(/\S/),
        error_message: expect.stringMatching(/\S/),
      });
    }
    process.stdout.write(
      `Meta storm: ${totals.refreshed} refreshed, ${totals.pending} pending, ${totals.failed} failed (${results
        .filter((r) => r.outcome === 'failed')
        .map((r) => r.error_code)
        .join(', ')}), ${stack.sandbox.control.calls().total} Graph calls, ${snapshots.length} snapshots\n`,
    );
  }, 180_000);
});
