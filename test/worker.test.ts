import { randomUUID } from 'node:crypto';
import { createLogger } from '../src/boot/logger';
import { createMetaClient } from '../src/meta/client';
import { createTestDatabase, TestDatabase } from './helpers/db';
import { connectTestTemporal, TestTemporal } from './helpers/temporal';

describe('the Temporal worker', () => {
  let database: TestDatabase;
  let temporal: TestTemporal;

  beforeAll(async () => {
    [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  });

  afterAll(async () => {
    await temporal?.close();
    await database?.drop();
  });

  it('executes a workflow on the real dev server, its activity reading Postgres', async () => {
    const meta = createMetaClient({
      graphUrl: 'http://127.0.0.1:9',
      graphVersion: 'v24.0',
      timeoutMs: 1_000,
      logger: createLogger('silent'),
    });
    const { stop } = await temporal.startWorker({ db: database.db, meta });
    try {
      const workflowId = `health-${randomUUID()}`;
      const result = await temporal.client.workflow.execute('workerHealthCheck', {
        workflowId,
        taskQueue: temporal.taskQueue,
        workflowExecutionTimeout: '30s',
      });
      const { rows } = await database.db.raw('select now() as now');
      expect(Math.abs(Date.parse(result.databaseTime) - rows[0].now.getTime())).toBeLessThan(30_000);

      const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
      const completed = history.events!.filter((e) => e.activityTaskCompletedEventAttributes);
      expect(completed).toHaveLength(1);
      const description = await temporal.client.workflow.getHandle(workflowId).describe();
      expect(description.status.name).toBe('COMPLETED');
    } finally {
      await stop();
    }
  });
});
