import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ensureDatabase, startEmbeddedPostgres } from '../embedded-postgres';
import { startGraphSandbox, type GraphSandboxOptions, type RunningGraphSandbox } from '../meta-sandbox';
import { freePort, waitFor } from '../../net';
import { StartupError } from '../../boot/run-main';
import {
  findOrBuildTemporalServer,
  pickTemporalServerPorts,
  setupTemporalSchemas,
  startTemporalServer,
  TemporalPostgres,
  TemporalServerProcess,
  temporalServerEnvironment,
} from './temporal-server';

export const APP_DATABASE = 'social_media_cache';

export interface ProdStackOptions {
  /** The repository: `npm run build` runs there and `dist/` is started from it. */
  repoRoot: string;
  workers: number;
  apis: number;
  /** Holds the embedded Postgres (`postgres/`) and each process's log (`logs/`). */
  dataDir: string;
  /** A Postgres server to use instead of the embedded one: its database is the app's. */
  databaseUrl?: string;
  /** The Temporal frontend's port; a free one when omitted. */
  temporalPort?: number;
  /** The first API's port (the others follow it); free ones when omitted. */
  apiPort?: number;
  /** `sandbox` (default) starts the Graph sandbox in this process; `live` calls META_GRAPH_URL. */
  metaMode?: 'sandbox' | 'live';
  sandboxOptions?: GraphSandboxOptions;
  keys: { readApiKey: string; adminApiKey: string; tokenEncryptionKey: string };
  /** Environment of every API and worker, over this process's (REFRESH_SPACING, LOG_LEVEL, …). */
  env?: Record<string, string>;
  /** Skips `npm run build` when `dist/` is known to be current. */
  skipBuild?: boolean;
  log: (line: string) => void;
}

/** An API or worker process of the stack. */
export interface StackProcess {
  name: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts it again (after kill or stop) and waits until it is ready. */
  start(): Promise<void>;
  /** SIGKILL, as a crash or an OOM kill would; resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful shutdown), SIGKILL after 20 s. */
  stop(): Promise<void>;
}

export interface ProdStack {
  apiUrls: string[];
  temporalAddress: string;
  /** The app's database. */
  databaseUrl: string;
  postgresDescription: string;
  sandbox?: RunningGraphSandbox;
  workers: StackProcess[];
  apis: StackProcess[];
  temporal: { readonly pid: number | undefined; stop(): Promise<void>; start(): Promise<void> };
  timings: Record<string, number>;
  /** Stops everything, APIs and workers first, Postgres last. */
  stop(): Promise<void>;
}

function elapsedSince(started: number): number {
  return Math.round((Date.now() - started) / 100) / 10;
}

/**
 * The production topology on one machine, without Docker: Postgres (embedded unless
 * `databaseUrl`), the Temporal server of the compose file's version on it, and `workers` workers
 * and `apis` APIs run from `dist/` as the image runs them.
 */
