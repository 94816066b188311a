import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';
import { StartupError } from '../boot/run-main';
import { followOutput, isListening, waitFor } from '../net';

export interface TemporalDevServerOptions {
  binary: string;
  ip?: string;
  port: number;
  /** Web UI port; headless when omitted. */
  uiPort?: number;
  /** SQLite file that keeps workflows across restarts. */
  dbFile: string;
  namespace: string;
  /** Extra `--dynamic-config-value KEY=JSON` pairs, over DEV_SERVER_DYNAMIC_CONFIG. */
  dynamicConfig?: Record<string, unknown>;
  onLog?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface TemporalDevServer {
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/**
 * A dev server has one history shard, and each of its task queues is read at most
 * `…MaxPollRPS` (20) times a second, so with the defaults every hop waits for the next read:
 * - timers fire about a second late (`timerProcessorMaxTimeShift` 1 s): a 10 ms `sleep` took
 *   1.01 s, a 300 ms one 1.02 s; with the shift at 10 ms and 1,000 reads/s, 26 ms and 316 ms;
 * - every activity or workflow task waits up to 50 ms before it is handed to a worker: a
 *   workflow running 20 no-op activities took 100 ms per activity, 14 ms with 1,000 reads/s.
 * Visibility reads follow, so a list query sees a new run sooner.
 */
export const TEMPORAL_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = {
  'history.timerProcessorMaxTimeShift': '10ms',
  'history.timerProcessorMaxPollRPS': 1000,
  'history.transferProcessorMaxPollRPS': 1000,
  'history.visibilityProcessorMaxPollRPS': 1000,
  // A regular activity scheduled by a workflow task goes back to the same worker with the task's
  // answer instead of through the task queue (the few left: cycles' database activities).
  'system.enableActivityEagerExecution': true,
  // The CLI turns this on so a search attribute added a moment ago is seen at once; ours are
  // registered at start (`--search-attribute`), and the refresh on every read costs each start.
  'system.forceSearchAttributesCacheRefreshOnRead': false,
};

/**
 * The dev server's: the settings production shares (deploy/temporal/dynamicconfig.yaml, held
 * equal by a test), and one task-queue partition — one process, one worker group, nothing to
 * forward between partitions. Production keeps the default four, for several workers.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = {
  ...TEMPORAL_DYNAMIC_CONFIG,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
};

/**
 * The dev server keeps everything in one SQLite file and is bound by its writes. A write-ahead
 * log with `synchronous=normal` (safe against a crashed process; only a power cut can lose the
 * last transactions) took 200 workflows of two activities from 25 to 30-39 a second here.
 */
export const DEV_SERVER_SQLITE_PRAGMAS: Readonly<Record<string, string>> = {
  journal_mode: 'wal',
  synchronous: 'normal',
};

/** The same settings as `--dynamic-config-value` flags, for servers started by other means. */
export function dynamicConfigArgs(config: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(config).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${JSON.stringify(value)}`,
  ]);
}

export { SEARCH_ATTRIBUTES } from '../temporal/search-attributes';

/** Dev servers of this process; killed when it exits, however it exits. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Runs `temporal server start-dev` as a child process and waits until its frontend answers. */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const ip = options.ip ?? '127.0.0.1';
  for (const [port, variable] of [
    [options.port, 'TEMPORAL_PORT'],
    [options.uiPort, 'TEMPORAL_UI_PORT'],
  ] as const) {
    if (port !== undefined && (await isListening(port, ip))) {
      throw new StartupError(
        `port ${port} (${variable}) is already in use. Is another Temporal server running? ` +
          `Use it with TEMPORAL_ADDRESS=${ip}:${options.port}, or choose another ${variable}.`,
      );
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(options.dbFile)), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(options.port),
    '--db-filename',
    options.dbFile,
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTES.flatMap(({ name }) => ['--search-attribute', `${name}=Keyword`]),
    ...(options.uiPort !== undefined ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    ...dynamicConfigArgs({ ...DEV_SERVER_DYNAMIC_CONFIG, ...options.dynamicConfig }),
    ...Object.entries(DEV_SERVER_SQLITE_PRAGMAS).flatMap(([pragma, value]) => [
      '--sqlite-pragma',
      `${pragma}=${value}`,
    ]),
  ];
  const child = spawn(options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const recent = followOutput(child, options.onLog);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  try {
    await waitFor(
      async () => {
        if (exitCode !== undefined) throw new Error(`exited with code ${exitCode}: ${recent.slice(-3).join(' | ')}`);
        return (
          (await isListening(options.port, ip)) &&
          (options.uiPort === undefined || (await isListening(options.uiPort, ip)))
        );
      },
      { timeoutMs: options.startTimeoutMs ?? 60_000, what: 'the Temporal dev server to listen' },
    );
  } catch (err) {
    await stopChild(child, exited);
    throw new StartupError(
      `the Temporal dev server did not start: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  return {
    address: `${ip}:${options.port}`,
    uiUrl: options.uiPort !== undefined ? `http://${ip === '0.0.0.0' ? '127.0.0.1' : ip}:${options.uiPort}` : undefined,
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
