import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../src/api/app';
import { READINESS_TTL_MS } from '../src/api/routes/health';
import { loadConfig } from '../src/config';
import { createDb, Db } from '../src/db';
import { EmbeddedPostgres, startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { createLogger } from '../src/boot/logger';
import { waitFor } from '../src/net';
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

  /** One `/readyz` answer, read whole. */
  const probe = async () => {
    const res = await fetch(`${baseUrl}/readyz`);
    return { status: res.status, text: await res.text() };
  };

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
    // The answer is reused for a second: the outage shows within it (plus the check's own time).
    const stoppedAt = Date.now();
    let down = await probe();
    await waitFor(async () => (down = await probe()).status === 503, {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: '/readyz to report the outage',
    });
    expect(Date.now() - stoppedAt).toBeLessThan(READINESS_TTL_MS + 2_000);
    const { text } = down;
    expect(JSON.parse(text)).toEqual({ status: 'unavailable', checks: { postgres: 'down', temporal: 'up' } });
    // Public: no driver message, host, port or user name; those go to the log.
    expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres:\/\/|password|connect|user/i);
    expect(text).not.toContain(String(postgres.port));
    expect(logs.join('')).toMatch(/"dependency":"postgres".*"error":".+".*readiness: postgres is down/);

    postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: postgres.port });
    const startedAt = Date.now();
    let back = await probe();
    await waitFor(async () => (back = await probe()).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: '/readyz to report the recovery',
    });
    expect(Date.now() - startedAt).toBeLessThan(READINESS_TTL_MS + 2_000);
    expect(JSON.parse(back.text)).toMatchObject({ status: 'ready', checks: { postgres: 'up' } });
  });

  it('checks each dependency and logs at most once a second, however many probes come', async () => {
    const counted = createDb(postgres.adminUrl);
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    // Temporal unreachable: each of its checks writes a log line, which is what is counted.
    const unreachable = createTemporalClient('127.0.0.1:1', 'default');
    const app = createApp({
      config: loadConfig({}),
      db: counted,
      temporal: unreachable,
      logger: createLogger('warn', destination),
    });
    const other = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => other.once('listening', resolve));
    const url = `http://127.0.0.1:${(other.address() as { port: number }).port}/readyz`;
    let queries = 0;
    counted.on('query', () => (queries += 1));
    const temporalLines = () => lines.filter((line) => line.includes('readiness: temporal is down')).length;
    try {
      const burst = await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(url).then(async (res) => ({ status: res.status, body: await res.json() })),
        ),
      );
      expect(burst.map((r) => r.status)).toEqual(Array(50).fill(200));
      for (const { body } of burst)
        expect(body).toEqual({ status: 'ready', checks: { postgres: 'up', temporal: 'down' } });
      expect(queries).toBe(1);
      expect(temporalLines()).toBe(1);
    } finally {
      other.close();
      await unreachable.connection.close().catch(() => undefined);
    }

    // Probed without pause for 2.5 s against a reachable Temporal: a check each second at most,
    // and a new one once the window has passed.
    const steady = createApp({ config: loadConfig({}), db: counted, temporal, logger: createLogger('silent') });
    const served = steady.listen(0, '127.0.0.1');
    await new Promise((resolve) => served.once('listening', resolve));
    const steadyUrl = `http://127.0.0.1:${(served.address() as { port: number }).port}/readyz`;
    try {
      queries = 0;
      const until = Date.now() + 2_500;
      let probes = 0;
      const lane = async () => {
        while (Date.now() < until) {
          const res = await fetch(steadyUrl);
          expect(res.status).toBe(200);
          await res.arrayBuffer();
          probes += 1;
        }
      };
      await Promise.all(Array.from({ length: 4 }, lane));
      expect(probes).toBeGreaterThan(20);
      expect(queries).toBeGreaterThanOrEqual(2);
      expect(queries).toBeLessThanOrEqual(Math.ceil(2_500 / READINESS_TTL_MS) + 1);
    } finally {
      served.close();
      await counted.destroy();
    }
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
