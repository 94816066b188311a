import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config';
import type { Lifecycle } from '../lifecycle';
import { StartupError } from '../main';
import { installTemporalRuntime } from './runtime';
import { createActivities } from '../../activities';
import type { Db } from '../db';
import type { Logger } from '../logger';
import { TASK_QUEUE } from '../../workflows/definitions';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  db: Db;
  logger: Logger;
  taskQueue?: string;
  /** A prebuilt bundle (tests build one per run); otherwise workflows are bundled from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** The workflows' entry file, for bundling. */
export const WORKFLOWS_PATH = require.resolve('../../workflows');

/** A worker serving every workflow and activity of the service on the task queue. */
export function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ db: options.db, logger: options.logger }),
  });
}

/** Connects to Temporal and runs a worker until the lifecycle stops it; a worker crash stops the process. */
export async function runWorker(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
  { db, address }: { db: Db; address: string },
): Promise<void> {
  installTemporalRuntime(logger, { metricsPort: config.workerMetricsPort });
  const connection = await connectOrExplain(() => NativeConnection.connect({ address }), address);
  lifecycle.add('temporal worker connection', () => connection.close());
  const worker = await createWorker({ connection, namespace: config.temporal.namespace, db, logger });
  const running = worker.run();
  lifecycle.add('temporal worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  });
  running.catch(async (err: unknown) => {
    logger.fatal({ err }, 'the Temporal worker failed');
    await lifecycle.shutdown('worker failure');
    process.exit(1);
  });
}

async function connectOrExplain<T>(connect: () => Promise<T>, address: string): Promise<T> {
  try {
    return await connect();
  } catch (err) {
    throw new StartupError(
      `cannot reach Temporal at ${address}: ${err instanceof Error ? err.message : String(err)} (set TEMPORAL_ADDRESS, or use npm start for a local server)`,
    );
  }
}
