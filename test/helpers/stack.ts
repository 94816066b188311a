import { randomBytes } from 'node:crypto';
import { Client as TemporalClient } from '@temporalio/client';
import { createKeyring, TokenKeyring } from '../../src/crypto';
import { createLogger, Logger } from '../../src/boot/logger';
import { createMetaClient } from '../../src/meta/client';
import type { MetaClient } from '../../src/meta/types';
import { GraphSandboxOptions, RunningGraphSandbox, startGraphSandbox } from '../../src/dev/meta-sandbox';
import { CacheStore } from '../../src/stores/cache';
import { Client, ClientStore } from '../../src/stores/clients';
import { RefreshStore } from '../../src/stores/refresh';
import type { CreateWorkerOptions } from '../../src/temporal/worker';
import { createTestDatabase, TestDatabase } from './db';
import { connectTestTemporal, TestTemporal } from './temporal';

/** Everything a refresh needs, real: Postgres, Temporal with a worker, the Graph sandbox as Meta. */
export interface RefreshStack {
  database: TestDatabase;
  temporal: TestTemporal;
  client: TemporalClient;
  taskQueue: string;
  sandbox: RunningGraphSandbox;
  meta: MetaClient;
  tokenKeys: TokenKeyring;
  /** Stores tokens under `tokenKeys`; replaced by `restartWorker`. */
  clients: ClientStore;
  cache: CacheStore;
  refresh: RefreshStore;
  /** Adds a client whose Page and Instagram account the sandbox serves with a valid token. */
  addClient(overrides?: {
    name?: string;
    token?: string | null;
    instagram?: boolean;
    timezone?: string;
  }): Promise<Client & { token: string }>;
  /** Stops the worker and starts another with `tokenKeys`, as a restart with a new key configuration does. */
  restartWorker(tokenKeys: TokenKeyring): Promise<void>;
  close(): Promise<void>;
}

let sequence = 0;

export async function createRefreshStack(
  options: {
    sandbox?: GraphSandboxOptions;
    metaTimeoutMs?: number;
    activityOptions?: CreateWorkerOptions['activityOptions'];
    logger?: Logger;
    /** META_APP_ID and META_APP_SECRET: the worker checks tokens with debug_token, the sandbox accepts this app. */
    metaApp?: { id: string; secret: string };
  } = {},
): Promise<RefreshStack> {
  const [database, temporal] = await Promise.all([createTestDatabase(), connectTestTemporal()]);
  const sandbox = await startGraphSandbox({
    appQuota: { calls: 1_000_000, windowMs: 3_600_000 },
    objectQuota: { calls: 10_000, windowMs: 3_600_000 },
    ...(options.metaApp ? { app: options.metaApp } : {}),
    ...options.sandbox,
  });
  const logger = options.logger ?? createLogger('silent');
  const meta = createMetaClient({
    graphUrl: sandbox.url,
    graphVersion: 'v24.0',
    timeoutMs: options.metaTimeoutMs ?? 5_000,
    logger,
    sandbox: true,
    ...(options.metaApp ? { app: options.metaApp } : {}),
  });
  const startWorker = (tokenKeys: TokenKeyring) =>
    temporal.startWorker({ db: database.db, meta, tokenKeys, logger, activityOptions: options.activityOptions });
  const tokenKeys = createKeyring(randomBytes(32));
  let worker = await startWorker(tokenKeys);
  const run = randomBytes(3).toString('hex');
  const stack: RefreshStack = {
    database,
    temporal,
    client: temporal.client,
    taskQueue: temporal.taskQueue,
    sandbox,
    meta,
    tokenKeys,
    clients: new ClientStore(database.db, tokenKeys),
    cache: new CacheStore(database.db),
    refresh: new RefreshStore(database.db),
    async addClient(overrides = {}) {
      sequence += 1;
      const n = String(sequence).padStart(6, '0');
      const token = overrides.token === undefined ? `test-token-${run}-${n}` : overrides.token;
      if (token) sandbox.control.setToken({ token });
      const client = await stack.clients.create({
        name: overrides.name ?? `Client ${n}`,
        facebookPageId: `99${run.replace(/\D/g, '1')}${n}`,
        instagramAccountId: overrides.instagram === false ? null : `178499${n}`,
        accessToken: token,
        // Meta's own calendar: a client's today is always a day Page insights already answer for
        // (a Warsaw client's today starts 9 hours before Meta's, and has no Page numbers until then).
        timezone: overrides.timezone ?? 'America/Los_Angeles',
      });
      return { ...client, token: token ?? '' };
    },
    async restartWorker(keys) {
      await worker.stop();
      worker = await startWorker(keys);
      stack.tokenKeys = keys;
      stack.clients = new ClientStore(database.db, keys);
    },
    async close() {
      await worker.stop();
      await sandbox.close();
      await temporal.close();
      await database.drop();
    },
  };
  return stack;
}
