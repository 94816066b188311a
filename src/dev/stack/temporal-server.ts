import { ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { StartupError } from '../../boot/run-main';
import { followOutput, isListening, waitFor } from '../../net';
import { findGo, goInstall, isExecutable } from '../temporal-cli';
import { TEMPORAL_DYNAMIC_CONFIG_FILE, TEMPORAL_SERVER_SETTINGS, TEMPORAL_SERVER_VERSION } from './versions';

const SERVER_MODULE = 'go.temporal.io/server';
const PACKAGES = [
  `${SERVER_MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
  `${SERVER_MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
];

/** The server's binaries and the files of its release they need (schemas, config template). */
export interface TemporalServerInstall {
  dir: string;
  server: string;
  sqlTool: string;
  /** `schema/postgresql/v12` of the release: `temporal/versioned`, `visibility/versioned`. */
  schemaDir: string;
  /** Holds `config/docker.yaml`, the template the server renders from environment variables. */
  rootDir: string;
}

/** Beside the Temporal CLI's build, outside the repository, so clones and CI runs share one build. */
export function temporalServerCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'social-media-cache', `temporal-server-v${TEMPORAL_SERVER_VERSION}`);
}

function installAt(dir: string): TemporalServerInstall {
  return {
    dir,
    server: path.join(dir, 'temporal-server'),
    sqlTool: path.join(dir, 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
    rootDir: dir,
  };
}

function isComplete(install: TemporalServerInstall): boolean {
  return (
    isExecutable(install.server) &&
    isExecutable(install.sqlTool) &&
    fs.existsSync(path.join(install.schemaDir, 'visibility', 'versioned')) &&
    fs.existsSync(path.join(install.rootDir, 'config', 'docker.yaml'))
  );
}

/**
 * Finds the Temporal server and `temporal-sql-tool` of TEMPORAL_SERVER_VERSION in the cache, or
 * builds both with `go install` (several minutes, once) and copies the release's Postgres
 * schemas and config template beside them, so the Go module cache may be cleaned afterwards.
 */
export async function findOrBuildTemporalServer(log: (line: string) => void): Promise<TemporalServerInstall> {
  const install = installAt(temporalServerCacheDir());
  if (isComplete(install)) return install;
  const go = findGo();
  if (!go) {
    throw new StartupError(
      `no Temporal server in ${install.dir} and no Go toolchain to build one: install Go >= 1.25 ` +
        `(the next run builds ${PACKAGES.join(' and ')} once)`,
    );
  }
  log(
    `Building the Temporal server and temporal-sql-tool v${TEMPORAL_SERVER_VERSION} with Go into ${install.dir} (first run only; takes several minutes)…`,
  );
  const started = Date.now();
  await goInstall({
    go,
    packages: PACKAGES,
    targetDir: install.dir,
    binaries: { server: 'temporal-server', sql: 'temporal-sql-tool' },
    log,
  });
  const { stdout } = await promisify(execFile)(go, ['env', 'GOMODCACHE']);
  const source = path.join(stdout.trim(), `${SERVER_MODULE}@v${TEMPORAL_SERVER_VERSION}`);
  copyReadable(path.join(source, 'schema', 'postgresql', 'v12'), install.schemaDir);
  copyReadable(path.join(source, 'config', 'docker.yaml'), path.join(install.rootDir, 'config', 'docker.yaml'));
  log(`Built the Temporal server in ${Math.round((Date.now() - started) / 1000)} s: ${install.server}`);
  return install;
}

/** Copies from the Go module cache (read-only files) and makes the copy writable, so it can be removed. */
function copyReadable(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true });
  const chmod = (p: string) => {
    const stat = fs.statSync(p);
    fs.chmodSync(p, stat.mode | 0o200);
    if (stat.isDirectory()) for (const entry of fs.readdirSync(p)) chmod(path.join(p, entry));
  };
  chmod(to);
}

/** Where the server's Postgres is, as temporal-sql-tool and the config template take it. */
export interface TemporalPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
}

export const TEMPORAL_DATABASE = 'temporal';
export const TEMPORAL_VISIBILITY_DATABASE = 'temporal_visibility';

/**
 * What docker-compose.yml's `temporal-schema` service does: creates both databases when missing,
 * sets up the base schema on an empty one, then upgrades each to the release's newest version.
 */
