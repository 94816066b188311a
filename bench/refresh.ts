/**
 * `npm run bench:refresh`: the refresh path under load, on this machine, with nothing shared:
 * an embedded Postgres and a Temporal dev server of its own, the Graph sandbox answering every
 * call 20 ms late, a worker and the API (`src/api.ts`) in child processes while dashboards
 * read: cache readers (`GET /api/social-media-cache?clientId=…`) and status readers
 * (`GET /api/automated/refresh-social-media-cache`), timed apart.
 *
 * (a) throughput: BENCH_CLIENTS (1,000) clients at spacing 0: clients/s through Temporal, and
 *     through a plain loop (bench/refresh-process.ts `loop`) calling the same activity code
 *     with the worker's activity concurrency; p50/p99 per-client refresh time of each; p50/p99
 *     of cache reads and of status reads during the Temporal cycle; history events per client,
 *     parent + child (every parent run, plus BENCH_CHILD_SAMPLE (50) children's runs, evenly
 *     spread, averaged over every child started).
 * (d) one client throttled: the same cycle twice, back to back, without and with Meta
 *     throttling one client's Page for an hour (80001, an estimate of 60 minutes in
 *     `X-Business-Use-Case-Usage`): cycle time ÷ cycle time, and that client `pending` in the
 *     cycle's totals.
 * (b) pacing: BENCH_PACING_CLIENTS (200) clients at BENCH_SPACING_MS (50 ms): cycle time ÷
 *     (clients × spacing).
 * (c) history events of the largest parent run of (a) and (b); peak RSS (VmHWM) of the worker
 *     and the API by then.
 * (e) large: BENCH_LARGE_CLIENTS (10,000) clients at spacing 0: clients/s (÷ (a)'s), the largest
 *     parent run's history events, worker and API peak RSS by its end. Minutes long:
 *     BENCH_LARGE_CLIENTS=0 or `-- --skip-large` leaves it out.
 *
 * (f) Graph calls per client per cycle: the same refresh code with the seed's four metrics and with
 *     every metric of the catalogue (METRICS=all): the count must not grow with the metrics.
 *     `-- --metrics` runs only (f).
 *
 * Prints a table and writes bench/results/refresh.json, then runs case (a) on the production
 * topology with 1 and 2 workers (below; `-- --skip-prod` leaves them out), which are the figures
 * of record. Clients/s at spacing 0 and Temporal ÷ plain loop are information, not targets.
 *
 * `-- --quick`: case (a)'s Temporal run only, with its dashboard readers, and where its time went
 * (children's wait for a worker, their one workflow task, the parent's runs, statements per
 * client), for tuning; writes nothing. BENCH_PROFILE_DIR=DIR has the worker and the API write
 * CPU profiles there (`--cpu-prof`) when they exit.
 *
 * `-- --stack prod [--workers N]`: case (a)'s Temporal run only, on the production topology
 * instead (src/dev/stack: the Temporal server on Postgres, N workers and one API from dist/, as
 * `npm run stack:prod` runs them); writes bench/results/refresh-prod-stack.json, one entry per N,
 * with the cores each process kept busy (Postgres's backends included) and the load average.
 *
 * `-- --stack prod --capacity [--workers N]`: the capacity case, the user's limit:
 * BENCH_CAPACITY_CLIENTS (10,000) clients whose serial pacing would take three intervals
 * (BENCH_CAPACITY_SPACING_MS 270 ms, BENCH_CAPACITY_INTERVAL_MS 15 min), started on the lanes
 * REFRESH_LANES=auto takes: the cycle must end within 0.8 of the interval with every client
 * refreshed once; prints the lanes, clients/s, the largest parent run's events, peak RSS and the
 * reads' p99 during it, and appends the run to `capacity` in refresh-prod-stack.json.
 * BENCH_CLIENTS, BENCH_PACING_CLIENTS, BENCH_SPACING_MS, BENCH_LARGE_CLIENTS, BENCH_CONCURRENCY,
 * BENCH_PAGE_SIZE, BENCH_CACHE_READERS, BENCH_STATUS_READERS, BENCH_CHILD_SAMPLE and BENCH_DYNAMIC_CONFIG (JSON,
 * over the dev server's own settings) and BENCH_WORKER_NODE_OPTIONS (the worker's NODE_OPTIONS)
 * and BENCH_WORKER_TUNING (JSON, over the worker's WORKER_TUNING) change the run.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createKeyring } from '../src/crypto';
import { dayIn } from '../src/dates';
import { createDb, Db } from '../src/db';
import { ensureDatabase, startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { startGraphSandbox } from '../src/dev/meta-sandbox';
import { freePort, waitFor } from '../src/net';
import { CORE_METRICS, METRIC_NAMES } from '../src/domain/vocabulary';
import { CacheStore } from '../src/stores/cache';
import { ClientStore } from '../src/stores/clients';
import { startProdStack } from '../src/dev/stack/prod-stack';
import { TEMPORAL_SERVER_VERSION } from '../src/dev/stack/versions';
import { findOrBuildTemporalCli, NO_TEMPORAL_CLI_MESSAGE } from '../src/dev/temporal-cli';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server';
import { clientRefreshWorkflowId, RefreshAllInput, RefreshTotals, TASK_QUEUE } from '../workflows/definitions';
import type { BenchProcessMessage } from './refresh-process';
import { refreshAllClients } from '../workflows';
import { DEFAULT_MAX_LANES, startsTakeMs } from '../src/domain/lanes';

const { values: flags } = parseArgs({
  options: {
    stack: { type: 'string', default: 'dev' },
    workers: { type: 'string', default: '1' },
    'skip-large': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    metrics: { type: 'boolean', default: false },
    capacity: { type: 'boolean', default: false },
    'skip-prod': { type: 'boolean', default: false },
  },
});

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1_000);
const PACING_CLIENTS = Number(process.env.BENCH_PACING_CLIENTS ?? 200);
const SPACING_MS = Number(process.env.BENCH_SPACING_MS ?? 50);
/** Clients of (e); 0 leaves (e) out. */
const LARGE_CLIENTS = flags['skip-large'] ? 0 : Number(process.env.BENCH_LARGE_CLIENTS ?? 10_000);
const META_LATENCY_MS = 20;
const LOOKBACK_DAYS = 2;
/** The worker's default `maxConcurrentActivityTaskExecutions`, and the default page of children. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
/** Clients per parent run; the workflow's default when unset. */
const PAGE_SIZE = process.env.BENCH_PAGE_SIZE ? Number(process.env.BENCH_PAGE_SIZE) : undefined;
/** Dashboard readers hitting the API while the cycles run: of clients' cached rows, and of the refresh status. */
const CACHE_READERS = Number(process.env.BENCH_CACHE_READERS ?? 3);
const STATUS_READERS = Number(process.env.BENCH_STATUS_READERS ?? 1);
/** Children whose histories are read for the per-client figure (reading all 1,000 would take longer than the cycle). */
const CHILD_SAMPLE = Number(process.env.BENCH_CHILD_SAMPLE ?? 50);
/** How long Meta throttles the one client of (d), in minutes, as its estimate says. */
const THROTTLE_MINUTES = 60;
const READ_KEY = 'bench-refresh-read-key-0123456789';
const RESULTS_FILE = path.join(__dirname, 'results', 'refresh.json');
const PROD_RESULTS_FILE = path.join(__dirname, 'results', 'refresh-prod-stack.json');
const ROOT = path.resolve(__dirname, '..');

