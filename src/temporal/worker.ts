import { createStores } from '../stores';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import type { Config, TemporalTls } from '../config';
import type { TokenKeyring } from '../crypto';
import type { Lifecycle } from '../boot/lifecycle';
import { StartupError } from '../boot/run-main';
import { SEARCH_ATTRIBUTES } from './search-attributes';
import { waitFor } from '../net';
import { TEMPORAL_CHANNEL_ARGS } from './client';
import { installTemporalRuntime } from './runtime';
import { reconcileCyclesPeriodically } from './reconcile';
import { dispatchEventsPeriodically } from '../alerts/dispatcher';
import { ensureRefreshSchedule } from './schedule';
import { ActivityDeps, createActivities } from '../../activities';
import type { Db } from '../db';
import type { Logger } from '../boot/logger';
import type { MetaClient } from '../meta/types';
import { TASK_QUEUE } from '../../workflows/definitions';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  db: Db;
  logger: Logger;
  meta: MetaClient;
  tokenKeys?: TokenKeyring;
  taskQueue?: string;
  /** Overrides of the activities' tuning (tests shorten the throttle backoff). */
  activityOptions?: Pick<
    ActivityDeps,
    | 'throttleBackoffMs'
    | 'heartbeatIntervalMs'
    | 'backfillDays'
    | 'metrics'
    | 'retireAfterClients'
    | 'failingAfter'
    | 'alerts'
  >;
  /** A prebuilt bundle (tests build one per run); otherwise workflows are bundled from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Over WORKER_TUNING (the refresh benchmark tries other values). */
  tuning?: WorkerTuning;
}

/** The worker settings the service chooses instead of the SDK's defaults. */
export type WorkerTuning = Pick<
  WorkerOptions,
  | 'maxCachedWorkflows'
  | 'maxConcurrentWorkflowTaskExecutions'
  | 'maxConcurrentLocalActivityExecutions'
  | 'workflowTaskPollerBehavior'
  | 'nonStickyToStickyPollRatio'
>;

/**
 * The SDK sizes its workflow cache from the heap: `--max-old-space-size=192` (docker-compose, the
 * production stack) gives a 240 MB heap limit and 23 cached workflows. A client refresh holds its
 * cache slot while its local steps run, so 23 refreshes at most were in flight and the rest queued
 * (a child waited 0.55-0.9 s p50 for a worker to take its task). With 200 cached and 100 tasks at
 * once (the plain loop's concurrency), a child is taken in 16-20 ms and a 1,000-client cycle went
 * from 24.6-30.6 to 39-49 clients/s in `bench:refresh -- --quick` (load 3-7); peak RSS 312 →
 * 326-345 MB. More workflow-task pollers (20, half non-sticky) changed nothing measurable.
 */
export const WORKER_TUNING: WorkerTuning = { maxCachedWorkflows: 200, maxConcurrentWorkflowTaskExecutions: 100 };

/** The workflows' entry file, for bundling. */
export const WORKFLOWS_PATH = require.resolve('../../workflows');

/** A worker serving every workflow and activity of the service on the task queue. */
export function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      db: options.db,
      logger: options.logger,
      meta: options.meta,
      tokenKeys: options.tokenKeys,
      ...options.activityOptions,
    }),
    ...WORKER_TUNING,
    ...options.tuning,
  });
}

/** Connects to Temporal and runs a worker until the lifecycle stops it; a worker crash stops the process. */
export interface RunWorkerDeps {
  db: Db;
  address: string;
  /** TLS to the frontend (TEMPORAL_TLS_*), for both of the worker's connections. */
  tls?: TemporalTls;
  meta: MetaClient;
  tokenKeys: TokenKeyring;
}

/**
 * Connects to Temporal, makes sure the `ClientId` search attribute and the refresh Schedule
 * exist with the current settings, and runs a worker until the lifecycle stops it. A worker
 * crash stops the process.
 */
