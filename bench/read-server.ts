/**
 * One server of the read benchmark, in a process of its own so autocannon does not share its
 * event loop: `bare` (Koa returning the same JSON), `pg` (Koa + a primary-key read of the same
 * row), or `app` (our API, fresh hit). Prints `listening <port>` when ready.
 */
import http from 'node:http';
import Koa from 'koa';
import { Pool } from 'pg';
import pino from 'pino';
import { createApp } from '../src/api/app';
import { loadConfig } from '../src/config';
import { createDb } from '../src/db';
import { createLogger } from '../src/logger';
import { createTemporalClient } from '../src/temporal/client';

async function main(): Promise<void> {
  const [mode, databaseUrl, clientId, period, rowId, key] = process.argv.slice(2);
  let callback: http.RequestListener;
  if (mode === 'bare' || mode === 'pg') {
    const pool = new Pool({ connectionString: databaseUrl, max: 10 });
    const { rows } = await pool.query('select cache_data, last_updated from social_media_cache where id = $1', [rowId]);
    const fixed = rows[0];
    const app = new Koa();
    app.use(async (ctx) => {
      const row = mode === 'pg' ? (await pool.query('select cache_data, last_updated from social_media_cache where id = $1', [rowId])).rows[0] : fixed;
      const cacheAge = Date.now() - row.last_updated.getTime();
      ctx.body = {
        success: true,
        data: { ...row.cache_data, lastUpdated: row.last_updated.toISOString(), fromCache: true, cacheAge },
        source: 'cache',
        period,
        refresh: { status: 'not_needed' },
      };
    });
    callback = app.callback();
  } else {
    const config = loadConfig({ READ_API_KEYS: key, ADMIN_API_KEYS: `${key}-admin`, LOG_LEVEL: 'error' });
    // Fresh hits never reach Temporal; the lazy client is never connected.
    const app = createApp({ config, db: createDb(databaseUrl), temporal: createTemporalClient('127.0.0.1:1', 'default'), logger: createLogger('error', pino.destination(2)) });
    callback = app.callback();
  }
  const server = http.createServer(callback);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as { port: number }).port} ${clientId}\n`);
  });
}

// A clean exit on SIGTERM lets --cpu-prof write its profile.
process.on('SIGTERM', () => process.exit(0));

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
