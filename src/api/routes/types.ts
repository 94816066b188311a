import type { Client as TemporalClient } from '@temporalio/client';
import type { Middleware, Next, ParameterizedContext } from 'koa';
import type { z, ZodType } from 'zod';
import type { Config } from '../../config';
import type { TokenKeyring } from '../../crypto';
import type { Db } from '../../db';
import type { Logger } from '../../boot/logger';
import type { PlatformHoldStore } from '../../stores/holds';
import type { CacheStore } from '../../stores/cache';
import type { Client, ClientStore } from '../../stores/clients';
import type { MetricStore } from '../../stores/metrics';
import type { AlertStore } from '../../stores/alerts';
import type { EventStore } from '../../stores/events';
import type { RefreshStore } from '../../stores/refresh';
import type { MetricCatalogue } from '../support/metric-catalogue';
import type { RefreshRequestResult } from '../../temporal/request-refresh';
import type { CacheReader } from '../cache-reader';
import type { ApiMetrics } from '../metrics';
import type { Access } from '../middleware';
import type { FreshAnswers } from '../support/http-cache';
import type { RefreshStatusService } from '../support/refresh-status';

/** One route: how it is served and how the OpenAPI document describes it. */
export interface RouteDef {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  summary: string;
  access: Access;
  query?: ZodType;
  params?: ZodType;
  body?: ZodType;
  /** Bodies the handler validates itself (one of several shapes, chosen by the query). */
  bodyOneOf?: ZodType[];
  /** An HTML page: a browser without a key is asked for one (Basic auth, password = key). */
  html?: boolean;
  /** Statuses an HTML route answers with a page (saying what happened) instead of the error shape. */
  htmlStatuses?: number[];
  responses: Record<number, string>;
  /** The JSON body of a response, for the OpenAPI document (a test checks the answers against it). */
  responseBodies?: Record<number, ZodType>;
  handler: Middleware;
}

/** What a route's handler finds in `ctx.state`: its input as validated and parsed, and the caller's role. */
export interface RouteState<Query, Params, Body> {
  query: Query;
  params: Params;
  body: Body;
  role: 'read' | 'admin';
}

type Parsed<S> = S extends ZodType ? z.output<S> : undefined;

/** A route whose handler reads its input typed from its own schemas. */
export type TypedRouteDef<
  Q extends ZodType | undefined,
  P extends ZodType | undefined,
  B extends ZodType | undefined,
> = Omit<RouteDef, 'query' | 'params' | 'body' | 'handler'> & {
  query?: Q;
  params?: P;
  body?: B;
  handler: (ctx: ParameterizedContext<RouteState<Parsed<Q>, Parsed<P>, Parsed<B>>>, next: Next) => Promise<void> | void;
};

/**
 * A route, its handler typed by its schemas: the validator (`createValidator`) puts exactly
 * the parsed `query`, `params` and `body` in `ctx.state` before the handler runs, so the handler
 * reads them without casts. The one cast is here, where that guarantee is made.
 */
export function defineRoute<
  Q extends ZodType | undefined = undefined,
  P extends ZodType | undefined = undefined,
  B extends ZodType | undefined = undefined,
>(def: TypedRouteDef<Q, P, B>): RouteDef {
  return { ...def, handler: def.handler as unknown as Middleware };
}

export interface RouteDeps {
  config: Config;
  db: Db;
  temporal: TemporalClient;
  logger: Logger;
  metrics: ApiMetrics;
  /** TOKEN_ENCRYPTION_KEY (and _PREVIOUS); without it no token can be stored. */
  tokenKeys?: TokenKeyring;
  /** Where refreshes are started (tests use a task queue of their own). */
  taskQueue?: string;
  /** Numbers come from the Graph sandbox: the status page says so. */
  demo?: boolean;
}

/** What every route module is built from: the deps, the stores and the shared services. */
export interface RouteContext extends RouteDeps {
  taskQueue: string;
  clients: ClientStore;
  cache: CacheStore;
  refresh: RefreshStore;
  /** Platforms no call may reach yet (Meta's throttle estimate, a Page gone). */
  holds: PlatformHoldStore;
  /** The fleet's watch on retired metrics. */
  metricStore: MetricStore;
  /** Webhook endpoints and deliveries. */
  alerts: AlertStore;
  events: EventStore;
  /** The metrics a day shows, and the retirements, kept in memory a few seconds. */
  catalogue: MetricCatalogue;
  reader: CacheReader;
  answers: FreshAnswers;
  refreshStatus: RefreshStatusService;
  /** Asks Temporal for a refresh of one client (cooldown, coalescing), counted in the metrics. */
  requestRefresh(clientId: string, options?: { force?: boolean; days?: string[] }): Promise<RefreshRequestResult>;
  /** The client, or a 404 `client_not_found`. */
  clientOr404(clientId: string): Promise<Client>;
  /** Forgets what this process keeps in memory about a client, after a write or an edit. */
  invalidate(clientId: string): void;
}
