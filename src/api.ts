import { loadConfig } from './config';
import { Lifecycle } from './boot/lifecycle';
import { createLogger } from './boot/logger';
import { runMain, StartupError } from './boot/run-main';
import { requireTokenKeys } from './meta/from-config';
import { runApi } from './api/server';
import { provideDatabase, provideTemporal } from './boot/providers';

/** `npm run api`: the read API alone, against DATABASE_URL and TEMPORAL_ADDRESS. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  const lifecycle = new Lifecycle(logger);
  lifecycle.handleSignals();
  try {
    const database = await provideDatabase(config, logger, lifecycle);
    const temporal = provideTemporal(config);
    if (!config.readApiKeys.length && !config.adminApiKeys.length) {
      throw new StartupError(
        'set READ_API_KEYS and/or ADMIN_API_KEYS: without keys every route but the health checks answers 401',
      );
    }
    const tokenKeys = requireTokenKeys(config);
    const url = await runApi(config, logger, lifecycle, {
      db: database.db,
      address: temporal.address,
      tls: temporal.tls,
      tokenKeys,
    });
    logger.info({ url, temporal: temporal.address }, 'API listening');
  } catch (err) {
    await lifecycle.shutdown('startup failed');
    throw err;
  }
}

runMain(main);
