import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../src/api/app';
import { loadConfig } from '../src/config';
import { createDb, Db } from '../src/db';
import { EmbeddedPostgres, startEmbeddedPostgres } from '../src/db/embedded';
import { createLogger } from '../src/logger';
import { createTemporalClient } from '../src/temporal/client';
import { temporalAddress } from './helpers/temporal';

/** This file runs a Postgres of its own, so stopping it cannot disturb other test files. */
describe('/healthz and /readyz', () => {
  let dir: string;
  let postgres: EmbeddedPostgres;
  let db: Db;
  let server: http.Server;
  let baseUrl: string;
  const logs: string[] = [];
  const temporal = createTemporalClient(temporalAddress(), 'default');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-readyz-'));
    fs.chmodSync(dir, 0o755);
    postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
    db = createDb(postgres.adminUrl);
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    const app = createApp({ config: loadConfig({}), db, temporal, logger: createLogger('warn', destination) });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    server?.close();
    await db?.destroy();
    await postgres?.stop();
    await temporal.connection.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers /healthz while the process is up', async () => {
    const res = await fetch(`${baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers 503 while Postgres is stopped and 200 again once it is back', async () => {
    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { postgres: 'up', temporal: 'up' },
    });

    await postgres.stop();
    const down = await fetch(`${baseUrl}/readyz`);
    expect(down.status).toBe(503);
    const text = await down.text();
    expect(JSON.parse(text)).toEqual({ status: 'unavailable', checks: { postgres: 'down', temporal: 'up' } });
    // Public: no driver message, host, port or user name; those go to the log.
    expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres:\/\/|password|connect|user/i);
    expect(text).not.toContain(String(postgres.port));
    expect(logs.join('')).toMatch(/"dependency":"postgres".*"error":".+".*readiness: postgres is down/);

    postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: postgres.port });
    const back = await fetch(`${baseUrl}/readyz`);
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ status: 'ready', checks: { postgres: 'up' } });
  });

  it('stays ready with Temporal unreachable, and says so', async () => {
    const unreachable = createTemporalClient('127.0.0.1:1', 'default');
    const app = createApp({ config: loadConfig({}), db, temporal: unreachable, logger: createLogger('silent') });
    const other = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => other.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(other.address() as { port: number }).port}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ready', checks: { postgres: 'up', temporal: 'down' } });
    } finally {
      other.close();
      await unreachable.connection.close().catch(() => undefined);
    }
  });
});
