import { createStores } from '../stores';
import fs from 'node:fs';
import path from 'node:path';
import { Config, decodeKey, loadConfig } from '../config';
import { createKeyring } from '../crypto';
import { loadOrCreateLocalSecrets } from './local-secrets';
import { createTemporalClient } from '../temporal/client';
import { startManualCycle } from '../temporal/cycles';
import type { Db } from '../db';
import { Lifecycle } from '../boot/lifecycle';
import { createLogger, Logger } from '../boot/logger';
import { runMain } from '../boot/run-main';
import { runApi } from '../api/server';
import { provideLocalDatabase, provideLocalMeta, provideLocalTemporal, seedDemoClients } from './providers';
import { runWorker } from '../temporal/worker';

/** `npm start`: Postgres, Temporal with its Web UI, migrations, the worker and the API in one process. */
async function main(): Promise<void> {
  const loaded = loadConfig();
  const logger = createLogger(loaded.logLevel, undefined, loaded.logFormat);
  const lifecycle = new Lifecycle(logger);
  lifecycle.handleSignals();
  fs.mkdirSync(loaded.dataDir, { recursive: true });
  // A laptop needs no setup: keys not given in the environment are made once and kept in DATA_DIR.
  const secrets = loadOrCreateLocalSecrets(loaded.dataDir);
  const config = {
    ...loaded,
    readApiKeys: loaded.readApiKeys.length ? loaded.readApiKeys : [secrets.readApiKey],
    adminApiKeys: loaded.adminApiKeys.length ? loaded.adminApiKeys : [secrets.adminApiKey],
    tokenKeys: loaded.tokenKeys ?? createKeyring(decodeKey(secrets.tokenEncryptionKey)!),
  };
  try {
    const database = await provideLocalDatabase(config, logger, lifecycle);
    const { tokenKeys } = config;
    const metaService = await provideLocalMeta(config, logger, lifecycle);
    if (metaService.sandboxUrl) await seedDemoClients(createStores(database.db, tokenKeys).clients, logger);
    const temporal = await provideLocalTemporal(config, logger, lifecycle);
    await runWorker(config, logger, lifecycle, {
      db: database.db,
      address: temporal.address,
      tls: temporal.tls,
      meta: metaService.meta,
      tokenKeys,
    });
    if (metaService.sandboxUrl)
      await runFirstDemoCycle(
        database.db,
        { address: temporal.address, namespace: config.temporal.namespace, refresh: config.refresh },
        lifecycle,
        logger,
      );
    const apiUrl = await runApi(config, logger, lifecycle, {
      db: database.db,
      address: temporal.address,
      tls: temporal.tls,
      tokenKeys,
      demo: !!metaService.sandboxUrl,
    });
    process.stdout.write(
      [
        '',
        'social-media-cache is running',
        `  API:          ${apiUrl}   (try ${apiUrl}/readyz)`,
        `  Status page:  ${apiUrl}/status   (user: anything, password: the admin key)`,
        `  Temporal UI:  ${temporal.uiUrl ?? `(external Temporal at ${temporal.address})`}`,
        `  Postgres:     ${database.description}`,
        `  Meta:         ${metaService.sandboxUrl ? `Graph sandbox at ${metaService.sandboxUrl} (demo data; META_MODE=live for Meta)` : 'live Graph API'}`,
        ...(loaded.adminApiKeys.length ? [] : [`  Admin key:    ${secrets.adminApiKey}`]),
        ...(loaded.readApiKeys.length ? [] : [`  Read key:     ${secrets.readApiKey}`]),
        ...(loaded.adminApiKeys.length && loaded.readApiKeys.length
          ? []
          : [`                (made on first start, kept in ${path.join(config.dataDir, 'local-secrets.json')})`]),
        `  Try:          curl -H "Authorization: Bearer <key>" ${apiUrl}/api/clients`,
        ...(metaService.sandboxUrl
          ? [
              `  Real clients: start with META_MODE=live before adding them (META_MODE=live npm start); the sandbox`,
              `                does not know real tokens: their refreshes report sandbox_unknown_token and get no numbers`,
            ]
          : [
              `  Add a client: npm run cli -- clients add --name "Acme" --page-id <page id> [--instagram-id <id>] --token-stdin`,
            ]),
        'Press Ctrl-C to stop; data is kept in DATA_DIR for the next start.',
        '',
      ].join('\n') + '\n',
    );
  } catch (err) {
    await lifecycle.shutdown('startup failed');
    throw err;
  }
}

/** On the first start with demo clients, one cycle runs at once instead of at the next 3-hour mark. */
async function runFirstDemoCycle(
  db: Db,
  { address, namespace, refresh }: { address: string; namespace: string; refresh: Config['refresh'] },
  lifecycle: Lifecycle,
  logger: Logger,
): Promise<void> {
  if ((await createStores(db).refresh.recentCycles(1)).length) return;
  const temporal = createTemporalClient(address, namespace);
  lifecycle.add('temporal client (first cycle)', () => temporal.connection.close());
  const workflowId = await startManualCycle(temporal, refresh);
  logger.info({ workflowId }, 'first start: started a refresh cycle for the demo clients');
}

runMain(main);
