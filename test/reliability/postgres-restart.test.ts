import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKeyring } from '../../src/crypto';
import { createDb, Db, migrateLatest } from '../../src/db';
import { EmbeddedPostgres, ensureDatabase, startEmbeddedPostgres } from '../../src/dev/embedded-postgres';
import { createLogger } from '../../src/boot/logger';
import { createMetaClient } from '../../src/meta/client';
import { RunningGraphSandbox, startGraphSandbox } from '../../src/dev/meta-sandbox';
import { waitFor } from '../../src/net';
import { RefreshTotals } from '../../workflows/definitions';
import { connectTestTemporal, TestTemporal } from '../helpers/temporal';
import { addClientsWithNumbers, METRICS, snapshotCache, startCycle, waitForResults } from './helpers';

describe('Postgres restarted in the middle of a cycle', () => {
  let dir: string;
  let postgres: EmbeddedPostgres;
  let db: Db;
  let temporal: TestTemporal;
  let sandbox: RunningGraphSandbox;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-pg-restart-'));
    fs.chmodSync(dir, 0o755);
    [postgres, temporal, sandbox] = await Promise.all([
      startEmbeddedPostgres({ dir: path.join(dir, 'pg') }),
      connectTestTemporal(),
      startGraphSandbox({
        appQuota: { calls: 1_000_000, windowMs: 3_600_000 },
        objectQuota: { calls: 10_000, windowMs: 3_600_000 },
      }),
    ]);
    await ensureDatabase(postgres.adminUrl, 'app');
    db = createDb(postgres.urlFor('app'));
    await migrateLatest(db);
  }, 120_000);

  afterAll(async () => {
    await sandbox?.close();
    await temporal?.close();
    await db?.destroy();
    await postgres?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is ridden out: activities retry, the cycle completes, and no row or number is lost', async () => {
    const tokenKeys = createKeyring(randomBytes(32));
    const logger = createLogger('silent');
    const meta = createMetaClient({ graphUrl: sandbox.url, graphVersion: 'v24.0', timeoutMs: 5_000, logger });
    const worker = await temporal.startWorker({ db, meta, tokenKeys, logger });
    try {
      await addClientsWithNumbers(db, sandbox, tokenKeys, 20);
      const before = await snapshotCache(db);
      sandbox.control.inject({ objectId: '*', latencyMs: 100 });
      const handle = await startCycle(temporal.client, temporal.taskQueue, { spacingMs: 200 });
      await waitForResults(db, handle.workflowId, 3);

      await postgres.stop();
      // Down until a refresh has failed on it and is waiting to retry.
      await waitFor(
        async () => {
          // The cycle's own activities are regular ones; a client's refresh retries locally, in
          // its workflow task, so the cycle's retry is what the server shows.
          const described = await handle.describe().catch(() => undefined);
          return !!described?.raw.pendingActivities?.some((a) => (a.attempt ?? 1) > 1);
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'an activity to fail on the stopped Postgres and retry' },
      );
      postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: postgres.port });

      const totals: RefreshTotals = await handle.result();
      expect(totals).toEqual({
        total: 20,
        refreshed: 20,
        failed: 0,
        skippedTokenInvalid: 0,
        skippedFresh: 0,
        alreadyRunning: 0,
        pending: 0,
      });
      const [cycle] = await db('refresh_runs').where({ workflow_id: handle.workflowId });
      expect(cycle).toMatchObject({ status: 'completed', refreshed: 20 });
      const results = await db('refresh_client_results').where({ run_id: cycle.id });
      expect(new Set(results.map((r: { client_id: string }) => r.client_id)).size).toBe(20);

      const after = await snapshotCache(db);
      for (const [key, numbers] of before) {
        expect(after.has(key)).toBe(true);
        for (const metric of METRICS) {
          if (typeof numbers?.[metric] === 'number') expect(after.get(key)?.[metric]).toEqual(expect.any(Number));
        }
      }
      // Every row now holds the sandbox's numbers, not the ones written before the cycle.
      for (const [key, numbers] of after)
        expect(numbers?.facebookNewFollowers).not.toBe(before.get(key)?.facebookNewFollowers);
    } finally {
      await worker.stop();
    }
  });
});
