import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { TokenKeyring } from '../../src/crypto';
import type { Db } from '../../src/db';
import { createLogger, Logger } from '../../src/boot/logger';
import type { MetaClient } from '../../src/meta/types';
import { createWorker, CreateWorkerOptions } from '../../src/temporal/worker';

/** Address of the run's Temporal dev server. */
export function temporalAddress(): string {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (global setup starts Temporal)');
  return address;
}

/** A task queue no other test file polls. */
export function randomTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

let runtimeInstalled = false;

/** Installs a runtime that logs only errors, once per test file. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    shutdownSignals: [],
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
}

export interface TestTemporal {
  client: Client;
  taskQueue: string;
  /** Starts a worker of the service on this file's task queue; `stop` waits until it is drained. */
  startWorker(deps: {
    db: Db;
    meta: MetaClient;
    tokenKeys?: TokenKeyring;
    logger?: Logger;
    activityOptions?: CreateWorkerOptions['activityOptions'];
  }): Promise<{ worker: Worker; stop(): Promise<void> }>;
  close(): Promise<void>;
}

/** A client and a random task queue on the run's Temporal dev server, with the prebuilt workflow bundle. */
export async function connectTestTemporal(): Promise<TestTemporal> {
  quietRuntime();
  const connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection, namespace: 'default' });
  const taskQueue = randomTaskQueue();
  const nativeConnections: NativeConnection[] = [];
  return {
    client,
    taskQueue,
    async startWorker({ db, meta, tokenKeys, logger, activityOptions }) {
      const nativeConnection = await NativeConnection.connect({ address: temporalAddress() });
      nativeConnections.push(nativeConnection);
      const worker = await createWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        db,
        meta,
        tokenKeys,
        activityOptions,
        logger: logger ?? createLogger('silent'),
        workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
      });
      const running = worker.run();
      return {
        worker,
        stop: async () => {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running;
        },
      };
    },
    async close() {
      await connection.close();
      for (const c of nativeConnections) await c.close();
    },
  };
}

/** A workflow history as text with every payload decoded, so a scan sees what the payloads hold. */
export function historyText(history: unknown): string {
  const json = JSON.stringify(history, (_key, value: unknown) =>
    value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
  );
  return json.replace(
    /"data":"([A-Za-z0-9+/=]+)"/g,
    (_m, b64: string) => `"data":${JSON.stringify(Buffer.from(b64, 'base64').toString('utf8'))}`,
  );
}
