import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { WorkerHealth } from './definitions';

const { databaseTime } = proxyActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, initialInterval: '500ms' },
});

/** Proves end to end that a worker polls the task queue and reaches Postgres. */
export async function workerHealthCheck(): Promise<WorkerHealth> {
  return { databaseTime: await databaseTime() };
}
