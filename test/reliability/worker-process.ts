/**
 * A worker of the service in a process of its own, so a test can SIGKILL it: the prebuilt
 * workflow bundle on the test's task queue, the Graph sandbox as Meta. Prints `worker running`
 * once it polls. Settings come from the environment the test sets.
 */
import { NativeConnection } from '@temporalio/worker';
import { createKeyring } from '../../src/crypto';
import { createDb } from '../../src/db';
import { createLogger } from '../../src/boot/logger';
import { createMetaClient } from '../../src/meta/client';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { createWorker } from '../../src/temporal/worker';

async function main(): Promise<void> {
  const env = (name: string) => process.env[name] ?? '';
  const logger = createLogger('error');
  installTemporalRuntime(logger);
  const db = createDb(env('DATABASE_URL'), { logger });
  const meta = createMetaClient({ graphUrl: env('META_GRAPH_URL'), graphVersion: 'v24.0', timeoutMs: 5_000, logger });
  const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue: env('TASK_QUEUE'),
    db,
    logger,
    meta,
    tokenKeys: createKeyring(Buffer.from(env('TOKEN_ENCRYPTION_KEY'), 'hex')),
    workflowBundle: { codePath: env('WORKFLOW_BUNDLE') },
    // Alert deliveries to the test's loopback receivers.
    activityOptions: {
      alerts: {
        policy: { allowInsecure: env('WEBHOOK_ALLOW_INSECURE') === 'true', allowPrivate: false },
        timeoutMs: Number(env('WEBHOOK_TIMEOUT_MS') || 10_000),
        disableAfterMs: 24 * 3_600_000,
      },
    },
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('worker running\n');
  await running;
  await connection.close();
  await db.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
