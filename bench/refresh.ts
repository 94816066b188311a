/**
 * `npm run bench:refresh`: the refresh path under load, on this machine, with nothing shared:
 * an embedded Postgres and a Temporal dev server of its own, the Graph sandbox answering every
 * call 20 ms late, a worker and the API (`src/api.ts`) in child processes while a dashboard
 * reads.
 *
 * (a) throughput: BENCH_CLIENTS (1,000) clients at spacing 0: clients/s through Temporal, and
 *     through a plain loop (bench/refresh-process.ts `loop`) calling the same activity code
 *     with the worker's activity concurrency; p50/p99 per-client refresh time of each.
 * (b) pacing: BENCH_PACING_CLIENTS (200) clients at BENCH_SPACING_MS (50 ms): cycle time ÷
 *     (clients × spacing).
 * (c) history events of the largest parent run; peak RSS (VmHWM) of the worker and the API.
 *
 * Prints a table and writes bench/results/refresh.json (committed: the figures of record).
 *
 * `-- --stack prod [--workers N]`: case (a)'s Temporal run only, on the production topology
 * instead (src/stack: the Temporal server on Postgres, N workers and one API from dist/, as
 * `npm run stack:prod` runs them); writes bench/results/refresh-prod-stack.json, one entry per N.
 * BENCH_CLIENTS, BENCH_PACING_CLIENTS, BENCH_SPACING_MS, BENCH_CONCURRENCY, BENCH_READERS and
 * BENCH_DYNAMIC_CONFIG (JSON, over the dev server's own settings) and BENCH_WORKER_NODE_OPTIONS
 * (the worker's NODE_OPTIONS) change the run.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createKeyring } from '../src/crypto';
import { dayIn } from '../src/dates';
import { createDb, Db } from '../src/db';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded';
import { startGraphSandbox } from '../src/meta-sandbox';
import { freePort, waitFor } from '../src/net';
import { CacheStore } from '../src/stores/cache';
import { ClientStore } from '../src/stores/clients';
import { startProdStack } from '../src/stack/prod-stack';
import { TEMPORAL_SERVER_VERSION } from '../src/stack/versions';
import { findOrBuildTemporalCli, NO_TEMPORAL_CLI_MESSAGE } from '../src/temporal/cli-binary';
import { startTemporalDevServer } from '../src/temporal/dev-server';
import { RefreshAllInput, RefreshTotals, TASK_QUEUE } from '../workflows/definitions';
import type { BenchProcessMessage } from './refresh-process';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1_000);
const PACING_CLIENTS = Number(process.env.BENCH_PACING_CLIENTS ?? 200);
const SPACING_MS = Number(process.env.BENCH_SPACING_MS ?? 50);
const META_LATENCY_MS = 20;
const LOOKBACK_DAYS = 2;
/** The worker's default `maxConcurrentActivityTaskExecutions`, and the default page of children. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
/** Dashboard readers hitting the API while the cycles run. */
const READERS = Number(process.env.BENCH_READERS ?? 4);
const READ_KEY = 'bench-refresh-read-key-0123456789';
const RESULTS_FILE = path.join(__dirname, 'results', 'refresh.json');
const PROD_RESULTS_FILE = path.join(__dirname, 'results', 'refresh-prod-stack.json');
const ROOT = path.resolve(__dirname, '..');

const TARGETS = {
  temporalVsLoop: 0.5,
  clientsPerSecond: 25,
  pacingRatio: 1.1,
  historyEvents: 4_096,
  workerRssMb: 400,
  apiRssMb: 150,
};

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Peak resident set of a process so far, in MB (Linux `VmHWM`). */
function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1]);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Where the bench compiles the service, as `npm run build` does for the Docker image. */
const BUILD_DIR = path.join(ROOT, 'node_modules', '.cache', 'smc-bench-refresh');

/**
 * Compiles src, workflows, activities, migrations and the bench's child process to JavaScript:
 * production runs `node dist/src/api.js` (Dockerfile), so RSS is measured without tsx.
 */
function build(): void {
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const config = path.join(BUILD_DIR, 'tsconfig.json');
  const include = ['src', 'workflows', 'activities', 'migrations', 'bench/refresh-process.ts'].map((p) => path.join(ROOT, p));
  fs.writeFileSync(config, JSON.stringify({ extends: path.join(ROOT, 'tsconfig.build.json'), compilerOptions: { outDir: BUILD_DIR, rootDir: ROOT, sourceMap: false }, include }));
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', config], { stdio: 'inherit' });
}

