import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeKey, loadConfig } from '../config';
import { createKeyring } from '../crypto';
import { createDb } from '../db';
import { loadOrCreateLocalSecrets } from './local-secrets';
import { runMain, StartupError } from '../boot/run-main';
import { seedDemoClients } from './providers';
import { createLogger } from '../boot/logger';
import { createStores } from '../stores';
import { startProdStack } from './stack/prod-stack';
import { TEMPORAL_SERVER_VERSION } from './stack/versions';

/**
 * `npm run stack:prod [-- --workers 2 --apis 2]`: the production topology without Docker (the
 * Temporal server on Postgres, compiled workers and APIs) until Ctrl-C.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { workers: { type: 'string', default: '1' }, apis: { type: 'string', default: '1' } },
  });
  const workers = Number(values.workers);
  const apis = Number(values.apis);
  if (!Number.isInteger(workers) || workers < 1 || !Number.isInteger(apis) || apis < 1)
    throw new StartupError('--workers and --apis take a whole number of at least 1', 2);
  const config = loadConfig();
  const dataDir = path.join(config.dataDir, 'prod-stack');
  const secrets = loadOrCreateLocalSecrets(dataDir);
  const keys = {
    readApiKey: config.readApiKeys[0] ?? secrets.readApiKey,
    adminApiKey: config.adminApiKeys[0] ?? secrets.adminApiKey,
    tokenEncryptionKey: process.env.TOKEN_ENCRYPTION_KEY ?? secrets.tokenEncryptionKey,
  };
  const log = (line: string) => process.stderr.write(`[stack] ${line}\n`);
  const started = Date.now();
  // A signal while starting exits at once; the exit hooks kill what was started so far.
  const early = () => process.exit(130);
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  const stack = await startProdStack({
    repoRoot: path.resolve(__dirname, '..', '..'),
    workers,
    apis,
    dataDir,
    databaseUrl: config.databaseUrl,
    temporalPort: config.temporal.address ? undefined : config.temporal.port,
    apiPort: config.port,
    metaMode: config.meta.mode ?? 'sandbox',
    keys,
    log,
  });
  process.off('SIGINT', early);
  process.off('SIGTERM', early);
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    if (stopping) return;
    log(`${signal}: stopping APIs, workers, the Temporal server${config.databaseUrl ? '' : ' and Postgres'}…`);
    stopping = stack.stop().then(() => {
      log('stopped; no process left behind');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  if (stack.sandbox) {
    const db = createDb(stack.databaseUrl);
    try {
      await seedDemoClients(
        createStores(db, createKeyring(decodeKey(keys.tokenEncryptionKey)!)).clients,
        createLogger('warn'),
      );
    } finally {
      await db.destroy();
    }
  }
  process.stdout.write(
    [
      '',
      `production stack is running (${Math.round((Date.now() - started) / 1000)} s): Temporal server ${TEMPORAL_SERVER_VERSION} on Postgres, ${workers} worker(s), ${apis} API(s) from dist/`,
      ...stack.apiUrls.map((url, i) => `  API ${i + 1}:        ${url}   (try ${url}/readyz)`),
      `  Temporal:     ${stack.temporalAddress}   (no Web UI: temporal workflow list --address ${stack.temporalAddress})`,
      `  Postgres:     ${stack.postgresDescription}; Temporal in databases temporal, temporal_visibility`,
      `  Meta:         ${stack.sandbox ? `Graph sandbox at ${stack.sandbox.url} (demo clients; META_MODE=live for Meta)` : 'live Graph API'}`,
      `  Admin key:    ${keys.adminApiKey}`,
      `  Read key:     ${keys.readApiKey}`,
      `                (made on first start, kept in ${path.join(dataDir, 'local-secrets.json')})`,
      `  Logs:         ${path.join(dataDir, 'logs')}`,
      `  Timings (s):  ${JSON.stringify(stack.timings)}`,
      'Press Ctrl-C to stop everything.',
      '',
    ].join('\n'),
  );
}

runMain(main);
