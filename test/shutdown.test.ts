import net from 'node:net';
import { Client } from 'pg';
import { freePort, waitFor } from '../src/net';
import { createTestDatabase, TestDatabase } from './helpers/db';
import { collect, spawnEntry } from './helpers/process';

const ADMIN_KEY = 'admin-key-for-shutdown-0123456789';

/** Whether a TCP connection to `port` is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('stopping the API', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  async function startApi(env: NodeJS.ProcessEnv = {}) {
    const port = await freePort();
    const child = spawnEntry('api.ts', {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      PORT: String(port),
      ADMIN_API_KEYS: ADMIN_KEY,
      TOKEN_ENCRYPTION_KEY: 'c'.repeat(64),
      LOG_LEVEL: 'warn',
      ...env,
    });
    const run = collect(child);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      what: `the API to start:\n${run.output()}`,
    });
    return { child, run, port, url };
  }

  /** Holds the clients table locked, so a request that adds a client waits until `release`. */
  async function lockClients(): Promise<{ release: () => Promise<void> }> {
    const pg = new Client({ connectionString: database.url });
    await pg.connect();
    await pg.query('begin');
    await pg.query('lock table clients in access exclusive mode');
    return {
      release: async () => {
        await pg.query('commit');
        await pg.end();
      },
    };
  }

  /** Until a request of the API waits on the lock `lockClients` holds: it has reached Postgres. */
  const waitingOnTheLock = () =>
    waitFor(
      async () => {
        const { rows } = await database.db.raw(
          "select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%clients%'",
        );
        return rows[0].n > 0;
      },
      { timeoutMs: 10_000, what: 'the POST to wait on the lock' },
    );

  const addClient = (url: string, name: string) =>
    fetch(`${url}/api/clients`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, facebookPageId: '1234567890', accessToken: 'EAAtoken-for-shutdown-test' }),
    });

  it('stops accepting at once and lets a request in flight finish with its answer', async () => {
    const api = await startApi();
    const lock = await lockClients();
    const answer = addClient(api.url, 'In flight');
    // The request has reached Postgres and waits on the lock.
    await waitingOnTheLock();
    api.child.kill('SIGTERM');
    await waitFor(async () => !(await accepts(api.port)), {
      timeoutMs: 5_000,
      what: 'the API to stop accepting connections',
    });
    await lock.release();

    const res = await answer;
    expect(res.status).toBe(201);
    expect(((await res.json()) as { data: { name: string } }).data.name).toBe('In flight');
    const { code } = await api.run.exited;
    expect(code).toBe(0);
    const { rows } = await database.db.raw("select count(*)::int as n from clients where name = 'In flight'");
    expect(rows[0].n).toBe(1);
  });

  it('cuts off what still runs after SHUTDOWN_GRACE, and exits', async () => {
    const api = await startApi({ SHUTDOWN_GRACE: '1s' });
    const lock = await lockClients();
    try {
      const answer = addClient(api.url, 'Too slow').then(
        (res) => res.status,
        () => 'cut off',
      );
      await waitingOnTheLock();
      const stopping = Date.now();
      api.child.kill('SIGTERM');
      expect(await answer).toBe('cut off');
      expect(Date.now() - stopping).toBeGreaterThanOrEqual(900);
      expect(Date.now() - stopping).toBeLessThan(10_000);
      const { stdout } = await api.run.exited;
      // The pool gets a short wait for the cut-off request's query: the process is gone soon after the grace.
      expect(Date.now() - stopping).toBeLessThan(12_000);
      expect(stdout).toContain('requests still running after SHUTDOWN_GRACE were cut off');
    } finally {
      await lock.release();
    }
  });
});
