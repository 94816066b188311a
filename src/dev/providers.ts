import path from 'node:path';
import type { Config } from '../config';
import { describeDatabaseUrl } from '../db';
import { DatabaseService, openDatabase, provideDatabase, provideTemporal, TemporalService } from '../boot/providers';
import type { Lifecycle } from '../boot/lifecycle';
import type { Logger } from '../boot/logger';
import { StartupError } from '../boot/run-main';
import { createMetaClient } from '../meta/client';
import { metaClientFromConfig } from '../meta/from-config';
import type { MetaClient } from '../meta/types';
import type { ClientStore } from '../stores/clients';
import { ensureDatabase, startEmbeddedPostgres } from './embedded-postgres';
import { DEMO_ACCOUNTS, startGraphSandbox } from './meta-sandbox';
import { findOrBuildTemporalCli, NO_TEMPORAL_CLI_MESSAGE } from './temporal-cli';
import { startTemporalDevServer } from './temporal-dev-server';

/** What `npm start` runs on a laptop when nothing is configured: embedded Postgres, a Temporal dev server, the Graph sandbox. */

/** Name of the database the embedded Postgres serves. */
export const EMBEDDED_DATABASE = 'social_media_cache';

/** The database of DATABASE_URL, or else an embedded Postgres in DATA_DIR/postgres; migrated to the newest schema. */
export async function provideLocalDatabase(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<DatabaseService> {
  if (config.databaseUrl) return provideDatabase(config, logger, lifecycle);
  const dir = path.join(config.dataDir, 'postgres');
  logger.info({ dir }, 'starting embedded Postgres');
  const server = await startEmbeddedPostgres({
    dir,
    port: config.postgresPort,
    onLog: (line) => logger.debug({ component: 'postgres' }, line),
  });
  lifecycle.add('postgres', () => server.stop());
  await ensureDatabase(server.adminUrl, EMBEDDED_DATABASE);
  const url = server.urlFor(EMBEDDED_DATABASE);
  return openDatabase(url, `${describeDatabaseUrl(url)} (embedded, data in ${path.resolve(dir)})`, logger, lifecycle);
}

/**
 * TEMPORAL_ADDRESS, or else a Temporal CLI dev server that keeps its state in
 * DATA_DIR/temporal.db and serves the Web UI on TEMPORAL_UI_PORT.
 */
export async function provideLocalTemporal(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
): Promise<TemporalService> {
  if (config.temporal.address) return provideTemporal(config);
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
  if (graphUrl)
    return {
      meta: metaClientFromConfig({ ...config, meta: { ...config.meta, mode: 'sandbox' } }, logger),
      sandboxUrl: graphUrl,
    };
  const sandbox = await startGraphSandbox({ logger: logger.child({ component: 'graph-sandbox' }) });
  lifecycle.add('graph sandbox', () => sandbox.close());
  logger.warn(
    { sandbox: sandbox.url },
    'DEMO MODE: Meta numbers come from the built-in Graph sandbox (set META_MODE=live for Meta)',
  );
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