export async function startProdStack(options: ProdStackOptions): Promise<ProdStack> {
  const { log } = options;
  const timings: Record<string, number> = {};
  const stops: { name: string; stop: () => Promise<void> }[] = [];
  const stopAll = async () => {
    for (const { name, stop } of stops.splice(0).reverse()) {
      await stop().catch((err: unknown) => log(`stopping ${name} failed: ${String(err)}`));
    }
  };
  const logsDir = path.join(options.dataDir, 'logs');
  fs.mkdirSync(logsDir, { recursive: true });
  try {
    // The slow steps that need nothing of each other run together.
    let started = Date.now();
    const serverInstall = findOrBuildTemporalServer(log).then(
      (install) => ((timings.temporalServerBinariesS = elapsedSince(started)), install),
    );
    const build = options.skipBuild
      ? Promise.resolve()
      : runNpmBuild(options.repoRoot).then(() => {
          timings.npmBuildS = elapsedSince(started);
          log(`npm run build done in ${timings.npmBuildS} s`);
        });
    // Whichever fails first, the other is awaited before cleaning up.
    const settled = Promise.allSettled([serverInstall, build]);

    const { pg, databaseUrl, description } = await providePostgres(options, stops);
    const [installResult, buildResult] = await settled;
    if (installResult.status === 'rejected') throw installResult.reason;
    if (buildResult.status === 'rejected') throw buildResult.reason;
    const install = installResult.value;

    started = Date.now();
    await setupTemporalSchemas(install, pg, log);
    timings.temporalSchemasS = elapsedSince(started);

    const ports = await pickTemporalServerPorts(options.temporalPort);
    const env = temporalServerEnvironment(pg, ports, options.repoRoot);
    const serverLog = fs.createWriteStream(path.join(logsDir, 'temporal-server.log'), { flags: 'a' });
    stops.push({ name: 'temporal server log', stop: () => new Promise<void>((resolve) => serverLog.end(resolve)) });
    let server: TemporalServerProcess | undefined;
    const startServer = async () => {
      const t0 = Date.now();
      server = await startTemporalServer({ install, env, onLog: (line) => serverLog.write(`${line}\n`) });
      timings.temporalServerStartS = elapsedSince(t0);
      log(
        `Temporal server ${server.address} serving (${timings.temporalServerStartS} s; log in ${path.join(logsDir, 'temporal-server.log')})`,
      );
    };
    await startServer();
    stops.push({ name: 'temporal server', stop: async () => server?.stop() });
    const temporalAddress = server!.address;

    let sandbox: RunningGraphSandbox | undefined;
    if ((options.metaMode ?? 'sandbox') === 'sandbox') {
      sandbox = await startGraphSandbox(options.sandboxOptions ?? {});
      stops.push({ name: 'graph sandbox', stop: () => sandbox!.close() });
    }

    const shared: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TOKEN_ENCRYPTION_KEY: options.keys.tokenEncryptionKey,
      ...(sandbox ? { META_MODE: 'sandbox', META_GRAPH_URL: sandbox.url } : { META_MODE: 'live' }),
      ...options.env,
    };
    // A worker is ready when it logs `worker running` (info): never let it log less than that.
    const workerLogLevel: Record<string, string> = ['warn', 'error', 'fatal', 'silent'].includes(
      shared.LOG_LEVEL ?? process.env.LOG_LEVEL ?? '',
    )
      ? { LOG_LEVEL: 'info' }
      : {};
    const workers: StackProcess[] = [];
    for (let i = 1; i <= options.workers; i += 1) {
      const metricsPort = await freePort();
      workers.push(
        stackProcess({
          name: `worker-${i}`,
          script: path.join(options.repoRoot, 'dist', 'src', 'worker.js'),
          // As docker-compose.yml runs the worker: metrics on, heap bounded.
          env: {
            ...shared,
            ...workerLogLevel,
            WORKER_METRICS_PORT: String(metricsPort),
            NODE_OPTIONS: '--max-old-space-size=192',
          },
          ready: (line) => line.includes('"msg":"worker running"'),
          logsDir,
          log,
        }),
      );
    }
    const apiUrls: string[] = [];
    const apis: StackProcess[] = [];
    for (let i = 0; i < options.apis; i += 1) {
      const port = options.apiPort !== undefined ? options.apiPort + i : await freePort();
      const url = `http://127.0.0.1:${port}`;
      apiUrls.push(url);
      apis.push(
        stackProcess({
          name: `api-${i + 1}`,
          script: path.join(options.repoRoot, 'dist', 'src', 'api.js'),
          env: {
            ...shared,
            HOST: '127.0.0.1',
            PORT: String(port),
            READ_API_KEYS: options.keys.readApiKey,
            ADMIN_API_KEYS: options.keys.adminApiKey,
          },
          ready: async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200,
          logsDir,
          log,
        }),
      );
    }
    for (const child of [...workers, ...apis]) stops.push({ name: child.name, stop: () => child.stop() });

    // Every worker at once: the first on a fresh cluster registers the namespace, the search
    // attribute and the Schedule, and the others must not trip over it.
    started = Date.now();
    await Promise.all(workers.map((w) => w.start()));
    timings.workersReadyS = elapsedSince(started);
    log(`${workers.length} worker(s) running (${timings.workersReadyS} s)`);
    started = Date.now();
    await Promise.all(apis.map((a) => a.start()));
    timings.apisReadyS = elapsedSince(started);
    log(`${apis.length} API(s) ready at ${apiUrls.join(', ')} (${timings.apisReadyS} s)`);

    return {
      apiUrls,
      temporalAddress,
      databaseUrl,
      postgresDescription: description,
      sandbox,
      workers,
      apis,
      temporal: {
        get pid() {
          return server?.pid;
        },
        stop: async () => server?.stop(),
        start: startServer,
      },
      timings,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function providePostgres(
  options: ProdStackOptions,
  stops: { name: string; stop: () => Promise<void> }[],
): Promise<{ pg: TemporalPostgres; databaseUrl: string; description: string }> {
  if (options.databaseUrl) {
    const url = new URL(options.databaseUrl);
    const database = decodeURIComponent(url.pathname.slice(1)) || APP_DATABASE;
    const admin = new URL(url);
    admin.pathname = '/postgres';
    await ensureDatabase(admin.toString(), database);
    const pg = {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
    return { pg, databaseUrl: options.databaseUrl, description: `${url.hostname}:${pg.port} (DATABASE_URL)` };
  }
  const dir = path.join(options.dataDir, 'postgres');
  const server = await startEmbeddedPostgres({ dir });
  stops.push({ name: 'postgres', stop: () => server.stop() });
  await ensureDatabase(server.adminUrl, APP_DATABASE);
  const admin = new URL(server.adminUrl);
  return {
    pg: {
      host: admin.hostname,
      port: server.port,
      user: decodeURIComponent(admin.username),
      password: decodeURIComponent(admin.password),
    },
    databaseUrl: server.urlFor(APP_DATABASE),
    description: `127.0.0.1:${server.port} (embedded, data in ${path.resolve(dir)})`,
  };
}

/** `npm run build` (tsc → dist/), as the Dockerfile does. */
function runNpmBuild(repoRoot: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new StartupError(`npm run build failed (exit ${code}):\n${output.slice(-2000)}`)),
    );
  });
}

