import { loadConfig } from './config';
import { Lifecycle } from './lifecycle';
import { createLogger } from './logger';
import { runMain } from './main';
import { provideDatabase } from './services';

/**
 * `npm run migrate`: brings DATABASE_URL (or, when unset, the embedded database of `npm start`)
 * to the newest schema, then exits.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  const lifecycle = new Lifecycle(logger);
  try {
    await provideDatabase(config, logger, lifecycle, { embedded: true });
    logger.info('database schema is up to date');
  } finally {
    await lifecycle.shutdown('done');
  }
}

runMain(main);
