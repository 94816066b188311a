/**
 * A child process of `npm run bench:refresh`, so its peak RSS is its own:
 * - `worker`: a Temporal worker as `npm run worker` builds it (workflows bundled from source,
 *   default worker options) on the service's task queue; says `ready` over IPC.
 * - `loop`: the plain baseline: the same activity code (`refreshClientInsights`, then
 *   `recordClientResults`, as a child workflow runs them) for every client with a token, with
 *   `CONCURRENCY` in flight; sends the per-client times over IPC and exits.
 * Settings come from the environment the bench sets (BENCH_METRICS: the metrics kept, METRICS's syntax).
 */
import fs from 'node:fs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { ClientResultInput, createActivities, RefreshInsightsResult } from '../activities';
import { createKeyring } from '../src/crypto';
import { createDb } from '../src/db';
import { createLogger } from '../src/boot/logger';
import { parseMetricsSetting } from '../src/domain/metric-settings';
import { createMetaClient } from '../src/meta/client';
import { installTemporalRuntime } from '../src/temporal/runtime';
import { createWorker, WorkerTuning } from '../src/temporal/worker';
import { TASK_QUEUE } from '../workflows/definitions';

export type BenchProcessMessage =
  | { type: 'ready'; rssMb: number; peakMb: number }
  | { type: 'loop-done'; elapsedMs: number; durationsMs: number[]; failures: number; cpuMs: number };

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** BENCH_METRICS: the metrics kept, as METRICS writes them; unset, the seed's four. */
function benchMetrics() {
  const parsed = parseMetricsSetting(process.env.BENCH_METRICS ?? 'core');
  if ('problem' in parsed) throw new Error(`BENCH_METRICS: ${parsed.problem}`);
  return parsed.metrics;
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const metrics = benchMetrics();
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const db = createDb(env('DATABASE_URL'), { logger });
  const meta = createMetaClient({ graphUrl: env('META_GRAPH_URL'), graphVersion: 'v24.0', timeoutMs: 15_000, logger });
  const tokenKeys = createKeyring(Buffer.from(env('TOKEN_ENCRYPTION_KEY'), 'hex'));
  const send = (message: BenchProcessMessage) =>
    new Promise<void>((resolve) => process.send!(message, () => resolve()));

  if (mode === 'worker') {
    installTemporalRuntime(logger);
    const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
    // BENCH_WORKER_TUNING (JSON) tries other worker settings than the service's own.
    const tuning = process.env.BENCH_WORKER_TUNING
      ? (JSON.parse(process.env.BENCH_WORKER_TUNING) as WorkerTuning)
      : undefined;
    const worker = await createWorker({
      connection,
      namespace: 'default',
      taskQueue: TASK_QUEUE,
      db,
      logger,
      meta,
      tokenKeys,
      tuning,
      activityOptions: { metrics },
    });
    process.once('SIGTERM', () => worker.shutdown());
    const running = worker.run();
    const peakKb = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]);
    await send({
      type: 'ready',
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      peakMb: Math.round(peakKb / 1024),
    });
    await running;
    await connection.close();
    await db.destroy();
    return;
  }

  if (mode === 'loop') {
    const concurrency = Number(env('CONCURRENCY'));
    const lookbackDays = Number(env('LOOKBACK_DAYS'));
    const activities = createActivities({ db, logger, meta, tokenKeys, metrics });
    const ids: string[] = (
      await db('clients').whereNotNull('meta_access_token_encrypted').orderBy('id').select('id')
    ).map((r: { id: string }) => r.id);
    const durationsMs: number[] = [];
    let failures = 0;
    let next = 0;
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const lane = async () => {
      for (let i = next++; i < ids.length; i = next++) {
        const clientId = ids[i];
        const t0 = performance.now();
        const startedAt = new Date().toISOString();
        try {
          const result: RefreshInsightsResult = await new MockActivityEnvironment().run(
            activities.refreshClientInsights,
            { clientId, lookbackDays },
          );
          const record: ClientResultInput = {
            cycleId: null,
            clientId,
            workflowId: `bench-loop-${clientId}`,
            trigger: 'manual',
            outcome: result.outcome,
            attempts: 1,
            startedAt,
            durationMs: Math.round(performance.now() - t0),
          };
          await new MockActivityEnvironment().run(activities.recordClientResults, [record]);
        } catch {
          failures += 1;
        }
        durationsMs.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    const cpu = process.cpuUsage(cpuBefore);
    await send({
      type: 'loop-done',
      elapsedMs: performance.now() - started,
      durationsMs,
      failures,
      cpuMs: (cpu.user + cpu.system) / 1000,
    });
    await db.destroy();
    return;
  }
  throw new Error(`unknown mode ${mode}: expected worker or loop`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
