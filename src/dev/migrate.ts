import { loadConfig } from '../config';
import { Lifecycle } from '../boot/lifecycle';
import { createLogger } from '../boot/logger';
import { runMain } from '../boot/run-main';
import { provideLocalDatabase } from './providers';

/**
 * `npm run migrate`: brings DATABASE_URL (or, when unset, the embedded database of `npm start`)
 * to the newest schema, then exits.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  const lifecycle = new Lifecycle(logger);
  try {
    await provideLocalDatabase(config, logger, lifecycle);
    logger.info('database schema is up to date');
  } finally {
    await lifecycle.shutdown('done');
  }
}

runMain(main);
