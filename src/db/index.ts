import fs from 'node:fs';
import path from 'node:path';
import knex, { Knex } from 'knex';
import { Client, ClientConfig } from 'pg';
import type { Logger } from '../boot/logger';
import { StartupError } from '../boot/run-main';

export type Db = Knex;

const MIGRATIONS_DIR = path.join(__dirname, '..', '..', 'migrations');

/** knex over pg; the pool fails acquisitions fast so a dead database is noticed quickly. */
export function createDb(
  databaseUrl: string,
  options: { poolMax?: number; acquireTimeoutMs?: number; logger?: Logger } = {},
): Db {
  const log = options.logger?.child({ component: 'knex' });
  return knex({
    // knex prints pool and connection errors with console.log unless given a logger.
    log: {
      warn: (message: unknown) => log?.warn(String(message)),
      error: (message: unknown) => log?.error(String(message)),
      deprecate: (method: string, alternative: string) => log?.warn(`${method} is deprecated, use ${alternative}`),
      debug: (message: unknown) => log?.debug(String(message)),
    },
    client: 'pg',
    connection: { connectionString: databaseUrl, connectionTimeoutMillis: 5_000 },
    pool: { min: 0, max: options.poolMax ?? 10, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: options.acquireTimeoutMs ?? 10_000,
    migrations: migrationConfig(),
  });
}

const MIGRATION_FILE = /^\d{14}_\w+\.(ts|js)$/;

/**
 * Migrations by name without extension: `npm run migrate` from the TypeScript sources and the
 * compiled image (`.js`) must record the same names, or knex calls the directory corrupt.
 */
class MigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    const files = fs.readdirSync(MIGRATIONS_DIR).filter((f) => MIGRATION_FILE.test(f) && !f.endsWith('.d.ts'));
    return [...new Set(files.map((f) => f.replace(/\.(ts|js)$/, '')))].sort();
  }

  getMigrationName(migration: string): string {
    return migration;
  }

  async getMigration(migration: string): Promise<Knex.Migration> {
    const file = ['.js', '.ts'].map((ext) => path.join(MIGRATIONS_DIR, migration + ext)).find((f) => fs.existsSync(f))!;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- migrations are found by path at run time
    return require(file) as Knex.Migration;
  }
}

/** Where migrations live and how they are loaded, from TypeScript sources or the build. */
export function migrationConfig(): Knex.MigratorConfig {
  return { tableName: 'knex_migrations', migrationSource: new MigrationSource() };
}

/** The advisory lock key that serialises migrations across processes (any constant bigint). */
const MIGRATION_LOCK_KEY = 7_214_093_518;

/**
 * Brings the schema to the newest migration; returns the names of those applied now.
 *
 * Workers and APIs of the production topology start together and each migrates at boot. knex's
 * own lock table is created with a check-then-create, so two processes on an empty database race
 * ("relation knex_migrations_lock already exists") and the loser exits. A Postgres advisory lock,
 * held on a connection of its own, makes the second process wait for the first and then find
 * nothing left to apply.
 */
export async function migrateLatest(db: Db): Promise<string[]> {
  const lock = new Client(lockConnection(db));
  // A connection lost while the lock is held fails the migration through knex, not the process.
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    // Databases migrated before names lost their extension keep working.
    if (await db.schema.hasTable('knex_migrations')) {
      await db('knex_migrations')
        .update({ name: db.raw("regexp_replace(name, '\\.(ts|js)$', '')") })
        .whereRaw("name ~ '\\.(ts|js)$'");
    }
    const [, applied] = (await db.migrate.latest(migrationConfig())) as [number, string[]];
    return applied;
  } finally {
    // Closing the session releases the lock too; the explicit unlock just makes it prompt.
    await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.end().catch(() => undefined);
  }
}

function lockConnection(db: Db): ClientConfig {
  const connection = (db.client as { config: Knex.Config }).config.connection;
  if (typeof connection === 'string') return { connectionString: connection };
  return connection as ClientConfig;
}

/** Redacts the password of a connection URL for messages and logs. */
export function describeDatabaseUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** Fails fast, in one line, when the database cannot be reached at boot. */
export async function assertDatabaseReachable(db: Db, databaseUrl: string): Promise<void> {
  try {
    await db.raw('select 1');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new StartupError(`cannot reach Postgres at ${describeDatabaseUrl(databaseUrl)}: ${reason}`);
  }
}

/** Answers whether Postgres serves a query within `timeoutMs`. */
export async function pingDatabase(
  db: Db,
  timeoutMs = 2_000,
): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.raw('select 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Date.now() - started };
  } catch (err) {
    return { ok: false, latencyMs: Date.now() - started, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