/**
 * The targets. Clients/s at spacing 0 and Temporal ÷ plain loop are printed as information, not
 * targets: their limit is the Temporal server's and the SDK's own CPU per client, not what a user
 * meets; the user's limit is the capacity case (`-- --stack prod --capacity`): a fleet refreshed
 * within 0.8 of its interval.
 */
const TARGETS = {
  pacingRatio: 1.1,
  historyEvents: 4_096,
  historyEventsPerClient: 12,
  workerRssMb: 400,
  apiRssMb: 150,
  cacheReadP99Ms: 50,
  statusReadP99Ms: 100,
  /** (d): cycle time with one client throttled for an hour ÷ without. */
  throttledRatio: 1.1,
  /** (e): clients/s at least this share of (a)'s. */
  largeRateVsSmall: 0.9,
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

/**
 * Where the bench compiles the service, as `npm run build` does for the Docker image: inside this
 * checkout (dist/ is ignored), since git worktrees may share one node_modules and two benches
 * building into it at once would run each other's code.
 */
const BUILD_DIR = path.join(ROOT, 'dist', 'bench-refresh');

/**
 * Compiles src, workflows, activities, migrations and the bench's child process to JavaScript:
 * production runs `node dist/src/api.js` (Dockerfile), so RSS is measured without tsx.
 */
function build(): void {
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const config = path.join(BUILD_DIR, 'tsconfig.json');
  const include = ['src', 'workflows', 'activities', 'migrations', 'bench/refresh-process.ts'].map((p) =>
    path.join(ROOT, p),
  );
  fs.writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir: BUILD_DIR, rootDir: ROOT, sourceMap: false },
      include,
    }),
  );
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', config], { stdio: 'inherit' });
  // What `npm run build` copies beside the JavaScript: the status pages' style sheet.
  fs.cpSync(path.join(ROOT, 'src/api/status/status.css'), path.join(BUILD_DIR, 'src/api/status/status.css'));
}

/** A compiled entry (`src/api.ts` → BUILD_DIR/src/api.js) as a child process. */
/** CPU seconds a process has used so far (user + system, Linux /proc). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of stat, in clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of a process and of its children, live and ended (Postgres forks a backend per connection). */
function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      // ppid is field 4; utime, stime, cutime, cstime fields 14-17 (clock ticks of 1/100 s).
      if (Number(entry) === pid)
        total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
      else if (Number(fields[1]) === pid) total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

/** Busy and total CPU time of the whole machine so far, every process of every user (/proc/stat), in seconds. */
function machineCpuSeconds(): { busy: number; total: number } {
  const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - ticks[3] - ticks[4]) / 100, total: total / 100 };
}

/** CPU seconds per thread name of a process (the main JS thread is the process's own name). */
function cpuSecondsByThread(pid: number | undefined): Record<string, number> {
  const byName: Record<string, number> = {};
  if (pid === undefined) return byName;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[\d-]+$/, '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName[name] = (byName[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return byName;
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

/** BENCH_PROFILE_DIR: the worker and the API write CPU profiles there when they exit (`--cpu-prof`). */
function profileArgs(): string[] {
  return process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
}

function spawnBuilt(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ipc: boolean,
  nodeArgs: string[] = [],
): ChildProcess {
  const built = path.join(BUILD_DIR, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
  return spawn(process.execPath, [...nodeArgs, built, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'ignore', 'inherit'],
  });
}

function nextMessage<T extends BenchProcessMessage['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<BenchProcessMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: BenchProcessMessage) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message as Extract<BenchProcessMessage, { type: T }>);
    };
    child.on('message', onMessage);
    child.once('exit', (code) =>
      reject(new Error(`${path.basename(String(child.spawnargs[1]))} exited with ${code} before '${type}'`)),
    );
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

type ReadStats = { reads: number; statuses: Record<string, number>; p50Ms: number; p99Ms: number };

/**
 * The readers stand for dashboards on other machines, yet share this one's two cores: they read
 * over kept-alive node:http connections, which cost a fraction of `fetch`'s CPU per request, so
 * the load generator takes as little as it can from the service it measures.
 */
const readerAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** GETs a path of the API with the read key; resolves with the status once the body is read. */
function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: readerAgent, headers: { authorization: `Bearer ${READ_KEY}` } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
}

