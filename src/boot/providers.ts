import type { Config, TemporalTls } from '../config';
import { assertDatabaseReachable, createDb, Db, describeDatabaseUrl, migrateLatest } from '../db';
import type { Lifecycle } from './lifecycle';
import type { Logger } from './logger';
import { StartupError } from './run-main';

/** What a production process (API, worker) connects to; `npm start`'s local variants are in src/dev/providers.ts. */

export interface DatabaseService {
  db: Db;
  url: string;
  /** How the operator sees it: the URL without password, and whether it is embedded. */
  description: string;
}

/** Opens the database at `url` (DATABASE_URL, or an embedded one's) and migrates it to the newest schema. */
export async function openDatabase(
  url: string,
  description: string,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<DatabaseService> {
  const db = createDb(url, { logger });
  // A short wait: after SHUTDOWN_GRACE a query of a cut-off request may still hold a connection,
  // and the process is about to exit anyway.
  lifecycle.add('database pool', () => db.destroy(), 3_000);
  await assertDatabaseReachable(db, url);
  const applied = await migrateLatest(db);
  if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
  return { db, url, description };
}

/** The database of DATABASE_URL, migrated to the newest schema. */
export async function provideDatabase(config: Config, logger: Logger, lifecycle: Lifecycle): Promise<DatabaseService> {
  const url = config.databaseUrl;
  if (!url) throw new StartupError('DATABASE_URL is required (npm start runs an embedded Postgres instead)');
  return openDatabase(url, describeDatabaseUrl(url), logger, lifecycle);
}

export interface TemporalService {
  address: string;
  uiUrl?: string;
  /** TLS to an external frontend (TEMPORAL_TLS_*); the dev server speaks plain gRPC on loopback. */
  tls?: TemporalTls;
}

/** The Temporal frontend of TEMPORAL_ADDRESS (or 127.0.0.1:TEMPORAL_PORT), with TEMPORAL_TLS_*. */
export function provideTemporal(config: Config): TemporalService {
  return {
    address: config.temporal.address ?? `127.0.0.1:${config.temporal.port}`,
    ...(config.temporal.tls ? { tls: config.temporal.tls } : {}),
  };
}
