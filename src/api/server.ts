import type { Config, TemporalTls } from '../config';
import type { TokenKeyring } from '../crypto';
import type { Db } from '../db';
import type { Lifecycle } from '../boot/lifecycle';
import type { Logger } from '../boot/logger';
import { StartupError } from '../boot/run-main';
import { createTemporalClient } from '../temporal/client';
import { createApp } from './app';
import { closeGracefully, createHttpServer } from './http-server';

/** Serves the API until the lifecycle stops it. */
export async function runApi(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
  {
    db,
    address,
    tls,
    tokenKeys,
    demo,
  }: { db: Db; address: string; tls?: TemporalTls; tokenKeys?: TokenKeyring; demo?: boolean },
): Promise<string> {
  const temporal = createTemporalClient(address, config.temporal.namespace, tls);
  lifecycle.add('temporal client', () => temporal.connection.close());
  const app = createApp({ config, db, temporal, logger, tokenKeys, demo });
  const server = createHttpServer(app);
  await new Promise<void>((resolve, reject) => {
    server.listen(config.port, config.host, () => resolve());
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new StartupError(`port ${config.port} (PORT) is already in use; choose another PORT`)
          : err,
      ),
    );
  });
  // Stops accepting at once; requests in flight get SHUTDOWN_GRACE to finish (a retried POST
  // of one whose answer was cut off could otherwise add a client twice).
  lifecycle.add(
    'api',
    async () => {
      const { cutOff } = await closeGracefully(server, config.shutdownGraceMs);
      if (cutOff)
        logger.warn(
          { cutOff, graceMs: config.shutdownGraceMs },
          'requests still running after SHUTDOWN_GRACE were cut off',
        );
    },
    config.shutdownGraceMs + 5_000,
  );
  return `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
}
