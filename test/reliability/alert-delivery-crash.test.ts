import { randomBytes } from 'node:crypto';
import { dispatchEventsPeriodically } from '../../src/alerts/dispatcher';
import { createLogger } from '../../src/boot/logger';
import { loadConfig } from '../../src/config';
import { createKeyring } from '../../src/crypto';
import { waitFor } from '../../src/net';
import { createStores } from '../../src/stores';
import { recordEvent } from '../../src/stores/events';
import { createTestDatabase, TestDatabase } from '../helpers/db';
import { Receiver, startReceiver } from '../helpers/receivers';
import { connectTestTemporal, temporalAddress, TestTemporal } from '../helpers/temporal';
import { spawnWorker } from './helpers';

describe('a worker SIGKILLed in the middle of a delivery', () => {
  let database: TestDatabase;
  let temporal: TestTemporal;
  let receiver: Receiver;

  beforeAll(async () => {
    [database, temporal, receiver] = await Promise.all([createTestDatabase(), connectTestTemporal(), startReceiver()]);
  });

  afterAll(async () => {
    await receiver?.close();
    await temporal?.close();
    await database?.drop();
  });

  it('is delivered once, by the next worker, with the same webhook-id', async () => {
    const tokenKey = randomBytes(32);
    const stores = createStores(database.db, createKeyring(tokenKey));
    const env = {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporalAddress(),
      TASK_QUEUE: temporal.taskQueue,
      META_GRAPH_URL: 'http://127.0.0.1:9',
      TOKEN_ENCRYPTION_KEY: tokenKey.toString('hex'),
      WORKFLOW_BUNDLE: process.env.TEST_WORKFLOW_BUNDLE!,
      WEBHOOK_ALLOW_INSECURE: 'true',
      WEBHOOK_TIMEOUT_MS: '3000',
    };
    const settings = loadConfig({
      WEBHOOK_ALLOW_INSECURE: 'true',
      WEBHOOK_RETRY_INITIAL: '500ms',
      WEBHOOK_TIMEOUT: '3s',
    }).alerts;
    const stopDispatch = dispatchEventsPeriodically(
      {
        temporal: temporal.client,
        alerts: stores.alerts,
        events: stores.events,
        logger: createLogger('silent'),
        settings,
        taskQueue: temporal.taskQueue,
      },
      200,
    );
    const first = await spawnWorker(env);
    let second: Awaited<ReturnType<typeof spawnWorker>> | undefined;
    try {
      const { endpoint } = await stores.alerts.createEndpoint({ url: receiver.url, events: ['*'], format: 'json' });
      receiver.hold();
      const event = await recordEvent(database.db, {
        type: 'metric.retired',
        facts: { metric: 'instagramProfileViews', action: 'None needed' },
      });
      await waitFor(async () => receiver.held() === 1, {
        timeoutMs: 30_000,
        what: 'the delivery to reach the receiver',
      });
      first.child.kill('SIGKILL');
      await first.exited;
      receiver.unhold();

      second = await spawnWorker(env);
      await waitFor(async () => receiver.requests.length > 0, {
        timeoutMs: 60_000,
        what: 'the next worker to deliver',
      });
      const delivery = () =>
        database.db('alert_deliveries').where({ event_id: event.id, endpoint_id: endpoint.id }).first();
      await waitFor(async () => (await delivery())?.status === 'delivered', { timeoutMs: 30_000, what: 'delivered' });
      // Nothing more is sent: the receiver saw the event answered once, under the id it first saw.
      await stopDispatch();
      expect(receiver.requests.map((r) => [r.status, r.headers['webhook-id']])).toEqual([[200, event.id]]);
      expect(
        await database
          .db('alert_attempts')
          .where({ delivery_id: (await delivery()).id })
          .select('status_code'),
      ).toEqual([{ status_code: 200 }]);
    } finally {
      await stopDispatch();
      first.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      await second?.exited;
    }
  }, 120_000);
});