/** A compiled entry (`src/api.ts` → BUILD_DIR/src/api.js) as a child process. */
/** CPU seconds a process has used so far (user + system, Linux /proc). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of stat, in clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The pid of the process whose command line mentions `needle` (the bench's own dev server). */
function pidOf(needle: string): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) return Number(entry);
    } catch {
      // The process ended meanwhile.
    }
  }
  return undefined;
}

function spawnBuilt(file: string, args: string[], env: NodeJS.ProcessEnv, ipc: boolean): ChildProcess {
  const built = path.join(BUILD_DIR, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
  return spawn(process.execPath, [built, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'ignore', 'inherit'],
  });
}

function nextMessage<T extends BenchProcessMessage['type']>(child: ChildProcess, type: T): Promise<Extract<BenchProcessMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: BenchProcessMessage) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message as Extract<BenchProcessMessage, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`${path.basename(String(child.spawnargs[1]))} exited with ${code} before '${type}'`)));
  });
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Readers asking the API for fresh rows and the cycle's status, as dashboards do, until stopped. */
function startReaders(apiUrl: string, clientIds: string[], period: string) {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let stopped = false;
  let n = 0;
  const lane = async () => {
    while (!stopped) {
      n += 1;
      const path =
        n % 10 === 0
          ? '/api/automated/refresh-social-media-cache'
          : `/api/social-media-cache?clientId=${clientIds[n % clientIds.length]}&period=${period}`;
      const t0 = performance.now();
      let status = 'error';
      try {
        const res = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${READ_KEY}` } });
        await res.arrayBuffer();
        status = String(res.status);
      } catch {
        // Counted as an error below.
      }
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
      // A dashboard reads now and then, not in a tight loop.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const lanes = Array.from({ length: READERS }, lane);
  return {
    async stop() {
      stopped = true;
      await Promise.all(lanes);
      return { reads: latencies.length, statuses, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
    },
  };
}

async function runCycle(client: Client, spacingMs: number): Promise<{ workflowId: string; elapsedMs: number; totals: RefreshTotals }> {
  const workflowId = `bench-cycle-${randomBytes(4).toString('hex')}`;
  const started = performance.now();
  const totals: RefreshTotals = await client.workflow.execute('refreshAllClients', {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [{ trigger: 'manual', spacingMs, lookbackDays: LOOKBACK_DAYS } satisfies RefreshAllInput],
  });
  return { workflowId, elapsedMs: performance.now() - started, totals };
}

/** Events of every run of a cycle (it continues as new per page), largest first. */
async function historyLengths(client: Client, workflowId: string): Promise<number[]> {
  const lengths: number[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    lengths.push((await client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events?.length ?? 0);
  }
  return lengths.sort((a, b) => b - a);
}

async function resetRefreshRows(db: Db): Promise<void> {
  await db.raw('truncate social_media_cache, refresh_client_results');
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg().map(round);
  log('compiling the service to JavaScript, as npm run build does');
  build();
  const binary = await findOrBuildTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, log });
  if (!binary) throw new Error(NO_TEMPORAL_CLI_MESSAGE);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-bench-refresh-'));
  fs.chmodSync(dir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  const children: ChildProcess[] = [];
  try {
    log(`starting Postgres, Temporal and the Graph sandbox (${META_LATENCY_MS} ms per call) in ${dir}`);
    const [postgres, temporal, sandbox] = await Promise.all([
      startEmbeddedPostgres({ dir: path.join(dir, 'pg') }),
      (async () => startTemporalDevServer({ binary, port: await freePort(), dbFile: path.join(dir, 'temporal.db'), namespace: 'default', dynamicConfig: process.env.BENCH_DYNAMIC_CONFIG ? (JSON.parse(process.env.BENCH_DYNAMIC_CONFIG) as Record<string, unknown>) : undefined }))(),
      startGraphSandbox({ appQuota: { calls: 100_000_000, windowMs: 3_600_000 }, objectQuota: { calls: 1_000_000, windowMs: 3_600_000 } }),
    ]);
    stops.push(() => postgres.stop(), () => temporal.stop(), () => sandbox.close());
    sandbox.control.inject({ objectId: '*', latencyMs: META_LATENCY_MS });
    await ensureDatabase(postgres.adminUrl, 'bench');
    const databaseUrl = postgres.urlFor('bench');
    const db = createDb(databaseUrl);
    stops.push(() => db.destroy());

    const tokenKey = randomBytes(32);
    const childEnv = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      META_GRAPH_URL: sandbox.url,
      TOKEN_ENCRYPTION_KEY: tokenKey.toString('hex'),
      LOG_LEVEL: 'error',
    };
    // The worker runs as docker-compose.yml runs it: with a bounded heap (override with BENCH_WORKER_NODE_OPTIONS).
    const workerNodeOptions = process.env.BENCH_WORKER_NODE_OPTIONS ?? '--max-old-space-size=192';
    const worker = spawnBuilt(path.join(__dirname, 'refresh-process.ts'), ['worker'], { ...childEnv, ...(workerNodeOptions ? { NODE_OPTIONS: workerNodeOptions } : {}) }, true);
    children.push(worker);
    const workerStart = await nextMessage(worker, 'ready');
    log(`worker ready (workflows bundled at start, as the production worker does): RSS ${workerStart.rssMb} MB, peak so far ${peakRssMb(worker.pid)} MB`);

    const apiPort = await freePort();
    const api = spawnBuilt(path.join(ROOT, 'src', 'api.ts'), [], {
      ...childEnv,
      PORT: String(apiPort),
      READ_API_KEYS: READ_KEY,
      LOG_LEVEL: 'warn',
    }, false);
    children.push(api);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitFor(async () => (await fetch(`${apiUrl}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, what: 'the API to be ready' });
    log('API ready');
    // The API applied the migrations, by their compiled names as production records them.
    const token = `bench-token-${randomBytes(4).toString('hex')}`;
    sandbox.control.setToken({ token });
    const clients = new ClientStore(db, createKeyring(tokenKey));
    const ids: string[] = [];
    for (let i = 0; i < CLIENTS; i += 1) {
      const n = String(i).padStart(6, '0');
      const created = await clients.create({ name: `Bench ${n}`, facebookPageId: `5100${n}`, instagramAccountId: `178490${n}`, accessToken: token, timezone: 'Europe/Warsaw' });
      ids.push(created.id);
    }
    ids.sort();
    log(`${CLIENTS} clients created`);

    // The dashboard reads fresh rows (no refresh of its own), so the cycles' counts stay exact.
    const period = dayIn('Europe/Warsaw');
    const readIds = ids.slice(0, 50);
    const seed = async () => {
      const cache = new CacheStore(db);
      for (const id of readIds) {
        await cache.writeDay(id, period, { facebookNewFollowers: 1, instagramFollowers: 100, instagramReach: 10, instagramProfileViews: 1 }, new Date(Date.now() - 60_000));
      }
    };

    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });

    // (a) plain loop first, then the same clients through Temporal, each on empty cache rows.
    log(`(a) plain loop: ${CLIENTS} clients, concurrency ${CONCURRENCY}`);
    await resetRefreshRows(db);
    const loopChild = spawnBuilt(path.join(__dirname, 'refresh-process.ts'), ['loop'], { ...childEnv, CONCURRENCY: String(CONCURRENCY), LOOKBACK_DAYS: String(LOOKBACK_DAYS) }, true);
    children.push(loopChild);
    const loop = await nextMessage(loopChild, 'loop-done');
    const loopRows = Number((await db('social_media_cache').whereNotNull('fetched_at').count<{ count: string }[]>('* as count'))[0].count);

    log(`(a) Temporal: ${CLIENTS} clients, spacing 0`);
    await resetRefreshRows(db);
    await seed();
    const readersA = startReaders(apiUrl, readIds, period);
    const processes = { temporalServer: pidOf(path.join(dir, 'temporal.db')), worker: worker.pid, api: api.pid, benchAndSandbox: process.pid };
    const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]));
    const throughput = await runCycle(client, 0);
    // How many cores each process kept busy during the Temporal run: what limits it.
    const coresUsed = Object.fromEntries(
      Object.entries(processes).map(([name, pid]) => [name, round((cpuSeconds(pid) - cpuBefore[name]) / (throughput.elapsedMs / 1000))]),
    );
    const readsA = await readersA.stop();
    const [cycleA] = await db('refresh_runs').where({ workflow_id: throughput.workflowId });
    const temporalDurations = (await db('refresh_client_results').where({ run_id: cycleA.id }).select('duration_ms')).map((r: { duration_ms: number }) => r.duration_ms);
    const historyA = await historyLengths(client, throughput.workflowId);

    // (b) pacing: the first PACING_CLIENTS clients keep their token, the others are left out.
    log(`(b) pacing: ${PACING_CLIENTS} clients, spacing ${SPACING_MS} ms`);
    await db('clients').whereNotIn('id', ids.slice(0, PACING_CLIENTS)).update({ meta_access_token_encrypted: null });
    const readersB = startReaders(apiUrl, readIds, period);
    const pacingRun = await runCycle(client, SPACING_MS);
    const readsB = await readersB.stop();
    const historyB = await historyLengths(client, pacingRun.workflowId);
    const workerRssMb = peakRssMb(worker.pid);
    const apiRssMb = peakRssMb(api.pid);

    const temporalRate = CLIENTS / (throughput.elapsedMs / 1000);
    const loopRate = CLIENTS / (loop.elapsedMs / 1000);
    const floorMs = PACING_CLIENTS * SPACING_MS;
    const results = {
      machine: {
        cores: os.cpus().length,
        cpu: os.cpus()[0]?.model,
        memoryGb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        // Other work on the machine skews every figure: the load averages at the start and the end.
        loadAverage: { start: loadAtStart, end: os.loadavg().map(round) },
      },
      settings: { workerNodeOptions: workerNodeOptions ?? null, clients: CLIENTS, pacingClients: PACING_CLIENTS, spacingMs: SPACING_MS, metaLatencyMs: META_LATENCY_MS, lookbackDays: LOOKBACK_DAYS, concurrency: CONCURRENCY, readers: READERS },
      throughput: {
        temporal: {
          coresUsed,
          elapsedMs: Math.round(throughput.elapsedMs),
          clientsPerSecond: round(temporalRate),
          totals: throughput.totals,
          perClientP50Ms: percentile(temporalDurations, 50),
          perClientP99Ms: percentile(temporalDurations, 99),
        },
        plainLoop: {
          elapsedMs: Math.round(loop.elapsedMs),
          clientsPerSecond: round(loopRate),
          refreshedRows: loopRows,
          failures: loop.failures,
          perClientP50Ms: round(percentile(loop.durationsMs, 50)),
          perClientP99Ms: round(percentile(loop.durationsMs, 99)),
        },
        temporalVsLoop: round(temporalRate / loopRate),
      },
      pacing: { elapsedMs: Math.round(pacingRun.elapsedMs), floorMs, ratio: round(pacingRun.elapsedMs / floorMs), totals: pacingRun.totals },
      history: { throughputRuns: historyA, pacingRuns: historyB, maxEventsPerRun: Math.max(...historyA, ...historyB) },
      rss: { workerPeakMb: workerRssMb, workerAfterStartMb: workerStart.rssMb, workerPeakAfterStartMb: workerStart.peakMb, apiPeakMb: apiRssMb },
      reads: { duringThroughput: readsA, duringPacing: readsB },
    };
    const met = {
      temporalVsLoop: results.throughput.temporalVsLoop >= TARGETS.temporalVsLoop,
      clientsPerSecond: temporalRate >= TARGETS.clientsPerSecond,
      pacingRatio: results.pacing.ratio <= TARGETS.pacingRatio,
      historyEvents: results.history.maxEventsPerRun <= TARGETS.historyEvents,
      workerRssMb: workerRssMb <= TARGETS.workerRssMb,
      apiRssMb: apiRssMb <= TARGETS.apiRssMb,
    };
    fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
    fs.writeFileSync(RESULTS_FILE, `${JSON.stringify({ ranAt: new Date().toISOString(), ...results, targets: TARGETS, met }, null, 2)}\n`);

    const row = (name: string, value: string, target: string, ok: boolean | undefined) =>
      `${name.padEnd(52)} ${value.padStart(14)}  ${target.padEnd(16)} ${ok === undefined ? '' : ok ? 'met' : 'MISSED'}`;
    const reads = (r: typeof readsA) => `${r.reads} reads, ${Object.entries(r.statuses).map(([s, c]) => `${c}× ${s}`).join(', ')}, p99 ${r.p99Ms.toFixed(1)} ms`;
    process.stdout.write(
      [
        '',
        `refresh benchmark: ${os.cpus().length} cores (load ${loadAtStart[0]} at start, ${round(os.loadavg()[0])} at end), Meta latency ${META_LATENCY_MS} ms, lookback ${LOOKBACK_DAYS} days (4 Graph calls per client), concurrency ${CONCURRENCY}`,
        row('measure', 'value', 'target', undefined),
        row(`(a) Temporal, ${CLIENTS} clients, spacing 0`, `${temporalRate.toFixed(1)} clients/s`, `>= ${TARGETS.clientsPerSecond}`, met.clientsPerSecond),
        row(`(a) plain loop, same activities, concurrency ${CONCURRENCY}`, `${loopRate.toFixed(1)} clients/s`, '', undefined),
        row('(a) Temporal ÷ plain loop', results.throughput.temporalVsLoop.toFixed(2), `>= ${TARGETS.temporalVsLoop}`, met.temporalVsLoop),
        row('(a) per-client refresh p50 / p99, Temporal', `${results.throughput.temporal.perClientP50Ms} / ${results.throughput.temporal.perClientP99Ms} ms`, '', undefined),
        row('(a) per-client refresh p50 / p99, plain loop', `${results.throughput.plainLoop.perClientP50Ms.toFixed(0)} / ${results.throughput.plainLoop.perClientP99Ms.toFixed(0)} ms`, '', undefined),
        row(`(b) pacing, ${PACING_CLIENTS} clients at ${SPACING_MS} ms: cycle ÷ floor`, `${(pacingRun.elapsedMs / 1000).toFixed(2)} s / ${(floorMs / 1000).toFixed(1)} s = ${results.pacing.ratio.toFixed(3)}`, `<= ${TARGETS.pacingRatio}`, met.pacingRatio),
        row('(c) history events, largest parent run', String(results.history.maxEventsPerRun), `<= ${TARGETS.historyEvents}`, met.historyEvents),
        row('(c) worker peak RSS', `${workerRssMb} MB`, `<= ${TARGETS.workerRssMb} MB`, met.workerRssMb),
        row('(c)   of which: peak by the end of start-up (bundling)', `${workerStart.peakMb} MB`, '', undefined),
        row('(c) API peak RSS', `${apiRssMb} MB`, `<= ${TARGETS.apiRssMb} MB`, met.apiRssMb),
        `cores kept busy during (a) Temporal: ${Object.entries(coresUsed).map(([name, cores]) => `${name} ${cores.toFixed(2)}`).join(', ')} (Postgres not counted)`,
        `totals (a): ${JSON.stringify(throughput.totals)}; plain loop: ${loopRows} days written, ${loop.failures} failures`,
        `totals (b): ${JSON.stringify(pacingRun.totals)}`,
        `API during (a): ${reads(readsA)}`,
        `API during (b): ${reads(readsB)}`,
        `written to ${path.relative(ROOT, RESULTS_FILE)}`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const child of children) await stopChild(child);
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`stopping: ${String(err)}`));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** Case (a), Temporal only, on the production topology with `workers` workers. */
async function mainProdStack(workers: number): Promise<void> {
  const loadAtStart = os.loadavg().map(round);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-bench-prod-'));
  fs.chmodSync(dir, 0o755);
  const tokenKey = randomBytes(32);
  // Ctrl-C or SIGTERM exits through the exit hooks, which kill what the stack started so far.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const stack = await startProdStack({
    repoRoot: ROOT,
    workers,
    apis: 1,
    dataDir: dir,
    keys: { readApiKey: READ_KEY, adminApiKey: `${READ_KEY}-admin`, tokenEncryptionKey: tokenKey.toString('hex') },
    sandboxOptions: { appQuota: { calls: 100_000_000, windowMs: 3_600_000 }, objectQuota: { calls: 1_000_000, windowMs: 3_600_000 } },
    env: { LOG_LEVEL: 'info' },
    log,
  });
  const db = createDb(stack.databaseUrl);
  const connection = await Connection.connect({ address: stack.temporalAddress });
  try {
    const client = new Client({ connection, namespace: 'default' });
    stack.sandbox!.control.inject({ objectId: '*', latencyMs: META_LATENCY_MS });
    const token = `bench-token-${randomBytes(4).toString('hex')}`;
    stack.sandbox!.control.setToken({ token });
    const clients = new ClientStore(db, createKeyring(tokenKey));
    const ids: string[] = [];
    for (let i = 0; i < CLIENTS; i += 1) {
      const n = String(i).padStart(6, '0');
      ids.push((await clients.create({ name: `Bench ${n}`, facebookPageId: `5100${n}`, instagramAccountId: `178490${n}`, accessToken: token, timezone: 'Europe/Warsaw' })).id);
    }
    const period = dayIn('Europe/Warsaw');
    const readIds = ids.slice(0, 50);
    const cache = new CacheStore(db);
    for (const id of readIds) {
      await cache.writeDay(id, period, { facebookNewFollowers: 1, instagramFollowers: 100, instagramReach: 10, instagramProfileViews: 1 }, new Date(Date.now() - 60_000));
    }
    log(`(a) Temporal on the production stack: ${CLIENTS} clients, spacing 0, ${workers} worker(s)`);
    const readers = startReaders(stack.apiUrls[0], readIds, period);
    const processes: Record<string, number | undefined> = { temporalServer: stack.temporal.pid, ...Object.fromEntries(stack.workers.map((w) => [w.name, w.pid])), api: stack.apis[0].pid };
    const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]));
    const run = await runCycle(client, 0);
    const coresUsed = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, round((cpuSeconds(pid) - cpuBefore[name]) / (run.elapsedMs / 1000))]));
    const reads = await readers.stop();
    const [cycle] = await db('refresh_runs').where({ workflow_id: run.workflowId });
    const durations = (await db('refresh_client_results').where({ run_id: cycle.id }).select('duration_ms')).map((r: { duration_ms: number }) => r.duration_ms);
    const result = {
      ranAt: new Date().toISOString(),
      loadAverage: { start: loadAtStart, end: os.loadavg().map(round) },
      settings: { clients: CLIENTS, metaLatencyMs: META_LATENCY_MS, lookbackDays: LOOKBACK_DAYS, readers: READERS, historyShards: 4 },
      elapsedMs: Math.round(run.elapsedMs),
      clientsPerSecond: round(CLIENTS / (run.elapsedMs / 1000)),
      totals: run.totals,
      perClientP50Ms: percentile(durations, 50),
      perClientP99Ms: percentile(durations, 99),
      coresUsed,
      reads,
      startTimingsS: stack.timings,
    };
    const all = fs.existsSync(PROD_RESULTS_FILE) ? (JSON.parse(fs.readFileSync(PROD_RESULTS_FILE, 'utf8')) as Record<string, unknown>) : {};
    all[`workers${workers}`] = result;
    fs.mkdirSync(path.dirname(PROD_RESULTS_FILE), { recursive: true });
    fs.writeFileSync(PROD_RESULTS_FILE, `${JSON.stringify(all, null, 2)}\n`);
    process.stdout.write(
      [
        '',
        `refresh benchmark, production stack (Temporal server ${TEMPORAL_SERVER_VERSION} on Postgres, 4 shards), ${workers} worker(s), ${os.cpus().length} cores, load ${loadAtStart[0]} at start`,
        `(a) Temporal, ${CLIENTS} clients, spacing 0: ${result.clientsPerSecond.toFixed(1)} clients/s (${(run.elapsedMs / 1000).toFixed(1)} s), per-client p50/p99 ${result.perClientP50Ms}/${result.perClientP99Ms} ms`,
        `cores kept busy: ${Object.entries(coresUsed).map(([name, cores]) => `${name} ${cores.toFixed(2)}`).join(', ')} (Postgres not counted)`,
        `totals: ${JSON.stringify(run.totals)}`,
        `API during the run: ${reads.reads} reads, ${Object.entries(reads.statuses).map(([st, c]) => `${c}× ${st}`).join(', ')}, p99 ${reads.p99Ms.toFixed(1)} ms`,
        `written to ${path.relative(ROOT, PROD_RESULTS_FILE)}`,
        '',
      ].join('\n'),
    );
  } finally {
    await connection.close();
    await db.destroy();
    await stack.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const { values: flags } = parseArgs({ options: { stack: { type: 'string', default: 'dev' }, workers: { type: 'string', default: '1' } } });
// The SDK's connections can keep the loop alive for a while after the stack stopped.
const entry = flags.stack === 'prod' ? () => mainProdStack(Number(flags.workers)).then(() => process.exit(0)) : main;

entry().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