/** Children of this process; killed when it exits, however it exits. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function stackProcess(spec: {
  name: string;
  script: string;
  env: Record<string, string>;
  /** A line of its output that says it is ready, or a check polled until true. */
  ready: ((line: string) => boolean) | (() => Promise<boolean>);
  logsDir: string;
  log: (line: string) => void;
}): StackProcess {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const logFile = path.join(spec.logsDir, `${spec.name}.log`);
  let file: fs.WriteStream | undefined;
  const alive = () => !!child && child.exitCode === null && child.signalCode === null;
  const end = async (signal: NodeJS.Signals, graceMs: number) => {
    if (!alive()) return;
    child!.kill(signal);
    const timer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    name: spec.name,
    get pid() {
      return child?.pid;
    },
    get running() {
      return alive();
    },
    async start() {
      if (alive()) return;
      let readyByLine = false;
      file = fs.createWriteStream(logFile, { flags: 'a' });
      const out = file;
      // Its own process group: a terminal's Ctrl-C reaches only the stack, which stops APIs and workers first.
      const proc = spawn(process.execPath, [spec.script], {
        env: { ...process.env, ...spec.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      child = proc;
      children.add(proc);
      exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      void exited.then(() => children.delete(proc));
      const onOutput = (chunk: Buffer) => {
        out.write(chunk);
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          if (spec.ready.length === 1 && (spec.ready as (line: string) => boolean)(line)) readyByLine = true;
          // Warnings and errors (pino levels 40 and up) reach the terminal; the rest stays in the log file.
          const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 50);
          if (level >= 40) spec.log(`[${spec.name}] ${line}`);
        }
      };
      proc.stdout!.on('data', onOutput);
      proc.stderr!.on('data', onOutput);
      await waitFor(
        async () => {
          if (proc.exitCode !== null || proc.signalCode !== null)
            throw new StartupError(
              `${spec.name} exited with ${proc.exitCode ?? proc.signalCode} while starting; see ${logFile}`,
            );
          return spec.ready.length === 1 ? readyByLine : (spec.ready as () => Promise<boolean>)();
        },
        { timeoutMs: 120_000, intervalMs: 200, what: `${spec.name} to be ready` },
      );
    },
    async kill() {
      await end('SIGKILL', 0);
      file?.end();
    },
    async stop() {
      await end('SIGTERM', 20_000);
      file?.end();
    },
  };
}
