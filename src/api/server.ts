import type { Config, TemporalTls } from '../config';
import type { TokenKeyring } from '../crypto';
import type { Db } from '../db';
import type { Lifecycle } from '../lifecycle';
import type { Logger } from '../logger';
import { StartupError } from '../main';
import { createTemporalClient } from '../temporal/client';
import { createApp } from './app';
import { createHttpServer } from './http-server';

/** Serves the API until the lifecycle stops it. */
export async function runApi(
  config: Config,
  logger: Logger,
  lifecycle: Lifecycle,
  { db, address, tls, tokenKeys, demo }: { db: Db; address: string; tls?: TemporalTls; tokenKeys?: TokenKeyring; demo?: boolean },
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
  lifecycle.add('api', () => new Promise<void>((resolve) => server.close(() => resolve())));
  // Keep-alive connections would hold close() open until they time out.
  lifecycle.add('api connections', () => server.closeAllConnections());
  return `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`;
}

