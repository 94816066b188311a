import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import Koa, { Middleware } from 'koa';
import type { Config } from '../config';
import type { TokenKeyring } from '../crypto';
import type { Db } from '../db';
import type { Logger } from '../boot/logger';
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
  // Paths without parameters, by exact path and method: a dashboard's reads are found with two
  // map lookups instead of matching every route's pattern and composing its layers anew. Any
  // other spelling of the path (a trailing slash, other case), and every method the table does
  // not serve, goes on to the router, which answers exactly as it always has.
  const exact = new Map<string, Map<string, Middleware>>();
  for (const route of allRoutes) {
    // One function per route, synchronous up to the handler unless a body must be read: the
    // router composes a route's middleware anew on every request, and each layer costs a promise.
    const authorize = createAuthorizer(route.access, checkKey, { browserLogin: route.html });
    const validate = createValidator({ query: route.query, params: route.params, body: route.body });
    const serve: Middleware = (ctx, next) => {
      authorize(ctx);
      const reading = validate(ctx);
      return reading ? reading.then(() => route.handler(ctx, next)) : route.handler(ctx, next);
    };
    router[route.method](route.path, serve);
    if (!route.path.includes(':')) {
      const byMethod = exact.get(route.path) ?? new Map<string, Middleware>();
      byMethod.set(route.method.toUpperCase(), serve);
      // As @koa/router does, a GET route answers HEAD too.
      if (route.method === 'get') byMethod.set('HEAD', serve);
      exact.set(route.path, byMethod);
    }
  }
  const routed = router.routes();

  app.use(
    errorMiddleware(logger, {
      before: responseHeaders({ corsOrigins: config.corsOrigins }),
      onUnrouted: answerUnrouted,
      onResponse: metrics.observe,
    }),
  );
  app.use((ctx, next) => {
    const serve = exact.get(ctx.path)?.get(ctx.method);
    if (!serve) return routed(ctx as Parameters<typeof routed>[0], next);
    // What the router records: the metrics name the route by its pattern.
    (ctx as typeof ctx & { _matchedRoute: string })._matchedRoute = ctx.path;
    return serve(ctx, next);
  });
  app.router = router;
  return app;
}