export async function setupTemporalSchemas(
  install: TemporalServerInstall,
  pg: TemporalPostgres,
  log: (line: string) => void,
): Promise<void> {
  const run = async (args: string[], { mayFail }: { mayFail: boolean }) => {
    try {
      await promisify(execFile)(
        install.sqlTool,
        [
          '--plugin',
          TEMPORAL_SERVER_SETTINGS.DB,
          '--ep',
          pg.host,
          '--port',
          String(pg.port),
          '--user',
          pg.user,
          '--password',
          pg.password,
          ...args,
        ],
        {
          maxBuffer: 16 * 2 ** 20,
        },
      );
    } catch (err) {
      if (!mayFail) {
        const detail = (err as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' | ');
        throw new StartupError(`temporal-sql-tool ${args.join(' ')} failed: ${detail || String(err)}`);
      }
    }
  };
  for (const [database, schema] of [
    [TEMPORAL_DATABASE, 'temporal'],
    [TEMPORAL_VISIBILITY_DATABASE, 'visibility'],
  ] as const) {
    // Both fail harmlessly when the database or its schema exists already; the update then says.
    await run(['--db', database, 'create-database'], { mayFail: true });
    await run(['--db', database, 'setup-schema', '-v', '0.0'], { mayFail: true });
    await run(['--db', database, 'update-schema', '-d', path.join(install.schemaDir, schema, 'versioned')], {
      mayFail: false,
    });
    log(`Temporal schema ready in database ${database}`);
  }
}

/** The ports one server listens on; all but the frontend are internal. */
export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/**
 * The frontend on `frontend` (a free port when omitted), every internal port free. Temporal's
 * SQL schema keeps membership ports in a `smallint`, so every port is below 32768 (the OS's
 * ephemeral ports are above it: "value out of range for type smallint").
 */
export async function pickTemporalServerPorts(frontend?: number): Promise<TemporalServerPorts> {
  const names = [
    'frontendHttp',
    'frontendMembership',
    'history',
    'historyMembership',
    'matching',
    'matchingMembership',
    'worker',
    'workerMembership',
  ] as const;
  const taken = new Set<number>();
  const pick = async () => {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      if (!taken.has(port) && (await canListen(port))) {
        taken.add(port);
        return port;
      }
    }
  };
  const ports: Partial<TemporalServerPorts> = { frontend: frontend ?? (await pick()) };
  for (const name of names) ports[name] = await pick();
  return ports as TemporalServerPorts;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The environment compose gives the `temporal` service (TEMPORAL_SERVER_SETTINGS, Postgres,
 * the dynamic config file), with loopback addresses and this machine's ports.
 */
export function temporalServerEnvironment(
  pg: TemporalPostgres,
  ports: TemporalServerPorts,
  repoRoot: string,
): Record<string, string> {
  return {
    ...TEMPORAL_SERVER_SETTINGS,
    DB_PORT: String(pg.port),
    POSTGRES_PORT: String(pg.port),
    POSTGRES_SEEDS: pg.host,
    POSTGRES_USER: pg.user,
    POSTGRES_PWD: pg.password,
    BIND_ON_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    DYNAMIC_CONFIG_FILE_PATH: path.join(repoRoot, TEMPORAL_DYNAMIC_CONFIG_FILE),
    LOG_LEVEL: 'warn',
    FRONTEND_GRPC_PORT: String(ports.frontend),
    FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
    HISTORY_GRPC_PORT: String(ports.history),
    HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
    MATCHING_GRPC_PORT: String(ports.matching),
    MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
    WORKER_GRPC_PORT: String(ports.worker),
    WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
  };
}

export interface TemporalServerProcess {
  address: string;
  pid: number | undefined;
  /** SIGTERM, then SIGKILL after 15 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** Servers of this process; killed when it exits, however it exits. */
const servers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of servers) child.kill('SIGKILL');
});

/**
 * Starts `temporal-server --env docker start` on the release's config template, rendered by the
 * server from `env` (see temporalServerEnvironment), and waits until the frontend says SERVING.
 */
export async function startTemporalServer(options: {
  install: TemporalServerInstall;
  env: Record<string, string>;
  onLog?: (line: string) => void;
  startTimeoutMs?: number;
}): Promise<TemporalServerProcess> {
  const port = Number(options.env.FRONTEND_GRPC_PORT);
  if (await isListening(port)) {
    throw new StartupError(
      `port ${port} (the Temporal frontend) is already in use: stop what listens there or choose another TEMPORAL_PORT`,
    );
  }
  const child = spawn(
    options.install.server,
    ['--root', options.install.rootDir, '--config', 'config', '--env', 'docker', '--allow-no-auth', 'start'],
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches only our process, which stops the server after the workers.
      detached: true,
    },
  );
  servers.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => servers.delete(child));
  const recent = followOutput(child, options.onLog);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const address = `127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`exited with ${child.exitCode ?? child.signalCode}: ${recent.slice(-3).join(' | ')}`);
        }
        return isServing(address);
      },
      {
        timeoutMs: options.startTimeoutMs ?? 120_000,
        intervalMs: 250,
        what: `the Temporal server at ${address} to serve`,
      },
    );
  } catch (err) {
    await stop();
    throw new StartupError(`the Temporal server did not start: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { address, pid: child.pid, stop };
}

/** True once the frontend answers its health check (what compose's healthcheck asks). */
export async function isServing(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  if (!(await isListening(Number(port), host))) return false;
  const { Connection } = await import('@temporalio/client');
  try {
    const connection = await Connection.connect({ address, connectTimeout: 2_000 });
    try {
      return await connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' }).then(
        (r) => r.status === 1,
        () => false,
      );
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}