/** Lanes reading one kind of path from the API, each pausing 20 ms between reads, until stopped. */
function readLanes(apiUrl: string, lanes: number, nextPath: (n: number) => string) {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let stopped = false;
  let n = 0;
  const lane = async () => {
    while (!stopped) {
      n += 1;
      const t0 = performance.now();
      let status = 'error';
      try {
        status = String(await get(`${apiUrl}${nextPath(n)}`));
      } catch {
        // Counted as an error below.
      }
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
      // A dashboard reads now and then, not in a tight loop.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const running = Array.from({ length: lanes }, lane);
  return {
    async stop(): Promise<ReadStats> {
      stopped = true;
      await Promise.all(running);
      return {
        reads: latencies.length,
        statuses,
        p50Ms: round(percentile(latencies, 50)),
        p99Ms: round(percentile(latencies, 99)),
      };
    },
  };
}

/** Dashboards reading fresh rows and the cycle's status while a cycle runs, timed apart, until stopped. */
function startReaders(apiUrl: string, clientIds: string[], period: string) {
  const cache = readLanes(
    apiUrl,
    CACHE_READERS,
    (n) => `/api/social-media-cache?clientId=${clientIds[n % clientIds.length]}&period=${period}`,
  );
  const status = readLanes(apiUrl, STATUS_READERS, () => '/api/automated/refresh-social-media-cache');
  return {
    async stop(): Promise<{ cache: ReadStats; status: ReadStats }> {
      const stats = { cache: await cache.stop(), status: await status.stop() };
      readerAgent.destroy();
      return stats;
    },
  };
}

async function runCycle(
  client: Client,
  spacingMs: number,
): Promise<{ workflowId: string; elapsedMs: number; totals: RefreshTotals }> {
  const workflowId = `bench-cycle-${randomBytes(4).toString('hex')}`;
  const started = performance.now();
  const totals: RefreshTotals = await client.workflow.execute(refreshAllClients, {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [
      {
        trigger: 'manual',
        spacingMs,
        lookbackDays: LOOKBACK_DAYS,
        ...(PAGE_SIZE ? { pageSize: PAGE_SIZE } : {}),
      } satisfies RefreshAllInput,
    ],
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

/** Events of every run of a workflow id (a child that continued as new has several). */
async function eventsOfAllRuns(client: Client, workflowId: string): Promise<number> {
  let events = 0;
  for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    events += (await client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events?.length ?? 0;
  }
  return events;
}

/**
 * History events per client of a cycle, parent + child: every parent run's events, plus the mean
 * events of `sample` children evenly spread over `clientIds` times the children started, over the
 * clients. Read before another cycle reuses the children's workflow ids.
 */
async function historyPerClient(
  client: Client,
  parentRuns: number[],
  clientIds: string[],
  started: number,
  sample: number,
) {
  const step = Math.max(1, Math.floor(clientIds.length / sample));
  const sampled = clientIds.filter((_, i) => i % step === 0).slice(0, sample);
  const childEvents = await Promise.all(sampled.map((id) => eventsOfAllRuns(client, clientRefreshWorkflowId(id))));
  const parentEvents = parentRuns.reduce((a, b) => a + b, 0);
  const meanChildEvents = childEvents.reduce((a, b) => a + b, 0) / childEvents.length;
  return {
    parentEvents,
    parentRuns: parentRuns.length,
    childrenSampled: sampled.length,
    childrenStarted: started,
    meanChildEvents: round(meanChildEvents),
    maxChildEvents: Math.max(...childEvents),
    perClient: round((parentEvents + meanChildEvents * started) / clientIds.length),
  };
}

/** Children a cycle started: every client it did not pass over or find running. */
function childrenStarted(totals: RefreshTotals): number {
  return totals.total - totals.skippedTokenInvalid - totals.skippedFresh - totals.alreadyRunning;
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
      (async () =>
        startTemporalDevServer({
          binary,
          port: await freePort(),
          dbFile: path.join(dir, 'temporal.db'),
          namespace: 'default',
          dynamicConfig: process.env.BENCH_DYNAMIC_CONFIG
            ? (JSON.parse(process.env.BENCH_DYNAMIC_CONFIG) as Record<string, unknown>)
            : undefined,
        }))(),
      startGraphSandbox({
        appQuota: { calls: 100_000_000, windowMs: 3_600_000 },
        objectQuota: { calls: 1_000_000, windowMs: 3_600_000 },
      }),
    ]);
    stops.push(
      () => postgres.stop(),
      () => temporal.stop(),
      () => sandbox.close(),
    );
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
    const worker = spawnBuilt(
      path.join(__dirname, 'refresh-process.ts'),
      ['worker'],
      {
        ...childEnv,
        ...(workerNodeOptions ? { NODE_OPTIONS: workerNodeOptions } : {}),
        ...(process.env.BENCH_WORKER_TUNING ? { BENCH_WORKER_TUNING: process.env.BENCH_WORKER_TUNING } : {}),
      },
      true,
      profileArgs(),
    );
    children.push(worker);
    const workerStart = await nextMessage(worker, 'ready');
    log(
      `worker ready (workflows bundled at start, as the production worker does): RSS ${workerStart.rssMb} MB, peak so far ${peakRssMb(worker.pid)} MB`,
    );

    const apiPort = await freePort();
    const api = spawnBuilt(
      path.join(ROOT, 'src', 'api.ts'),
      [],
      {
        ...childEnv,
        PORT: String(apiPort),
        READ_API_KEYS: READ_KEY,
        LOG_LEVEL: 'warn',
      },
      false,
      profileArgs(),
    );
    children.push(api);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitFor(async () => (await fetch(`${apiUrl}/readyz`).catch(() => undefined))?.status === 200, {
      timeoutMs: 60_000,
      what: 'the API to be ready',
    });
    log('API ready');
    // The API applied the migrations, by their compiled names as production records them.
    const token = `bench-token-${randomBytes(4).toString('hex')}`;
    sandbox.control.setToken({ token });
    const clients = new ClientStore(db, createKeyring(tokenKey));
    const ids: string[] = [];
    const pageIds = new Map<string, string>();
    // A few inserts in flight: 10,000 one after the other take longer than they need to.
    const createClients = async (from: number, to: number) => {
      let next = from;
      const lane = async () => {
        for (let i = next++; i < to; i = next++) {
          const n = String(i).padStart(6, '0');
          const created = await clients.create({
            name: `Bench ${n}`,
            facebookPageId: `5100${n}`,
            instagramAccountId: `178490${n}`,
            accessToken: token,
            timezone: 'Europe/Warsaw',
          });
          ids.push(created.id);
          pageIds.set(created.id, `5100${n}`);
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
      ids.sort();
    };
    await createClients(0, CLIENTS);
    log(`${CLIENTS} clients created`);

    // The dashboard reads fresh rows (no refresh of its own), so the cycles' counts stay exact.
    const period = dayIn('Europe/Warsaw');
    const readIds = ids.slice(0, 50);
    const seed = async () => {
      const cache = new CacheStore(db);
      for (const id of readIds) {
        await cache.writeDay(
          id,
          period,
          { facebookNewFollowers: 1, instagramFollowers: 100, instagramReach: 10, instagramProfileViews: 1 },
          new Date(Date.now() - 60_000),
        );
      }
    };

    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });

    // (f) Graph calls per client per cycle: the cycle's refresh code (the plain loop runs it once per
    // client, as a cycle does) with the seed's four metrics, then with every metric of the catalogue.
    const callsPerClient: Record<string, number> = {};
    for (const setting of ['core', 'all'] as const) {
      await resetRefreshRows(db);
      sandbox.control.reset('calls');
      const child = spawnBuilt(
        path.join(__dirname, 'refresh-process.ts'),
        ['loop'],
        {
          ...childEnv,
          CONCURRENCY: String(CONCURRENCY),
          LOOKBACK_DAYS: String(LOOKBACK_DAYS),
          BENCH_METRICS: setting,
        },
        true,
      );
      children.push(child);
      const done = await nextMessage(child, 'loop-done');
      if (done.failures) throw new Error(`(f) ${done.failures} refreshes failed with METRICS=${setting}`);
      callsPerClient[setting] = sandbox.control.calls().total / CLIENTS;
      log(`(f) METRICS=${setting}: ${callsPerClient[setting].toFixed(2)} Graph calls per client per cycle`);
    }
    const metricCounts = { core: CORE_METRICS.length, all: METRIC_NAMES.length };
    const metricsLine = `(f) Graph calls per client per cycle (lookback ${LOOKBACK_DAYS} days): ${metricCounts.core} metrics ${callsPerClient.core.toFixed(2)}, all ${metricCounts.all} metrics ${callsPerClient.all.toFixed(2)} (target: equal)`;
    if (flags.metrics) {
      process.stdout.write(`\n${metricsLine}\n`);
      return;
    }

    if (flags.quick) {
      await quickThroughput(
        client,
        db,
        ids,
        { apiUrl, readIds, period, seed },
        {
          temporalServer: pidOf(path.join(dir, 'temporal.db')),
          worker: worker.pid,
          api: api.pid,
          benchAndSandbox: process.pid,
        },
        Number(fs.readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]),
      );
      return;
    }

    // (a) plain loop first, then the same clients through Temporal, each on empty cache rows.
    log(`(a) plain loop: ${CLIENTS} clients, concurrency ${CONCURRENCY}`);
    await resetRefreshRows(db);
    const loopChild = spawnBuilt(
      path.join(__dirname, 'refresh-process.ts'),
      ['loop'],
      { ...childEnv, CONCURRENCY: String(CONCURRENCY), LOOKBACK_DAYS: String(LOOKBACK_DAYS) },
      true,
    );
    children.push(loopChild);
    const loop = await nextMessage(loopChild, 'loop-done');
    const loopRows = Number(
      (await db('social_media_cache').whereNotNull('fetched_at').count<{ count: string }[]>('* as count'))[0].count,
    );

    log(`(a) Temporal: ${CLIENTS} clients, spacing 0`);
    await resetRefreshRows(db);
    await seed();
    const readersA = startReaders(apiUrl, readIds, period);
    const processes = {
      temporalServer: pidOf(path.join(dir, 'temporal.db')),
      worker: worker.pid,
      api: api.pid,
      benchAndSandbox: process.pid,
    };
    const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]));
    const postgresPid = Number(fs.readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const postgresBefore = treeCpuSeconds(postgresPid);
    const machineBefore = machineCpuSeconds();
    const throughput = await runCycle(client, 0);
    // How many cores each process kept busy during the Temporal run, and the whole machine (other users' work too): what limits it.
    const coresUsed = {
      ...Object.fromEntries(
        Object.entries(processes).map(([name, pid]) => [
          name,
          round((cpuSeconds(pid) - cpuBefore[name]) / (throughput.elapsedMs / 1000)),
        ]),
      ),
      postgres: round((treeCpuSeconds(postgresPid) - postgresBefore) / (throughput.elapsedMs / 1000)),
    };
    const machineAfter = machineCpuSeconds();
    const machineBusy = round(
      (machineAfter.busy - machineBefore.busy) / ((machineAfter.total - machineBefore.total) / os.cpus().length),
    );
    const cpuMsPerClient = Object.fromEntries(
      Object.entries(coresUsed).map(([name, cores]) => [name, round((cores * throughput.elapsedMs) / CLIENTS)]),
    );
    const readsA = await readersA.stop();
    const [cycleA] = await db('refresh_runs').where({ workflow_id: throughput.workflowId });
    const temporalDurations = (
      await db('refresh_client_results').where({ run_id: cycleA.id }).select('duration_ms')
    ).map((r: { duration_ms: number }) => r.duration_ms);
    const historyA = await historyLengths(client, throughput.workflowId);
    log(`(a) history events per client: every parent run, ${Math.min(CHILD_SAMPLE, CLIENTS)} children sampled`);
    const perClientA = await historyPerClient(client, historyA, ids, childrenStarted(throughput.totals), CHILD_SAMPLE);

    // (d) the same cycle without and with one client's Page throttled for an hour, back to back.
    log(`(d) ${CLIENTS} clients at spacing 0, without a throttled client`);
    await resetRefreshRows(db);
    await seed();
    const readersD0 = startReaders(apiUrl, readIds, period);
    const unthrottled = await runCycle(client, 0);
    const readsD0 = await readersD0.stop();
    const throttledId = ids[Math.floor(ids.length / 2)];
    const throttledPage = pageIds.get(throttledId)!;
    log(`(d) the same with client ${throttledId} (Page ${throttledPage}) throttled for ${THROTTLE_MINUTES} minutes`);
    await resetRefreshRows(db);
    await seed();
    // The first matching injection answers, so the throttle goes before the latency of every call.
    sandbox.control.clearInjections();
    sandbox.control.inject({
      objectId: throttledPage,
      code: 80001,
      estimatedTimeToRegainAccess: THROTTLE_MINUTES,
      latencyMs: META_LATENCY_MS,
    });
    sandbox.control.inject({ objectId: '*', latencyMs: META_LATENCY_MS });
    const readersD1 = startReaders(apiUrl, readIds, period);
    const throttled = await runCycle(client, 0);
    const readsD1 = await readersD1.stop();
    const [cycleD] = await db('refresh_runs').where({ workflow_id: throttled.workflowId });
    const throttledRow = await db('refresh_client_results')
      .where({ run_id: cycleD.id, client_id: throttledId })
      .first<{ outcome: string; error_code: string | null } | undefined>('outcome', 'error_code');
    // The throttled refresh would sleep on for an hour and meet the next cycles as `already_running`.
    await client.workflow
      .getHandle(clientRefreshWorkflowId(throttledId))
      .terminate('bench: the throttled client of (d) is done with');
    sandbox.control.clearInjections();
    sandbox.control.inject({ objectId: '*', latencyMs: META_LATENCY_MS });

    // (b) pacing: the first PACING_CLIENTS clients keep their token, the others are left out.
    log(`(b) pacing: ${PACING_CLIENTS} clients, spacing ${SPACING_MS} ms`);
    await db('clients').whereNotIn('id', ids.slice(0, PACING_CLIENTS)).update({ meta_access_token_encrypted: null });
    const readersB = startReaders(apiUrl, readIds, period);
    const pacingRun = await runCycle(client, SPACING_MS);
    const readsB = await readersB.stop();
    const historyB = await historyLengths(client, pacingRun.workflowId);
    const workerRssMb = peakRssMb(worker.pid);
    const apiRssMb = peakRssMb(api.pid);

    // (e) many clients at spacing 0: the clients (b) left out get their token back, more are added.
    let large:
      | {
          clients: number;
          elapsedMs: number;
          clientsPerSecond: number;
          vsSmall: number;
          totals: RefreshTotals;
          maxEventsPerRun: number;
          parentRuns: number;
          workerPeakMb: number;
          apiPeakMb: number;
          reads: Awaited<ReturnType<ReturnType<typeof startReaders>['stop']>>;
        }
      | undefined;
    if (LARGE_CLIENTS > 0) {
      log(
        `(e) ${LARGE_CLIENTS} clients at spacing 0: restoring tokens, creating ${Math.max(0, LARGE_CLIENTS - CLIENTS)} more clients`,
      );
      for (const id of ids.slice(PACING_CLIENTS)) await clients.update(id, { accessToken: token });
      await createClients(ids.length, LARGE_CLIENTS);
      await db('clients').whereNotIn('id', ids.slice(0, LARGE_CLIENTS)).update({ meta_access_token_encrypted: null });
      await resetRefreshRows(db);
      await seed();
      log(`(e) ${LARGE_CLIENTS} clients, spacing 0`);
      const readersE = startReaders(apiUrl, readIds, period);
      const run = await runCycle(client, 0);
      const reads = await readersE.stop();
      const historyE = await historyLengths(client, run.workflowId);
      const rate = LARGE_CLIENTS / (run.elapsedMs / 1000);
      large = {
        clients: LARGE_CLIENTS,
        elapsedMs: Math.round(run.elapsedMs),
        clientsPerSecond: round(rate),
        vsSmall: round(rate / (CLIENTS / (throughput.elapsedMs / 1000))),
        totals: run.totals,
        maxEventsPerRun: Math.max(...historyE),
        parentRuns: historyE.length,
        workerPeakMb: peakRssMb(worker.pid),
        apiPeakMb: peakRssMb(api.pid),
        reads,
      };
    }

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
      settings: {
        workerNodeOptions: workerNodeOptions ?? null,
        clients: CLIENTS,
        pacingClients: PACING_CLIENTS,
        spacingMs: SPACING_MS,
        largeClients: LARGE_CLIENTS,
        metaLatencyMs: META_LATENCY_MS,
        lookbackDays: LOOKBACK_DAYS,
        concurrency: CONCURRENCY,
        cacheReaders: CACHE_READERS,
        statusReaders: STATUS_READERS,
        childSample: CHILD_SAMPLE,
      },
      graphCallsPerClientPerCycle: { metrics: metricCounts, perClient: callsPerClient },
      throughput: {
        temporal: {
          coresUsed,
          cpuMsPerClient,
          /** Cores busy on the whole machine during the run, of os.cpus().length. */
          machineCoresBusy: machineBusy,
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
          cpuMsPerClient: round(loop.cpuMs / CLIENTS),
          perClientP50Ms: round(percentile(loop.durationsMs, 50)),
          perClientP99Ms: round(percentile(loop.durationsMs, 99)),
        },
        temporalVsLoop: round(temporalRate / loopRate),
      },
      throttledClient: {
        clientId: throttledId,
        pageId: throttledPage,
        throttledMinutes: THROTTLE_MINUTES,
        withoutMs: Math.round(unthrottled.elapsedMs),
        withMs: Math.round(throttled.elapsedMs),
        ratio: round(throttled.elapsedMs / unthrottled.elapsedMs),
        totalsWithout: unthrottled.totals,
        totalsWith: throttled.totals,
        clientOutcome: throttledRow?.outcome ?? null,
        clientErrorCode: throttledRow?.error_code ?? null,
      },
      pacing: {
        elapsedMs: Math.round(pacingRun.elapsedMs),
        floorMs,
        ratio: round(pacingRun.elapsedMs / floorMs),
        totals: pacingRun.totals,
      },
      history: {
        throughputRuns: historyA,
        pacingRuns: historyB,
        maxEventsPerRun: Math.max(...historyA, ...historyB),
        perClient: perClientA,
      },
      rss: {
        workerPeakMb: workerRssMb,
        workerAfterStartMb: workerStart.rssMb,
        workerPeakAfterStartMb: workerStart.peakMb,
        apiPeakMb: apiRssMb,
      },
      large: large ?? null,
      reads: {
        duringThroughput: readsA,
        duringThrottledWithout: readsD0,
        duringThrottledWith: readsD1,
        duringPacing: readsB,
        duringLarge: large?.reads ?? null,
      },
    };
    const met = {
      pacingRatio: results.pacing.ratio <= TARGETS.pacingRatio,
      historyEvents: results.history.maxEventsPerRun <= TARGETS.historyEvents,
      historyEventsPerClient: perClientA.perClient <= TARGETS.historyEventsPerClient,
      workerRssMb: workerRssMb <= TARGETS.workerRssMb,
      apiRssMb: apiRssMb <= TARGETS.apiRssMb,
      cacheReadP99Ms: readsA.cache.p99Ms <= TARGETS.cacheReadP99Ms,
      statusReadP99Ms: readsA.status.p99Ms <= TARGETS.statusReadP99Ms,
      throttledRatio: results.throttledClient.ratio <= TARGETS.throttledRatio,
      throttledPending: throttled.totals.pending >= 1 && throttledRow?.outcome === 'pending',
      ...(large
        ? {
            largeRateVsSmall: large.vsSmall >= TARGETS.largeRateVsSmall,
            largeHistoryEvents: large.maxEventsPerRun <= TARGETS.historyEvents,
            largeWorkerRssMb: large.workerPeakMb <= TARGETS.workerRssMb,
            largeApiRssMb: large.apiPeakMb <= TARGETS.apiRssMb,
          }
        : {}),
    };
    fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
    fs.writeFileSync(
      RESULTS_FILE,
      `${JSON.stringify({ ranAt: new Date().toISOString(), ...results, targets: TARGETS, met }, null, 2)}\n`,
    );

    const row = (name: string, value: string, target: string, ok: boolean | undefined) =>
      `${name.padEnd(52)} ${value.padStart(14)}  ${target.padEnd(16)} ${ok === undefined ? '' : ok ? 'met' : 'MISSED'}`;
    const statuses = (r: ReadStats) =>
      Object.entries(r.statuses)
        .map(([s, c]) => `${c}× ${s}`)
        .join(', ');
    const reads = (r: { cache: ReadStats; status: ReadStats }) =>
      `cache ${r.cache.reads} reads (${statuses(r.cache)}), p50/p99 ${r.cache.p50Ms.toFixed(1)}/${r.cache.p99Ms.toFixed(1)} ms; ` +
      `status ${r.status.reads} reads (${statuses(r.status)}), p50/p99 ${r.status.p50Ms.toFixed(1)}/${r.status.p99Ms.toFixed(1)} ms`;
    const t = results.throttledClient;
    const largeRows = large
      ? [
          row(
            `(e) Temporal, ${large.clients} clients, spacing 0`,
            `${large.clientsPerSecond.toFixed(1)} clients/s`,
            '',
            undefined,
          ),
          row(
            `(e)   ÷ (a)'s ${temporalRate.toFixed(1)} clients/s`,
            large.vsSmall.toFixed(2),
            `>= ${TARGETS.largeRateVsSmall}`,
            met.largeRateVsSmall,
          ),
          row(
            `(e) history events, largest of ${large.parentRuns} parent runs`,
            String(large.maxEventsPerRun),
            `<= ${TARGETS.historyEvents}`,
            met.largeHistoryEvents,
          ),
          row('(e) worker peak RSS', `${large.workerPeakMb} MB`, `<= ${TARGETS.workerRssMb} MB`, met.largeWorkerRssMb),
          row('(e) API peak RSS', `${large.apiPeakMb} MB`, `<= ${TARGETS.apiRssMb} MB`, met.largeApiRssMb),
        ]
      : [row('(e) large cycle', 'skipped', '', undefined)];
    process.stdout.write(
      [
        '',
        `refresh benchmark: ${os.cpus().length} cores (load ${loadAtStart[0]} at start, ${round(os.loadavg()[0])} at end), Meta latency ${META_LATENCY_MS} ms, lookback ${LOOKBACK_DAYS} days (4 Graph calls per client), concurrency ${CONCURRENCY}, readers: ${CACHE_READERS} cache, ${STATUS_READERS} status`,
        row('measure', 'value', 'target', undefined),
        row(
          `(a) Temporal, ${CLIENTS} clients, spacing 0`,
          `${temporalRate.toFixed(1)} clients/s`,
          'information',
          undefined,
        ),
        row(
          `(a) plain loop, same activities, concurrency ${CONCURRENCY}`,
          `${loopRate.toFixed(1)} clients/s`,
          '',
          undefined,
        ),
        `    plain loop: ${(loop.cpuMs / CLIENTS).toFixed(1)} CPU ms per client in its own process; Temporal: ${Object.entries(
          cpuMsPerClient,
        )
          .map(([name, ms]) => `${name} ${ms.toFixed(1)}`)
          .join(', ')} CPU ms per client`,
        row('(a) Temporal ÷ plain loop', results.throughput.temporalVsLoop.toFixed(2), 'information', undefined),
        row(
          '(a) per-client refresh p50 / p99, Temporal',
          `${results.throughput.temporal.perClientP50Ms} / ${results.throughput.temporal.perClientP99Ms} ms`,
          '',
          undefined,
        ),
        row(
          '(a) per-client refresh p50 / p99, plain loop',
          `${results.throughput.plainLoop.perClientP50Ms.toFixed(0)} / ${results.throughput.plainLoop.perClientP99Ms.toFixed(0)} ms`,
          '',
          undefined,
        ),
        row(
          '(a) cache read p50 / p99, during the Temporal cycle',
          `${readsA.cache.p50Ms.toFixed(1)} / ${readsA.cache.p99Ms.toFixed(1)} ms`,
          `p99 <= ${TARGETS.cacheReadP99Ms} ms`,
          met.cacheReadP99Ms,
        ),
        row(
          '(a) status read p50 / p99, during the Temporal cycle',
          `${readsA.status.p50Ms.toFixed(1)} / ${readsA.status.p99Ms.toFixed(1)} ms`,
          `p99 <= ${TARGETS.statusReadP99Ms} ms`,
          met.statusReadP99Ms,
        ),
        row(
          '(a) history events per client, parent + child',
          perClientA.perClient.toFixed(2),
          `<= ${TARGETS.historyEventsPerClient}`,
          met.historyEventsPerClient,
        ),
        `    ${perClientA.parentEvents} events in ${perClientA.parentRuns} parent runs; children: ${perClientA.meanChildEvents} events on average (largest ${perClientA.maxChildEvents}) over a sample of ${perClientA.childrenSampled} of the ${perClientA.childrenStarted} started`,
        row(
          `(d) one client throttled ${THROTTLE_MINUTES} min: cycle ÷ without`,
          `${(t.withMs / 1000).toFixed(2)} s / ${(t.withoutMs / 1000).toFixed(2)} s = ${t.ratio.toFixed(3)}`,
          `<= ${TARGETS.throttledRatio}`,
          met.throttledRatio,
        ),
        row(
          '(d) the throttled client pending in the totals',
          `${throttled.totals.pending} pending, row ${t.clientOutcome ?? 'none'}`,
          '>= 1, pending',
          met.throttledPending,
        ),
        row(
          `(b) pacing, ${PACING_CLIENTS} clients at ${SPACING_MS} ms: cycle ÷ floor`,
          `${(pacingRun.elapsedMs / 1000).toFixed(2)} s / ${(floorMs / 1000).toFixed(1)} s = ${results.pacing.ratio.toFixed(3)}`,
          `<= ${TARGETS.pacingRatio}`,
          met.pacingRatio,
        ),
        row(
          '(c) history events, largest parent run',
          String(results.history.maxEventsPerRun),
          `<= ${TARGETS.historyEvents}`,
          met.historyEvents,
        ),
        row('(c) worker peak RSS', `${workerRssMb} MB`, `<= ${TARGETS.workerRssMb} MB`, met.workerRssMb),
        row('(c)   of which: peak by the end of start-up (bundling)', `${workerStart.peakMb} MB`, '', undefined),
        row('(c) API peak RSS', `${apiRssMb} MB`, `<= ${TARGETS.apiRssMb} MB`, met.apiRssMb),
        ...largeRows,
        `cores kept busy during (a) Temporal: ${Object.entries(coresUsed)
          .map(([name, cores]) => `${name} ${cores.toFixed(2)}`)
          .join(
            ', ',
          )}; the whole machine ${machineBusy.toFixed(2)} of ${os.cpus().length} (other users' work included)`,
        metricsLine,
        `totals (a): ${JSON.stringify(throughput.totals)}; plain loop: ${loopRows} days written, ${loop.failures} failures`,
        `totals (d) without: ${JSON.stringify(unthrottled.totals)}`,
        `totals (d) with client ${throttledId} throttled: ${JSON.stringify(throttled.totals)}; its row: ${t.clientOutcome ?? 'none'} (${t.clientErrorCode ?? 'no code'})`,
        `totals (b): ${JSON.stringify(pacingRun.totals)}`,
        ...(large ? [`totals (e): ${JSON.stringify(large.totals)}`] : []),
        `API during (a): ${reads(readsA)}`,
        `API during (d) without: ${reads(readsD0)}`,
        `API during (d) with: ${reads(readsD1)}`,
        `API during (b): ${reads(readsB)}`,
        ...(large ? [`API during (e): ${reads(large.reads)}`] : []),
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

/** Milliseconds of a history event's time. */
function eventMs(event: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number {
  return Number(event.eventTime?.seconds ?? 0) * 1000 + Math.round((event.eventTime?.nanos ?? 0) / 1e6);
}

/**
 * `--quick`: case (a)'s Temporal cycle alone, then where its time went, from the histories: for a
 * sample of children, the wait from their start to a worker taking their first workflow task, that
 * task's length (the local steps inside it) and the time to completion; for the parent, each run's
 * length and its last child start relative to the cycle's start; and the cores each process used.
 */
async function quickThroughput(
  client: Client,
  db: Db,
  ids: string[],
  reading: { apiUrl: string; readIds: string[]; period: string; seed: () => Promise<void> },
  processes: Record<string, number | undefined>,
  postgresPid: number | undefined,
): Promise<void> {
  await resetRefreshRows(db);
  await reading.seed();
  // The same dashboard readers as (a): BENCH_CACHE_READERS=0 BENCH_STATUS_READERS=0 leaves them out.
  const readers = startReaders(reading.apiUrl, reading.readIds, reading.period);
  const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const postgresBefore = treeCpuSeconds(postgresPid);
  const machineBefore = machineCpuSeconds();
  const threadsBefore = cpuSecondsByThread(processes.worker);
  const xacts = async () =>
    Number((await db.raw(`select sum(xact_commit + xact_rollback) as n from pg_stat_database`)).rows[0].n);
  const xactsBefore = await xacts();
  log(`(a) Temporal only: ${CLIENTS} clients, spacing 0`);
  const run = await runCycle(client, 0);
  const reads = await readers.stop();
  log(`statements (transactions) per client: ${((await xacts()) - xactsBefore) / CLIENTS}`);
  const seconds = run.elapsedMs / 1000;
  const postgresCores = (treeCpuSeconds(postgresPid) - postgresBefore) / seconds;
  const machineAfter = machineCpuSeconds();
  const machineBusy =
    (machineAfter.busy - machineBefore.busy) / ((machineAfter.total - machineBefore.total) / os.cpus().length);
  const threadsAfter = cpuSecondsByThread(processes.worker);
  const workerThreads = Object.entries(threadsAfter)
    .map(([name, cpu]) => [name, (cpu - (threadsBefore[name] ?? 0)) / seconds] as const)
    .filter(([, cores]) => cores >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([name, cores]) => `${name} ${cores.toFixed(2)}`);
  const coresUsed = Object.entries(processes).map(
    ([name, pid]) =>
      `${name} ${((cpuSeconds(pid) - cpuBefore[name]) / seconds).toFixed(2)} (${(((cpuSeconds(pid) - cpuBefore[name]) * 1000) / CLIENTS).toFixed(1)} CPU ms per client)`,
  );
  const runs: { runId: string; startTime: Date; closeTime?: Date }[] = [];
  for await (const r of client.workflow.list({ query: `WorkflowId = '${run.workflowId}'` })) runs.push(r);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  const t0 = runs[0].startTime.getTime();
  const parent = [];
  for (const r of runs) {
    const events = (await client.workflow.getHandle(run.workflowId, r.runId).fetchHistory()).events ?? [];
    const starts = events.filter((e) => e.childWorkflowExecutionStartedEventAttributes).map(eventMs);
    parent.push(
      `${((r.startTime.getTime() - t0) / 1000).toFixed(1)}+${(((r.closeTime?.getTime() ?? 0) - r.startTime.getTime()) / 1000).toFixed(1)}s${starts.length ? `(last start ${((Math.max(...starts) - t0) / 1000).toFixed(1)})` : ''}`,
    );
  }
  const step = Math.max(1, Math.floor(ids.length / CHILD_SAMPLE));
  const waits: number[] = [];
  const tasks: number[] = [];
  const ends: number[] = [];
  for (const id of ids.filter((_, i) => i % step === 0).slice(0, CHILD_SAMPLE)) {
    const events = (await client.workflow.getHandle(clientRefreshWorkflowId(id)).fetchHistory()).events ?? [];
    const started = eventMs(events[0]);
    const taskStarted = events.find((e) => e.workflowTaskStartedEventAttributes);
    const taskDone = events.find((e) => e.workflowTaskCompletedEventAttributes);
    if (taskStarted) waits.push(eventMs(taskStarted) - started);
    if (taskStarted && taskDone) tasks.push(eventMs(taskDone) - eventMs(taskStarted));
    ends.push((eventMs(events[events.length - 1]) - t0) / 1000);
  }
  const p = (values: number[]) =>
    `p50 ${percentile(values, 50).toFixed(0)} / p99 ${percentile(values, 99).toFixed(0)} ms`;
  process.stdout.write(
    [
      '',
      `(a) Temporal, ${CLIENTS} clients, spacing 0: ${(CLIENTS / seconds).toFixed(1)} clients/s (${seconds.toFixed(2)} s), load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
      `totals: ${JSON.stringify(run.totals)}`,
      `reads during the cycle (${CACHE_READERS} cache, ${STATUS_READERS} status readers): cache ${JSON.stringify(reads.cache)}, status ${JSON.stringify(reads.status)}`,
      `cores kept busy: ${coresUsed.join(', ')}, postgres ${postgresCores.toFixed(2)}; the whole machine ${machineBusy.toFixed(2)} of ${os.cpus().length}; worker peak RSS ${peakRssMb(processes.worker)} MB`,
      `worker threads, cores: ${workerThreads.join(', ')}`,
      `children (${waits.length} sampled): start → first workflow task taken ${p(waits)}; that task ${p(tasks)}; last child completed at ${Math.max(...ends).toFixed(1)} s`,
      `parent runs (start+length from the cycle's start): ${parent.join(' ')}`,
      '',
    ].join('\n'),
  );
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The capacity case's fleet, interval and spacing: serial pacing would take three intervals. */
const CAPACITY_CLIENTS = Number(process.env.BENCH_CAPACITY_CLIENTS ?? 10_000);
const CAPACITY_INTERVAL_MS = Number(process.env.BENCH_CAPACITY_INTERVAL_MS ?? 15 * 60_000);
const CAPACITY_SPACING_MS = Number(process.env.BENCH_CAPACITY_SPACING_MS ?? 270);
/** The capacity case's bound: the cycle ends within this share of the interval. */
const CAPACITY_FILL = 0.8;

/** A cycle with lanes, as the Schedule starts it with REFRESH_LANES=auto (the default). */
async function runLanedCycle(
  client: Client,
  settings: { spacingMs: number; intervalMs: number },
): Promise<{ workflowId: string; elapsedMs: number; totals: RefreshTotals }> {
  const workflowId = `bench-capacity-${randomBytes(4).toString('hex')}`;
  const started = performance.now();
  const totals: RefreshTotals = await client.workflow.execute(refreshAllClients, {
    workflowId,
    taskQueue: TASK_QUEUE,
    args: [
      {
        trigger: 'schedule',
        spacingMs: settings.spacingMs,
        lookbackDays: LOOKBACK_DAYS,
        lanes: 'auto',
        maxLanes: DEFAULT_MAX_LANES,
        intervalMs: settings.intervalMs,
      } satisfies RefreshAllInput,
    ],
  });
  return { workflowId, elapsedMs: performance.now() - started, totals };
}

/**
 * On the production topology with `workers` workers: case (a), Temporal only (`capacity`
 * false), or the capacity case: CAPACITY_CLIENTS clients at CAPACITY_SPACING_MS in a
 * CAPACITY_INTERVAL_MS interval, on the lanes `auto` picks; the cycle must end within 0.8 of it.
 */
async function mainProdStack(workers: number, capacity: boolean): Promise<void> {
  const loadAtStart = os.loadavg().map(round);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-bench-prod-'));
  fs.chmodSync(dir, 0o755);
  const tokenKey = randomBytes(32);
  const clientCount = capacity ? CAPACITY_CLIENTS : CLIENTS;
  // Ctrl-C or SIGTERM exits through the exit hooks, which kill what the stack started so far.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const stack = await startProdStack({
    repoRoot: ROOT,
    workers,
    apis: 1,
    dataDir: dir,
    keys: { readApiKey: READ_KEY, adminApiKey: `${READ_KEY}-admin`, tokenEncryptionKey: tokenKey.toString('hex') },
    sandboxOptions: {
      appQuota: { calls: 100_000_000, windowMs: 3_600_000 },
      objectQuota: { calls: 1_000_000, windowMs: 3_600_000 },
    },
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
    for (let i = 0; i < clientCount; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, clientCount - i) }, (_, k) => {
          const n = String(i + k).padStart(6, '0');
          return clients.create({
            name: `Bench ${n}`,
            facebookPageId: `5100${n}`,
            instagramAccountId: `178490${n}`,
            accessToken: token,
            timezone: 'Europe/Warsaw',
          });
        }),
      );
      ids.push(...batch.map((c) => c.id));
    }
    const period = dayIn('Europe/Warsaw');
    const readIds = ids.slice(0, 50);
    const cache = new CacheStore(db);
    for (const id of readIds) {
      await cache.writeDay(
        id,
        period,
        { facebookNewFollowers: 1, instagramFollowers: 100, instagramReach: 10, instagramProfileViews: 1 },
        new Date(Date.now() - 60_000),
      );
    }
    const postgresPidFile = path.join(dir, 'postgres', 'postmaster.pid');
    const postgresPid = fs.existsSync(postgresPidFile)
      ? Number(fs.readFileSync(postgresPidFile, 'utf8').split('\n')[0])
      : undefined;
    const processes: Record<string, number | undefined> = {
      temporalServer: stack.temporal.pid,
      ...Object.fromEntries(stack.workers.map((w) => [w.name, w.pid])),
      api: stack.apis[0].pid,
    };
    log(
      capacity
        ? `capacity case on the production stack: ${clientCount} clients, spacing ${CAPACITY_SPACING_MS} ms, interval ${CAPACITY_INTERVAL_MS / 60_000} min, ${workers} worker(s)`
        : `(a) Temporal on the production stack: ${clientCount} clients, spacing 0, ${workers} worker(s)`,
    );
    const loadBeforeRun = os.loadavg().map(round);
    const readers = startReaders(stack.apiUrls[0], readIds, period);
    const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]));
    const postgresBefore = treeCpuSeconds(postgresPid);
    const machineBefore = machineCpuSeconds();
    const run = capacity
      ? await runLanedCycle(client, { spacingMs: CAPACITY_SPACING_MS, intervalMs: CAPACITY_INTERVAL_MS })
      : await runCycle(client, 0);
    const seconds = run.elapsedMs / 1000;
    const coresUsed = Object.fromEntries([
      ...Object.entries(processes).map(([name, pid]) => [name, round((cpuSeconds(pid) - cpuBefore[name]) / seconds)]),
      ['postgres', round((treeCpuSeconds(postgresPid) - postgresBefore) / seconds)],
    ]) as Record<string, number>;
    const machineAfter = machineCpuSeconds();
    const machineBusy = round((machineAfter.busy - machineBefore.busy) / seconds);
    const reads = await readers.stop();
    const peakRss = Object.fromEntries(
      [...stack.workers.map((w) => [w.name, w.pid] as const), ['api', stack.apis[0].pid] as const].map(
        ([name, pid]) => [name, peakRssMb(pid)],
      ),
    );
    const [cycle] = await db('refresh_runs').where({ workflow_id: run.workflowId });
    const rows: { client_id: string; outcome: string; duration_ms: number | null }[] = await db(
      'refresh_client_results',
    )
      .where({ run_id: cycle.id })
      .select('client_id', 'outcome', 'duration_ms');
    const durations = rows.map((r) => r.duration_ms).filter((d): d is number => d !== null);
    const base = {
      ranAt: new Date().toISOString(),
      loadAverage: { start: loadAtStart, beforeRun: loadBeforeRun, end: os.loadavg().map(round) },
      elapsedMs: Math.round(run.elapsedMs),
      clientsPerSecond: round(clientCount / seconds),
      totals: run.totals,
      perClientP50Ms: percentile(durations, 50),
      perClientP99Ms: percentile(durations, 99),
      coresUsed,
      machineCoresBusy: machineBusy,
      peakRssMb: peakRss,
      reads,
      startTimingsS: stack.timings,
    };
    const all = fs.existsSync(PROD_RESULTS_FILE)
      ? (JSON.parse(fs.readFileSync(PROD_RESULTS_FILE, 'utf8')) as Record<string, unknown>)
      : {};
    const cores = `cores kept busy: ${Object.entries(coresUsed)
      .map(([name, c]) => `${name} ${c.toFixed(2)}`)
      .join(', ')}; the whole machine ${machineBusy.toFixed(2)} of ${os.cpus().length}`;
    const readLines = (['cache', 'status'] as const).map(
      (kind) =>
        `API during the run, ${kind} reads: ${reads[kind].reads}, ${Object.entries(reads[kind].statuses)
          .map(([st, c]) => `${c}× ${st}`)
          .join(', ')}, p50/p99 ${reads[kind].p50Ms.toFixed(1)}/${reads[kind].p99Ms.toFixed(1)} ms`,
    );
    const header = `refresh benchmark, production stack (Temporal server ${TEMPORAL_SERVER_VERSION} on Postgres, 4 shards), ${workers} worker(s), ${os.cpus().length} cores, load ${loadAtStart.join(' ')} at start, ${loadBeforeRun[0]} before the cycle, ${round(os.loadavg()[0])} at the end`;
    if (!capacity) {
      all[`workers${workers}`] = {
        ...base,
        settings: {
          clients: clientCount,
          metaLatencyMs: META_LATENCY_MS,
          lookbackDays: LOOKBACK_DAYS,
          cacheReaders: CACHE_READERS,
          statusReaders: STATUS_READERS,
          historyShards: 4,
        },
      };
      fs.mkdirSync(path.dirname(PROD_RESULTS_FILE), { recursive: true });
      fs.writeFileSync(PROD_RESULTS_FILE, `${JSON.stringify(all, null, 2)}\n`);
      process.stdout.write(
        [
          '',
          header,
          `(a) Temporal, ${clientCount} clients, spacing 0: ${base.clientsPerSecond.toFixed(1)} clients/s (${seconds.toFixed(1)} s), per-client p50/p99 ${base.perClientP50Ms}/${base.perClientP99Ms} ms (information)`,
          cores,
          `totals: ${JSON.stringify(run.totals)}`,
          ...readLines,
          `written to ${path.relative(ROOT, PROD_RESULTS_FILE)}`,
          '',
        ].join('\n'),
      );
      return;
    }
    const historyByRun = await historyLengths(client, run.workflowId);
    const refreshedClients = new Set(rows.filter((r) => r.outcome === 'refreshed').map((r) => r.client_id));
    const bound = CAPACITY_FILL * CAPACITY_INTERVAL_MS;
    const capacityResult = {
      ...base,
      settings: {
        clients: clientCount,
        spacingMs: CAPACITY_SPACING_MS,
        intervalMs: CAPACITY_INTERVAL_MS,
        workers,
        maxLanes: DEFAULT_MAX_LANES,
        metaLatencyMs: META_LATENCY_MS,
        lookbackDays: LOOKBACK_DAYS,
        cacheReaders: CACHE_READERS,
        statusReaders: STATUS_READERS,
      },
      serialStartsMs: startsTakeMs(clientCount, CAPACITY_SPACING_MS, 1),
      lanes: cycle.lanes,
      plannedStartsMs: Number(cycle.needs_ms),
      cycleVsInterval: round(run.elapsedMs / CAPACITY_INTERVAL_MS),
      clientsRefreshedOnce: refreshedClients.size === clientCount && rows.length === clientCount,
      largestParentRunEvents: historyByRun[0],
      parentRuns: historyByRun.length,
    };
    const met = {
      cycleWithinBound: run.elapsedMs <= bound,
      everyClientOnce: capacityResult.clientsRefreshedOnce,
      historyEvents: historyByRun[0] <= TARGETS.historyEvents,
      cacheReadP99Ms: reads.cache.p99Ms <= TARGETS.cacheReadP99Ms,
      statusReadP99Ms: reads.status.p99Ms <= TARGETS.statusReadP99Ms,
    };
    const previous = Array.isArray(all.capacity) ? (all.capacity as unknown[]) : [];
    // The last runs side by side: the README's figures come from two of them.
    all.capacity = [...previous, { ...capacityResult, met }].slice(-4);
    fs.mkdirSync(path.dirname(PROD_RESULTS_FILE), { recursive: true });
    fs.writeFileSync(PROD_RESULTS_FILE, `${JSON.stringify(all, null, 2)}\n`);
    const row = (name: string, value: string, target: string, ok: boolean | undefined) =>
      `${name.padEnd(52)} ${value.padStart(18)}  ${target.padEnd(18)} ${ok === undefined ? '' : ok ? 'met' : 'MISSED'}`;
    process.stdout.write(
      [
        '',
        header,
        `capacity case: ${clientCount} clients, REFRESH_SPACING=${CAPACITY_SPACING_MS}ms, REFRESH_INTERVAL=${CAPACITY_INTERVAL_MS / 60_000}m (serially ${(capacityResult.serialStartsMs / 60_000).toFixed(1)} min of starts), REFRESH_LANES=auto`,
        row('measure', 'value', 'target', undefined),
        row(
          'cycle time ÷ interval',
          `${seconds.toFixed(0)} s = ${capacityResult.cycleVsInterval.toFixed(3)}`,
          `<= ${CAPACITY_FILL}`,
          met.cycleWithinBound,
        ),
        row(
          'every client refreshed once',
          `${refreshedClients.size} of ${clientCount} (${rows.length} rows)`,
          `${clientCount}`,
          met.everyClientOnce,
        ),
        row(
          'lanes used (planned starts)',
          `${cycle.lanes} (${(capacityResult.plannedStartsMs / 60_000).toFixed(1)} min)`,
          '',
          undefined,
        ),
        row('clients/s', base.clientsPerSecond.toFixed(1), '', undefined),
        row(
          `history events, largest of ${historyByRun.length} parent runs`,
          String(historyByRun[0]),
          `<= ${TARGETS.historyEvents}`,
          met.historyEvents,
        ),
        row(
          'peak RSS',
          Object.entries(peakRss)
            .map(([name, mb]) => `${name} ${mb} MB`)
            .join(', '),
          '',
          undefined,
        ),
        row(
          'cache read p50 / p99 during the cycle',
          `${reads.cache.p50Ms.toFixed(1)} / ${reads.cache.p99Ms.toFixed(1)} ms`,
          `p99 <= ${TARGETS.cacheReadP99Ms} ms`,
          met.cacheReadP99Ms,
        ),
        row(
          'status read p50 / p99 during the cycle',
          `${reads.status.p50Ms.toFixed(1)} / ${reads.status.p99Ms.toFixed(1)} ms`,
          `p99 <= ${TARGETS.statusReadP99Ms} ms`,
          met.statusReadP99Ms,
        ),
        cores,
        `totals: ${JSON.stringify(run.totals)}`,
        ...readLines,
        `written to ${path.relative(ROOT, PROD_RESULTS_FILE)} (capacity)`,
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

/**
 * The full run: the dev server's cases, then the production topology with 1 and 2 workers (the
 * figures of record; `-- --skip-prod` leaves them out). `-- --stack prod` runs one topology only.
 */
async function fullRun(): Promise<void> {
  await main();
  if (flags.quick || flags.metrics || flags['skip-prod']) return;
  for (const workers of [1, 2]) await mainProdStack(workers, false);
}

// The SDK's connections can keep the loop alive for a while after the stack stopped.
const entry =
  flags.stack === 'prod'
    ? () => mainProdStack(Number(flags.workers), flags.capacity).then(() => process.exit(0))
    : () => fullRun().then(() => process.exit(0));

entry().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
