import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { freePort, waitFor } from '../src/net';
import { startGraphSandbox, RunningGraphSandbox } from '../src/dev/meta-sandbox';
import { REFRESH_SCHEDULE_ID } from '../workflows/definitions';
import { createTestDatabase, TestDatabase } from './helpers/db';
import { collect, spawnEntry } from './helpers/process';
import { temporalAddress } from './helpers/temporal';

/** `npm run worker` as production runs it: its own process, a namespace that does not exist yet. */
describe('npm run worker', () => {
  let database: TestDatabase;
  let sandbox: RunningGraphSandbox;

  beforeAll(async () => {
    [database, sandbox] = await Promise.all([createTestDatabase(), startGraphSandbox()]);
  });

  afterAll(async () => {
    await sandbox?.close();
    await database?.drop();
  });

  it('creates its namespace, search attribute and Schedule, and serves Temporal’s metrics', async () => {
    // A new namespace reaches the frontend's cache within ~10 s; the worker waits for it.
    const namespace = `test-ns-${randomBytes(4).toString('hex')}`;
    const metricsPort = await freePort();
    const child = spawnEntry('worker.ts', {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: namespace,
      TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      META_MODE: 'sandbox',
      META_GRAPH_URL: sandbox.url,
      WORKER_METRICS_PORT: String(metricsPort),
      REFRESH_INTERVAL: '2h',
      LOG_LEVEL: 'info',
    });
    const run = collect(child);
    try {
      let exited = false;
      void run.exited.then(() => (exited = true));
      await waitFor(async () => exited || run.output().includes('worker running'), {
        timeoutMs: 60_000,
        what: 'the worker to run',
      });
      expect({ exited, output: exited ? run.output() : '' }).toEqual({ exited: false, output: '' });
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^temporal_\w+/m);

      const connection = await Connection.connect({ address: temporalAddress() });
      try {
        const client = new Client({ connection, namespace });
        const schedule = await client.schedule.getHandle(REFRESH_SCHEDULE_ID).describe();
        expect(schedule.spec.intervals).toMatchObject([{ every: 2 * 3_600_000 }]);
        const { keys } = await connection.operatorService
          .listSearchAttributes({ namespace })
          .then((r) => ({ keys: Object.keys(r.customAttributes ?? {}) }));
        expect(keys).toContain('ClientId');
      } finally {
        await connection.close();
      }
      expect(run.output()).toContain('META_MODE=sandbox');
    } finally {
      child.kill('SIGTERM');
    }
    expect((await run.exited).code).toBe(0);
  }, 90_000);

  it('refuses to start without TOKEN_ENCRYPTION_KEY, saying so in one line', async () => {
    const run = collect(spawnEntry('worker.ts', { DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporalAddress() }));
    const { code, stderr } = await run.exited;
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^error: TOKEN_ENCRYPTION_KEY is required/);
  });
});
