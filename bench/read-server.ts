/**
 * One reference server of the read benchmark, in a process of its own so autocannon does not
 * share its event loop: `ceiling` (Koa + @koa/router returning the same body, serialized once),
 * `bare` (Koa serializing the same JSON per request), `pg` (Koa + a primary-key read of the same
 * row). Our API runs as production runs it, `src/api.ts`. Prints `listening <port>` when ready.
 */
import http from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { Pool } from 'pg';

async function main(): Promise<void> {
  const [mode, databaseUrl, clientId, period, rowId] = process.argv.slice(2);
  let callback: http.RequestListener;
  if (mode === 'ceiling') {
    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    const { rows } = await pool.query('select cache_data, last_updated from social_media_cache where id = $1', [rowId]);
    await pool.end();
    const row = rows[0];
    const body = Buffer.from(
      JSON.stringify({
        success: true,
        data: {
          ...row.cache_data,
          lastUpdated: row.last_updated.toISOString(),
          fromCache: true,
          cacheAge: Date.now() - row.last_updated.getTime(),
        },
        source: 'cache',
        period,
        refresh: { status: 'not_needed' },
      }),
    );
    const app = new Koa();
    const router = new Router();
    router.get('/api/social-media-cache', (ctx) => {
      ctx.type = 'application/json';
      ctx.body = body;
    });
    app.use(router.routes());
    callback = app.callback();
  } else if (mode === 'bare' || mode === 'pg') {
    const pool = new Pool({ connectionString: databaseUrl, max: 10 });
    const { rows } = await pool.query('select cache_data, last_updated from social_media_cache where id = $1', [rowId]);
    const fixed = rows[0];
    const app = new Koa();
    app.use(async (ctx) => {
      const row =
        mode === 'pg'
          ? (await pool.query('select cache_data, last_updated from social_media_cache where id = $1', [rowId])).rows[0]
          : fixed;
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
    throw new Error(`unknown mode ${mode}`);
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
