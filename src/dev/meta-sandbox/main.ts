import { parseArgs } from 'node:util';
import { loadConfig } from '../../config';
import { Lifecycle } from '../../boot/lifecycle';
import { createLogger } from '../../boot/logger';
import { runMain, StartupError } from '../../boot/run-main';
import { DEMO_ACCOUNTS } from './accounts';
import { startGraphSandbox } from './app';

const DEFAULT_PORT = 4100;

/** `npm run sandbox [-- --port 4100 --host 127.0.0.1]`: the Graph API sandbox alone. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' } } });
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new StartupError(`--port ${values.port}: expected a port from 0 to 65535`, 2);
  const config = loadConfig();
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  const lifecycle = new Lifecycle(logger);
  lifecycle.handleSignals();

  const sandbox = await startGraphSandbox({ port, host: values.host, logger }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'EADDRINUSE'
      ? new StartupError(`port ${port} is already in use; pass another with --port`)
      : err;
  });
  lifecycle.add('graph sandbox', () => sandbox.close());

  const { url } = sandbox;
  const version = config.meta.graphVersion;
  const [example] = DEMO_ACCOUNTS;
  const table = DEMO_ACCOUNTS.map(
    (a) =>
      `  ${a.name.padEnd(20)} page ${a.pageId}  instagram ${(a.igId ?? '(none)').padEnd(17)}  ${a.timezone.padEnd(17)} ${a.scenario.padEnd(26)} ${a.token}`,
  );
  process.stdout.write(
    [
      '',
      'Graph API sandbox is running',
      `  URL:      ${url}   (use META_MODE=sandbox META_GRAPH_URL=${url})`,
      `  Control:  ${url}/__sandbox   (GET calls, requests; POST reset, inject, tokens, quota, settings)`,
      `  Try:      curl '${url}/${version}/${example.pageId}/insights?metric=page_daily_follows_unique&period=day&access_token=${example.token}'`,
      '',
      'Demo accounts (name, Page id, Instagram id, timezone, scenario, token):',
      ...table,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );
}

runMain(main);
