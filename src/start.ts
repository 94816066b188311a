import fs from 'node:fs';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { REFRESH_SCHEDULE_ID } from '../workflows/definitions';
import { decodeKey, loadConfig } from './config';
import { loadOrCreateLocalSecrets } from './local-secrets';
import { ClientStore } from './stores/clients';
import { RefreshStore } from './stores/refresh';
import { createTemporalClient } from './temporal/client';
import type { Db } from './db';
import { Lifecycle } from './lifecycle';
import { createLogger, Logger } from './logger';
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
    if (metaService.sandboxUrl) await runFirstDemoCycle(database.db, temporal.address, config.temporal.namespace, lifecycle, logger);
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

/** On the first start with demo clients, one cycle runs at once instead of at the next 3-hour mark. */
async function runFirstDemoCycle(db: Db, address: string, namespace: string, lifecycle: Lifecycle, logger: Logger): Promise<void> {
  if ((await new RefreshStore(db).recentCycles(1)).length) return;
  const temporal = createTemporalClient(address, namespace);
  lifecycle.add('temporal client (first cycle)', () => temporal.connection.close());
  await temporal.schedule.getHandle(REFRESH_SCHEDULE_ID).trigger(ScheduleOverlapPolicy.SKIP);
  logger.info('first start: triggered a refresh cycle for the demo clients');
}

runMain(main);
