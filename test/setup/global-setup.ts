import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres';
import { freePort } from '../../src/net';
import { findOrBuildTemporalCli, NO_TEMPORAL_CLI_MESSAGE } from '../../src/dev/temporal-cli';
import { dynamicConfigArgs, DEV_SERVER_DYNAMIC_CONFIG, SEARCH_ATTRIBUTES } from '../../src/dev/temporal-dev-server';
import { WORKFLOWS_PATH } from '../../src/temporal/worker';
import globalTeardown from './global-teardown';

/** What global teardown must stop; kept on globalThis because setup and teardown share one process. */
export interface TestServers {
  stops: (() => Promise<void>)[];
  tmpDirs: string[];
}

declare global {
  var __testServers: TestServers | undefined;
}

/**
 * One embedded Postgres and one Temporal dev server for the whole run (unless
 * TEST_DATABASE_URL / TEST_TEMPORAL_ADDRESS point at running ones), and one workflow bundle.
 * Test files get their own database and task queue from the helpers.
 */
export default async function globalSetup(): Promise<void> {
  const servers: TestServers = { stops: [], tmpDirs: [] };
  globalThis.__testServers = servers;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-test-'));
  fs.chmodSync(tmp, 0o755);
  servers.tmpDirs.push(tmp);

  const log = (line: string) => process.stderr.write(`[test setup] ${line}\n`);
  const binary = await findOrBuildTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH, log });
  if (binary) process.env.TEST_TEMPORAL_CLI_PATH = binary;

  const starting = Promise.all([
    (async () => {
      if (process.env.TEST_DATABASE_URL) return;
      const server = await startEmbeddedPostgres({ dir: path.join(tmp, 'postgres') });
      servers.stops.push(() => server.stop());
      process.env.TEST_DATABASE_URL = server.adminUrl;
    })(),
    (async () => {
      if (process.env.TEST_TEMPORAL_ADDRESS) return;
      if (!binary) throw new Error(NO_TEMPORAL_CLI_MESSAGE);
      const env = await TestWorkflowEnvironment.createLocal({
        server: {
          executable: { type: 'existing-path', path: binary },
          ip: '127.0.0.1',
          port: await freePort(),
          namespace: 'default',
          searchAttributes: SEARCH_ATTRIBUTES,
          extraArgs: ['--log-level', 'error', ...dynamicConfigArgs(DEV_SERVER_DYNAMIC_CONFIG)],
        },
      });
      servers.stops.push(() => env.teardown());
      process.env.TEST_TEMPORAL_ADDRESS = env.address;
    })(),
    (async () => {
      const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
      const file = path.join(tmp, 'workflow-bundle.js');
      fs.writeFileSync(file, code);
      process.env.TEST_WORKFLOW_BUNDLE = file;
    })(),
  ]);
  try {
    await starting;
  } catch (err) {
    await globalTeardown();
    throw err;
  }
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`[bundle] ${message}\n`),
  error: (message: string) => process.stderr.write(`[bundle] ${message}\n`),
};
