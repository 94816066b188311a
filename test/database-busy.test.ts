import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { createApp } from '../src/api/app';
import { loadConfig } from '../src/config';
import { createDb, Db } from '../src/db';
import { createLogger } from '../src/boot/logger';
import { createTemporalClient } from '../src/temporal/client';
import { ADMIN_KEY, READ_KEY } from './helpers/api';
import { createTestDatabase, TestDatabase } from './helpers/db';

describe('a database with no connection free', () => {
  let database: TestDatabase;
  let db: Db;
  let server: http.Server;
  let baseUrl: string;
  const logs: string[] = [];
  // Nothing here needs Temporal: the routes asked only read Postgres.
  const temporal = createTemporalClient('127.0.0.1:1', 'default');

  beforeAll(async () => {
    database = await createTestDatabase();
    // A pool of two that gives up waiting for a connection after 300 ms.
    db = createDb(database.url, { poolMax: 2, acquireTimeoutMs: 300 });
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    const app = createApp({
      config: loadConfig({ READ_API_KEYS: READ_KEY, ADMIN_API_KEYS: ADMIN_KEY }),
      db,
      temporal,
      logger: createLogger('warn', destination),
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    server?.close();
    await db?.destroy();
    await database?.drop();
    await temporal.connection.close().catch(() => undefined);
  });

  const get = async (path: string, key: string) => {
    const res = await fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${key}` } });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
  };

  it('answers 503 database_busy with Retry-After while every pooled connection is held, and serves again once one is free', async () => {
    const clientRead = `/api/social-media-cache?clientId=${randomUUID()}`;
    const held: Knex.Transaction[] = await Promise.all([db.transaction(), db.transaction()]);
    try {
      for (const [path, key] of [
        ['/api/clients', ADMIN_KEY],
        [clientRead, READ_KEY],
      ] as const) {
        const busy = await get(path, key);
        expect(busy).toEqual({
          status: 503,
          retryAfter: '2',
          body: {
            success: false,
            error: {
              code: 'database_busy',
              message: 'the database is busy; try again shortly',
              details: { retryAfterSeconds: 2 },
            },
          },
        });
      }
    } finally {
      await Promise.all(held.map((trx) => trx.rollback()));
    }
    expect(logs.join('')).not.toContain('unhandled error');
    expect(logs.join('')).toContain('no database connection free within the acquire timeout');

    expect(await get('/api/clients', ADMIN_KEY)).toMatchObject({ status: 200, body: { success: true, data: [] } });
    expect(await get(clientRead, READ_KEY)).toMatchObject({
      status: 404,
      body: { error: { code: 'client_not_found' } },
    });
  });
});