export async function runWorker(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
  deps: RunWorkerDeps,
): Promise<void> {
  const { address, tls } = deps;
  const namespace = config.temporal.namespace;
  installTemporalRuntime(logger, { metricsPort: config.workerMetricsPort });
  const connection = await connectOrExplain(() => NativeConnection.connect({ address, tls }), address);
  lifecycle.add('temporal worker connection', () => connection.close());

  const clientConnection = await connectOrExplain(
    () => Connection.connect({ address, tls, channelArgs: TEMPORAL_CHANNEL_ARGS }),
    address,
  );
  lifecycle.add('temporal client connection', () => clientConnection.close());
  const client = new Client({ connection: clientConnection, namespace });
  await ensureNamespace(client, namespace, logger);
  // A namespace registered a moment ago is known to the frontend only after its cache refreshes.
  await whileNamespaceWarms(() => ensureSearchAttributes(client, namespace));
  const schedule = await whileNamespaceWarms(() =>
    ensureRefreshSchedule(client, {
      intervalMs: config.refresh.intervalMs,
      spacingMs: config.refresh.spacingMs,
      lookbackDays: config.refresh.lookbackDays,
      skipIfFresherMs: config.refresh.skipIfFresherMs,
      lanes: config.refresh.lanes,
      maxLanes: config.refresh.maxLanes,
    }),
  );
  logger.info({ schedule, every: config.refresh.intervalMs }, `refresh schedule ${schedule}`);
  const stopReconciling = reconcileCyclesPeriodically({
    temporal: client,
    refresh: createStores(deps.db).refresh,
    logger,
  });
  lifecycle.add('cycle reconciliation', async () => stopReconciling());
  const stores = createStores(deps.db, deps.tokenKeys);
  const stopDispatching = dispatchEventsPeriodically({
    temporal: client,
    alerts: stores.alerts,
    events: stores.events,
    logger,
    settings: config.alerts,
  });
  lifecycle.add('event dispatch', stopDispatching);

  const worker = await createWorker({
    connection,
    namespace,
    db: deps.db,
    logger,
    meta: deps.meta,
    tokenKeys: deps.tokenKeys,
    activityOptions: {
      backfillDays: config.refresh.backfillDays,
      metrics: config.metrics,
      retireAfterClients: config.retireAfterClients,
      failingAfter: config.alerts.failingAfter,
      alerts: {
        policy: config.alerts.policy,
        timeoutMs: config.alerts.timeoutMs,
        disableAfterMs: config.alerts.disableAfterMs,
        ...(config.alerts.email
          ? {
              email: {
                to: config.alerts.email.to,
                smtpUrl: config.alerts.email.smtpUrl,
                from: config.alerts.email.from,
              },
            }
          : {}),
      },
    },
  });
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

/**
 * Registers the namespace on a fresh Temporal cluster (the dev server creates its own; a
 * production cluster set up by admin-tools starts with none), then waits until it answers.
 */
export async function ensureNamespace(client: Client, namespace: string, logger: Logger): Promise<void> {
  const exists = async () => {
    try {
      await client.workflowService.describeNamespace({ namespace });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === GRPC_NOT_FOUND) return false;
      throw err;
    }
  };
  if (await exists()) return;
  try {
    await client.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('7d') });
    logger.info({ namespace }, 'registered the Temporal namespace');
  } catch (err) {
    // Another worker registered it first.
    if ((err as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw err;
  }
  await waitFor(exists, { timeoutMs: 60_000, intervalMs: 500, what: `the Temporal namespace ${namespace}` });
}

const GRPC_NOT_FOUND = 5;

/** Retries `action` while Temporal answers that the namespace is not found, for up to a minute. */
async function whileNamespaceWarms<T>(action: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await action();
    } catch (err) {
      const notFound =
        (err as { code?: number }).code === GRPC_NOT_FOUND ||
        /namespace .* not found/i.test(String((err as Error).message));
      if (!notFound || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}
const GRPC_ALREADY_EXISTS = 6;

/** Temporal's IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD. */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

/**
 * Registers our search attributes on a Temporal cluster that lacks them (the dev server gets
 * them by flag; a production cluster on the first worker start).
 */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter(({ name }) => !customAttributes?.[name]);
  if (!missing.length) return;
  try {
    await client.connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(({ name }) => [name, INDEXED_VALUE_TYPE_KEYWORD])),
    });
  } catch (err) {
    // Workers starting together on a fresh cluster race to add them: losing that race is fine.
    const after = await client.connection.operatorService.listSearchAttributes({ namespace });
    if (missing.some(({ name }) => !after.customAttributes?.[name])) throw err;
  }
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
