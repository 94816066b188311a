import fs from 'node:fs';
import path from 'node:path';
import knex, { Knex } from 'knex';
import type { Logger } from '../logger';
import { StartupError } from '../main';

export type Db = Knex;

const MIGRATIONS_DIR = path.join(__dirname, '..', '..', 'migrations');

/** knex over pg; the pool fails acquisitions fast so a dead database is noticed quickly. */
export function createDb(databaseUrl: string, options: { poolMax?: number; logger?: Logger } = {}): Db {
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
    acquireConnectionTimeout: 10_000,
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

/** Brings the schema to the newest migration; returns the names of those applied now. */
export async function migrateLatest(db: Db): Promise<string[]> {
  // Databases migrated before names lost their extension keep working.
  if (await db.schema.hasTable('knex_migrations')) {
    await db('knex_migrations').update({ name: db.raw("regexp_replace(name, '\\.(ts|js)$', '')") }).whereRaw("name ~ '\\.(ts|js)$'");
  }
  const [, applied] = (await db.migrate.latest(migrationConfig())) as [number, string[]];
  return applied;
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
export async function pingDatabase(db: Db, timeoutMs = 2_000): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
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
