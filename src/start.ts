import fs from 'node:fs';
import { decodeKey, loadConfig } from './config';
import { loadOrCreateLocalSecrets } from './local-secrets';
import { ClientStore } from './stores/clients';
import { Lifecycle } from './lifecycle';
import { createLogger } from './logger';
import { runMain } from './main';
import { runApi } from './api/server';
import { provideDatabase, provideLocalMeta, provideTemporal, seedDemoClients } from './services';
import { runWorker } from './temporal/worker';

/** `npm start`: Postgres, Temporal with its Web UI, migrations, the worker and the API in one process. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const lifecycle = new Lifecycle(logger);
  lifecycle.handleSignals();
  fs.mkdirSync(config.dataDir, { recursive: true });
  try {
    const database = await provideDatabase(config, logger, lifecycle, { embedded: true });
    const secrets = loadOrCreateLocalSecrets(config.dataDir);
    const tokenKey = config.tokenEncryptionKey ?? decodeKey(secrets.tokenEncryptionKey)!;
    const metaService = await provideLocalMeta(config, logger, lifecycle);
    if (metaService.sandboxUrl) await seedDemoClients(new ClientStore(database.db, tokenKey), logger);
    const temporal = await provideTemporal(config, logger, lifecycle, { devServer: true });
    await runWorker(config, logger, lifecycle, { db: database.db, address: temporal.address, meta: metaService.meta, tokenKey });
    const apiUrl = await runApi(config, logger, lifecycle, { db: database.db, address: temporal.address });
    process.stdout.write(
      [
        '',
        'social-media-cache is running',
        `  API:          ${apiUrl}   (try ${apiUrl}/readyz)`,
        `  Temporal UI:  ${temporal.uiUrl ?? `(external Temporal at ${temporal.address})`}`,
        `  Postgres:     ${database.description}`,
        `  Meta:         ${metaService.sandboxUrl ? `Graph sandbox at ${metaService.sandboxUrl} (demo data; META_MODE=live for Meta)` : 'live Graph API'}`,
        'Press Ctrl-C to stop; data is kept in DATA_DIR for the next start.',
        '',
      ].join('\n') + '\n',
    );
  } catch (err) {
    await lifecycle.shutdown('startup failed');
    throw err;
  }
}

runMain(main);
