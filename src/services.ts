import path from 'node:path';
import type { Config, TemporalTls } from './config';
import { assertDatabaseReachable, createDb, Db, describeDatabaseUrl, migrateLatest } from './db';
import { ensureDatabase, startEmbeddedPostgres } from './db/embedded';
import type { Lifecycle } from './lifecycle';
import type { Logger } from './logger';
import { createMetaClient } from './meta/client';
import { metaClientFromConfig } from './meta/from-config';
import type { MetaClient } from './meta/types';
import { DEMO_ACCOUNTS, startGraphSandbox } from './meta-sandbox';
import type { ClientStore } from './stores/clients';
import { StartupError } from './main';
import { findOrBuildTemporalCli, NO_TEMPORAL_CLI_MESSAGE } from './temporal/cli-binary';
import { startTemporalDevServer } from './temporal/dev-server';

/** Name of the database the embedded Postgres serves. */
export const EMBEDDED_DATABASE = 'social_media_cache';

export interface DatabaseService {
  db: Db;
  url: string;
  /** How the operator sees it: the URL without password, and whether it is embedded. */
  description: string;
}

/**
 * Opens the database of DATABASE_URL, or (when `embedded` is allowed) an embedded Postgres in
 * DATA_DIR/postgres; migrates it to the newest schema.
 */
export async function provideDatabase(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
  { embedded }: { embedded: boolean },
): Promise<DatabaseService> {
  let url = config.databaseUrl;
  let description: string;
  if (url) {
    description = describeDatabaseUrl(url);
  } else if (embedded) {
    const dir = path.join(config.dataDir, 'postgres');
    logger.info({ dir }, 'starting embedded Postgres');
    const server = await startEmbeddedPostgres({
      dir,
      port: config.postgresPort,
      onLog: (line) => logger.debug({ component: 'postgres' }, line),
    });
    lifecycle.add('postgres', () => server.stop());
    await ensureDatabase(server.adminUrl, EMBEDDED_DATABASE);
    url = server.urlFor(EMBEDDED_DATABASE);
    description = `${describeDatabaseUrl(url)} (embedded, data in ${path.resolve(dir)})`;
  } else {
    throw new StartupError('DATABASE_URL is required (npm start runs an embedded Postgres instead)');
  }
  const db = createDb(url, { logger });
  lifecycle.add('database pool', () => db.destroy());
  await assertDatabaseReachable(db, url);
  const applied = await migrateLatest(db);
  if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
  return { db, url, description };
}

export interface TemporalService {
  address: string;
  uiUrl?: string;
  /** TLS to an external frontend (TEMPORAL_TLS_*); the dev server speaks plain gRPC on loopback. */
  tls?: TemporalTls;
}

/**
 * Uses TEMPORAL_ADDRESS, or (when `devServer` is allowed) runs a Temporal CLI dev server that
 * keeps its state in DATA_DIR/temporal.db and serves the Web UI on TEMPORAL_UI_PORT.
 */
export async function provideTemporal(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
  { devServer }: { devServer: boolean },
): Promise<TemporalService> {
  if (config.temporal.address || !devServer) {
    return { address: config.temporal.address ?? `127.0.0.1:${config.temporal.port}`, ...(config.temporal.tls ? { tls: config.temporal.tls } : {}) };
  }
  const binary = await findOrBuildTemporalCli({
    cliPath: config.temporal.cliPath,
    log: (line) => logger.info({ component: 'temporal-cli-build' }, line),
  });
  if (!binary) throw new StartupError(NO_TEMPORAL_CLI_MESSAGE);
  logger.info({ binary }, 'starting the Temporal dev server');
  const server = await startTemporalDevServer({
    binary,
    port: config.temporal.port,
    uiPort: config.temporal.uiPort,
    dbFile: path.join(config.dataDir, 'temporal.db'),
    namespace: config.temporal.namespace,
    onLog: (line) => logger.debug({ component: 'temporal-server' }, line),
  });
  lifecycle.add('temporal dev server', () => server.stop());
  return { address: server.address, uiUrl: server.uiUrl };
}

export interface MetaService {
  meta: MetaClient;
  /** Set when the numbers come from the built-in Graph sandbox. */
  sandboxUrl?: string;
}

/**
 * The Meta client of `npm start`: the built-in Graph sandbox (on a free loopback port) unless
 * META_MODE=live, so a laptop shows plausible numbers without any Meta app.
 */
export async function provideLocalMeta(config: Config, logger: Logger, lifecycle: Lifecycle): Promise<MetaService> {
  const mode = config.meta.mode ?? 'sandbox';
  if (mode === 'live') return { meta: metaClientFromConfig(config, logger) };
  const graphUrl = config.meta.graphUrl;
  if (graphUrl) return { meta: metaClientFromConfig({ ...config, meta: { ...config.meta, mode: 'sandbox' } }, logger), sandboxUrl: graphUrl };
  const sandbox = await startGraphSandbox({ logger: logger.child({ component: 'graph-sandbox' }) });
  lifecycle.add('graph sandbox', () => sandbox.close());
  logger.warn({ sandbox: sandbox.url }, 'DEMO MODE: Meta numbers come from the built-in Graph sandbox (set META_MODE=live for Meta)');
  const meta = createMetaClient({
    graphUrl: sandbox.url,
    graphVersion: config.meta.graphVersion,
    timeoutMs: config.meta.timeoutMs,
    logger,
    sandbox: true,
  });
  return { meta, sandboxUrl: sandbox.url };
}

/** Adds the sandbox's demo Pages as clients when the database has no client yet. */
export async function seedDemoClients(clients: ClientStore, logger: Logger): Promise<number> {
  if ((await clients.list()).length) return 0;
  for (const account of DEMO_ACCOUNTS) {
    await clients.create({
      name: `${account.name} (demo)`,
      facebookPageId: account.pageId,
      instagramAccountId: account.igId,
      accessToken: account.token,
      timezone: account.timezone,
    });
  }
  logger.info({ clients: DEMO_ACCOUNTS.length }, 'seeded demo clients from the Graph sandbox');
  return DEMO_ACCOUNTS.length;
}
