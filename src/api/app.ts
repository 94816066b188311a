import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import Koa from 'koa';
import type { Config } from '../config';
import type { TokenKeyring } from '../crypto';
import type { Db } from '../db';
import type { Logger } from '../logger';
import { errorMiddleware } from './errors';
import { createApiMetrics } from './metrics';
import { answerUnrouted, createAuthorizer, createKeyChecker, createValidator, responseHeaders } from './middleware';
import { buildOpenApi } from './openapi';
import { createRoutes, RouteDef } from './routes';

export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  logger: Logger;
  /** TOKEN_ENCRYPTION_KEY (and _PREVIOUS); without it clients can be read but no token can be stored. */
  tokenKeys?: TokenKeyring;
  /** The task queue refreshes are started on; TASK_QUEUE unless a test isolates itself. */
  taskQueue?: string;
  /** Numbers come from the Graph sandbox (npm start's demo mode). */
  demo?: boolean;
}

const VERSION = '0.1.0';

/** The Koa read API; nothing listens until the caller calls `listen`. */
export function createApp(deps: AppDeps): Koa & { router: Router } {
  const { config, logger } = deps;
  const app = new Koa() as Koa & { router: Router };
  app.proxy = false;
  // Errors are answered and logged by errorMiddleware; Koa's default handler would log them again.
  app.silent = true;
  const metrics = createApiMetrics();
  const { routes } = createRoutes({ ...deps, metrics });
  const checkKey = createKeyChecker(config.readApiKeys, config.adminApiKeys);

  let openapi: Record<string, unknown> = {};
  const allRoutes: RouteDef[] = [
    ...routes,
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This OpenAPI 3.1 document',
      access: 'public',
      responses: { 200: 'the OpenAPI document' },
      handler: (ctx) => {
        ctx.body = openapi;
      },
    },
  ];
  openapi = buildOpenApi(allRoutes, VERSION);

  const router = new Router();
  for (const route of allRoutes) {
    // One function per route, synchronous up to the handler unless a body must be read: the
    // router composes a route's middleware anew on every request, and each layer costs a promise.
    const authorize = createAuthorizer(route.access, checkKey, { browserLogin: route.html });
    const validate = createValidator({ query: route.query, params: route.params, body: route.body });
    router[route.method](route.path, (ctx, next) => {
      authorize(ctx);
      const reading = validate(ctx);
      return reading ? reading.then(() => route.handler(ctx, next)) : route.handler(ctx, next);
    });
  }

  app.use(errorMiddleware(logger, { before: responseHeaders({ corsOrigins: config.corsOrigins }), onUnrouted: answerUnrouted, onResponse: metrics.observe }));
  app.use(router.routes());
  app.router = router;
  return app;
}
