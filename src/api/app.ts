import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import Koa from 'koa';
import type { Config } from '../config';
import { Db, pingDatabase } from '../db';
import type { Logger } from '../logger';
import { pingTemporal } from '../temporal/client';

export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  logger: Logger;
}

/** The Koa read API; nothing listens until the caller calls `listen`. */
export function createApp({ db, temporal }: AppDeps): Koa {
  const app = new Koa();
  const router = new Router();

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  // Reads need only Postgres: Temporal's state is reported but does not fail readiness.
  router.get('/readyz', async (ctx) => {
    const [postgres, temporalCheck] = await Promise.all([pingDatabase(db), pingTemporal(temporal)]);
    ctx.status = postgres.ok ? 200 : 503;
    ctx.body = { status: postgres.ok ? 'ready' : 'unavailable', checks: { postgres, temporal: temporalCheck } };
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
