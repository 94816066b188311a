import { randomBytes } from 'node:crypto';
import { createKeyring } from '../../src/crypto';
import { RunningGraphSandbox, startGraphSandbox } from '../../src/dev/meta-sandbox';
import { RefreshTotals } from '../../workflows/definitions';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { connectTestTemporal, temporalAddress, TestTemporal } from '../helpers/temporal';
import { addClientsWithNumbers, spawnWorker, startCycle, today, waitForResults } from './helpers';

describe('a worker killed with SIGKILL in the middle of a cycle', () => {
  let database: TestDatabase;
  let temporal: TestTemporal;
  let sandbox: RunningGraphSandbox;

  beforeAll(async () => {
    [database, temporal, sandbox] = await Promise.all([
      createTestDatabase(),
      connectTestTemporal(),
      startGraphSandbox({
        appQuota: { calls: 1_000_000, windowMs: 3_600_000 },
        objectQuota: { calls: 10_000, windowMs: 3_600_000 },
      }),
    ]);
  });

  afterAll(async () => {
    await sandbox?.close();
    await temporal?.close();
    await database?.drop();
  });

  it('is replaced by a new worker that completes the cycle: every client refreshed once, the cycle recorded once', async () => {
    const tokenKey = randomBytes(32);
    const clients = await addClientsWithNumbers(database.db, sandbox, createKeyring(tokenKey), 30);
    // Each client takes four Graph calls of 150 ms, so the kill lands while refreshes are in flight.
    sandbox.control.inject({ objectId: '*', latencyMs: 150 });
    const env = {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporalAddress(),
      TASK_QUEUE: temporal.taskQueue,
      META_GRAPH_URL: sandbox.url,
      TOKEN_ENCRYPTION_KEY: tokenKey.toString('hex'),
      WORKFLOW_BUNDLE: process.env.TEST_WORKFLOW_BUNDLE!,
    };
    const first = await spawnWorker(env);
    const cycleStart = new Date();
    const handle = await startCycle(temporal.client, temporal.taskQueue, { spacingMs: 100 });
    await waitForResults(database.db, handle.workflowId, 3);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    const recordedAtKill = Number(
      (await database.db('refresh_client_results').count<{ count: string }[]>('* as count'))[0].count,
    );
    expect(recordedAtKill).toBeLessThan(clients.length);

    const second = await spawnWorker(env);
    try {
      const totals: RefreshTotals = await handle.result();
      expect(totals).toEqual({
        total: 30,
        refreshed: 30,
        failed: 0,
        skippedTokenInvalid: 0,
        skippedFresh: 0,
        alreadyRunning: 0,
        pending: 0,
      });
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }

    const cycles = await database.db('refresh_runs').where({ workflow_id: handle.workflowId });
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toMatchObject({ status: 'completed', total: 30, refreshed: 30, failed: 0 });
    expect(await database.db('refresh_runs').count<{ count: string }[]>('* as count')).toEqual([{ count: '1' }]);

    const results = await database.db('refresh_client_results').where({ run_id: cycles[0].id });
    expect(results).toHaveLength(30);
    expect(new Set(results.map((r: { client_id: string }) => r.client_id))).toEqual(new Set(clients.map((c) => c.id)));
    expect(results.every((r: { outcome: string }) => r.outcome === 'refreshed')).toBe(true);

    const refreshedToday = await database
      .db('social_media_cache')
      .where({ period_id: today() })
      .where('fetched_at', '>=', cycleStart);
    expect(new Set(refreshedToday.map((r: { client_id: string }) => r.client_id)).size).toBe(30);
  });
});
