import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { Connection, Client as TemporalClient } from '@temporalio/client';
import { freePort, waitFor } from '../src/net';
import { TASK_QUEUE } from '../workflows/definitions';
import { collect, spawnEntry } from './helpers/process';

/** Processes whose command line mentions `text` (postgres and temporal carry the data directory). */
function processesMentioning(text: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

describe('npm start', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-start-'));
    fs.chmodSync(dataDir, 0o755);
  });

  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(ports: { api: number; postgres: number; temporal: number; ui: number }) {
    const child = spawnEntry('dev/start.ts', {
      DATA_DIR: dataDir,
      PORT: String(ports.api),
      POSTGRES_PORT: String(ports.postgres),
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      TEMPORAL_CLI_PATH: process.env.TEST_TEMPORAL_CLI_PATH,
      LOG_LEVEL: 'warn',
    });
    const run = collect(child);
    await waitFor(async () => run.output().includes('social-media-cache is running'), {
      timeoutMs: 90_000,
      what: `npm start to come up; output so far:\n${run.output()}`,
    });
    return { child, run };
  }

  it('runs Postgres, Temporal with its UI, the worker and the API; stops cleanly; keeps its data', async () => {
    const ports = {
      api: await freePort(),
      postgres: await freePort(),
      temporal: await freePort(),
      ui: await freePort(),
    };
    const first = await start(ports);
    const api = `http://127.0.0.1:${ports.api}`;
    expect(first.run.output()).toContain(`API:          ${api}`);
    expect(first.run.output()).toContain(`Temporal UI:  http://127.0.0.1:${ports.ui}`);

    const ready = await fetch(`${api}/readyz`);
    expect(ready.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.ui}/`)).status).toBe(200);

    // A new user's first start: demo clients, one cycle at once, fresh numbers after it.
    const { adminApiKey, readApiKey } = JSON.parse(fs.readFileSync(path.join(dataDir, 'local-secrets.json'), 'utf8'));
    expect(first.run.output()).toContain(`Admin key:    ${adminApiKey}`);
    const get = async (route: string, key = readApiKey) =>
      (await fetch(`${api}${route}`, { headers: { Authorization: `Bearer ${key}` } })).json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    await waitFor(
      async () => (await get('/api/automated/refresh-social-media-cache')).data.lastCycle?.status === 'completed',
      {
        timeoutMs: 60_000,
        what: 'the first demo cycle',
      },
    );
    const clients = (await get('/api/clients', adminApiKey)).data as {
      id: string;
      name: string;
      tokenStatus: string;
    }[];
    expect(clients.length).toBeGreaterThanOrEqual(5);
    expect(clients.every((c) => c.name.endsWith('(demo)'))).toBe(true);
    for (const client of clients.filter((c) => c.tokenStatus === 'valid')) {
      expect((await get(`/api/social-media-cache?clientId=${client.id}`)).source).toBe('cache');
    }
    // The Web UI lists the cycle and one run per client.
    const listed = async (type: string) =>
      (
        (await (
          await fetch(
            `http://127.0.0.1:${ports.ui}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowType='${type}'`)}`,
          )
        ).json()) as { executions?: unknown[] }
      ).executions ?? [];
    expect(await listed('refreshAllClients')).toHaveLength(1);
    expect(await listed('refreshClient')).toHaveLength(clients.length);

    // Leave a mark in both stores: a client row, and a workflow run done by the in-process worker.
    const pg = new Client({
      connectionString: `postgres://postgres:postgres@127.0.0.1:${ports.postgres}/social_media_cache`,
    });
    await pg.connect();
    await pg.query("insert into clients (name, facebook_page_id) values ('Survivor', '42')");
    await pg.end();
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
    const temporal = new TemporalClient({ connection });
    const workflowId = `start-test-${Date.now()}`;
    await temporal.workflow.execute('workerHealthCheck', {
      workflowId,
      taskQueue: TASK_QUEUE,
      workflowExecutionTimeout: '30s',
    });
    await connection.close();

    first.child.kill('SIGINT');
    const { code } = await first.run.exited;
    expect(code).toBe(0);
    expect(processesMentioning(dataDir)).toEqual([]);

    const second = await start(ports);
    try {
      const pg2 = new Client({
        connectionString: `postgres://postgres:postgres@127.0.0.1:${ports.postgres}/social_media_cache`,
      });
      await pg2.connect();
      const { rows } = await pg2.query("select name from clients where name = 'Survivor'");
      await pg2.end();
      expect(rows).toEqual([{ name: 'Survivor' }]);
      const connection2 = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
      const description = await new TemporalClient({ connection: connection2 }).workflow
        .getHandle(workflowId)
        .describe();
      await connection2.close();
      expect(description.status.name).toBe('COMPLETED');
    } finally {
      second.child.kill('SIGTERM');
      expect((await second.run.exited).code).toBe(0);
    }
    expect(processesMentioning(dataDir)).toEqual([]);
  });

  it('fails fast with one clear line when DATABASE_URL cannot be reached', async () => {
    const started = Date.now();
    const run = collect(
      spawnEntry('api.ts', { DATABASE_URL: `postgres://nobody:secret@127.0.0.1:${await freePort()}/none` }),
    );
    const { code, stderr } = await run.exited;
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^error: cannot reach Postgres at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:\d+\/none: .*ECONNREFUSED/,
      ),
    ]);
    expect(stderr).not.toContain('secret');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
