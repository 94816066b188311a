import { randomUUID } from 'node:crypto';
import { urlProblem } from '../../domain/alerts';
import { postWebhook, DestinationRefusedError, webhookRequest } from '../../alerts/send';
import { badRequest, notFound, serviceUnavailable } from '../errors';
import * as schemas from '../schemas';
import { defineRoute } from './types';
import type { RouteContext, RouteDef } from './types';

const webhookNotFound = (id: string) => notFound('webhook_not_found', `no webhook endpoint with id ${id}`);

/** Events (what changed state) and the webhook endpoints they are delivered to (README: Events and alerts). */
export function alertRoutes(context: RouteContext): RouteDef[] {
  const { alerts, events, config, logger } = context;
  const policy = config.alerts.policy;

  function requireSecretKey(): void {
    if (!context.tokenKeys)
      throw serviceUnavailable(
        'token_encryption_unavailable',
        'TOKEN_ENCRYPTION_KEY is not set on the API: webhook secrets cannot be stored',
      );
  }

  function requireAllowedUrl(url: string): void {
    const problem = urlProblem(url, policy);
    if (problem)
      throw badRequest('webhook_url_refused', `body.url: ${problem}`, [{ path: 'body.url', message: problem }]);
  }

  return [
    defineRoute({
      method: 'get',
      path: '/api/events',
      summary:
        'Admin: events, newest first (`limit` ≤ 200, default 50; `before`: the previous page’s `next`; optionally one `type` or `clientId`)',
      access: 'admin',
      query: schemas.eventsQuery,
      responses: { 200: 'a page of events and the cursor of the next', 400: 'invalid query' },
      handler: async (ctx) => {
        const { limit, before, type, clientId } = ctx.state.query;
        const page = await events.list({ limit: limit ?? 50, before, type, clientId });
        ctx.body = { success: true, data: page.events, next: page.next };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/webhooks',
      summary: 'Admin: the webhook endpoints, with their failing state; never their secrets',
      access: 'admin',
      responses: { 200: 'endpoints' },
      handler: async (ctx) => {
        ctx.body = { success: true, data: await alerts.listEndpoints() };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/webhooks',
      summary:
        'Admin: add a webhook endpoint (`https`, public address); the answer carries its signing secret (`whsec_…`) this once',
      access: 'admin',
      body: schemas.createWebhookBody,
      responses: {
        201: 'created, with `secret` shown once',
        400: 'invalid endpoint (`validation_failed`, `webhook_url_refused`)',
        503: 'TOKEN_ENCRYPTION_KEY is not set (`token_encryption_unavailable`)',
      },
      handler: async (ctx) => {
        requireSecretKey();
        const body = ctx.state.body;
        requireAllowedUrl(body.url);
        const { endpoint, secret } = await alerts.createEndpoint(body);
        logger.info(
          { endpointId: endpoint.id, format: endpoint.format, events: endpoint.events },
          'webhook endpoint added',
        );
        ctx.status = 201;
        ctx.body = { success: true, data: { ...endpoint, secret } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/webhooks/:id',
      summary: 'Admin: one webhook endpoint and its last 50 deliveries with every attempt',
      access: 'admin',
      params: schemas.clientParams,
      responses: { 200: 'the endpoint', 404: 'no such endpoint (`webhook_not_found`)' },
      handler: async (ctx) => {
        const endpoint = await alerts.getEndpoint(ctx.state.params.id);
        if (!endpoint) throw webhookNotFound(ctx.state.params.id);
        ctx.body = { success: true, data: { ...endpoint, deliveries: await alerts.deliveriesOf(endpoint.id) } };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/webhooks/:id',
      summary:
        'Admin: change an endpoint’s url, events, format, description or enabled; enabling a disabled endpoint clears its failing state',
      access: 'admin',
      params: schemas.clientParams,
      body: schemas.updateWebhookBody,
      responses: {
        200: 'changed',
        400: 'invalid change (`validation_failed`, `webhook_url_refused`)',
        404: 'no such endpoint (`webhook_not_found`)',
      },
      handler: async (ctx) => {
        const body = ctx.state.body;
        if (body.url !== undefined) requireAllowedUrl(body.url);
        const endpoint = await alerts.updateEndpoint(ctx.state.params.id, body);
        if (!endpoint) throw webhookNotFound(ctx.state.params.id);
        ctx.body = { success: true, data: endpoint };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/webhooks/:id',
      summary: 'Admin: remove an endpoint; its deliveries still being tried stop',
      access: 'admin',
      params: schemas.clientParams,
      responses: { 200: 'removed', 404: 'no such endpoint (`webhook_not_found`)' },
      handler: async (ctx) => {
        if (!(await alerts.removeEndpoint(ctx.state.params.id))) throw webhookNotFound(ctx.state.params.id);
        ctx.body = { success: true, data: { id: ctx.state.params.id, removed: true } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/webhooks/:id/test',
      summary:
        'Admin: send the endpoint a signed `webhook.test` ping now and answer what the receiver said (not retried, not recorded as an event)',
      access: 'admin',
      params: schemas.clientParams,
      responses: {
        200: '`delivered`, the receiver’s `status` or the `error`, and the latency',
        400: 'the URL’s address is not allowed (`webhook_url_refused`)',
        404: 'no such endpoint (`webhook_not_found`)',
        503: 'TOKEN_ENCRYPTION_KEY is not set (`token_encryption_unavailable`)',
      },
      handler: async (ctx) => {
        requireSecretKey();
        const endpoint = await alerts.endpointWithSecret(ctx.state.params.id);
        if (!endpoint) throw webhookNotFound(ctx.state.params.id);
        const ping = {
          id: randomUUID(),
          type: 'webhook.test' as const,
          occurredAt: new Date().toISOString(),
          clientId: null,
          clientName: null,
          facts: {
            endpointId: endpoint.id,
            message: 'A test from social-media-cache: this endpoint receives its alerts',
          },
        };
        try {
          const answer = await postWebhook(endpoint.url, webhookRequest(ping, endpoint.format, endpoint.secret), {
            policy,
            timeoutMs: config.alerts.timeoutMs,
          });
          ctx.body = {
            success: true,
            data: {
              eventId: ping.id,
              delivered: 'status' in answer && answer.status >= 200 && answer.status < 300,
              status: 'status' in answer ? answer.status : null,
              error: 'error' in answer ? answer.error : null,
              latencyMs: answer.latencyMs,
            },
          };
        } catch (err) {
          if (err instanceof DestinationRefusedError)
            throw badRequest('webhook_url_refused', err.message, [{ path: 'url', message: err.message }]);
          throw err;
        }
      },
    }),
  ];
}
