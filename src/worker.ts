import { loadConfig } from './config';
import { Lifecycle } from './boot/lifecycle';
import { createLogger } from './boot/logger';
import { metaClientFromConfig, requireTokenKeys } from './meta/from-config';
import { runMain } from './boot/run-main';
import { provideDatabase, provideTemporal } from './boot/providers';
import { runWorker } from './temporal/worker';

/** `npm run worker`: one Temporal worker against DATABASE_URL and TEMPORAL_ADDRESS; run as many as needed. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  const lifecycle = new Lifecycle(logger);
  lifecycle.handleSignals();
  try {
    const database = await provideDatabase(config, logger, lifecycle);
    const temporal = provideTemporal(config);
    const tokenKeys = requireTokenKeys(config);
    const meta = metaClientFromConfig(config, logger);
    await runWorker(config, logger, lifecycle, {
      db: database.db,
      address: temporal.address,
      tls: temporal.tls,
      meta,
      tokenKeys,
    });
    logger.info({ temporal: temporal.address }, 'worker running');
  } catch (err) {
    await lifecycle.shutdown('startup failed');
    throw err;
  }
}

runMain(main);
