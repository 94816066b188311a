import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import {
  SandboxState,
  injectionSchema,
  instagramModeSchema,
  metricRetirementSchema,
  pageModeSchema,
  quotaSchema,
  tokenSchema,
} from './state';

const MAX_BODY_BYTES = 64 * 1024;

const resetSchema = z.object({ scope: z.enum(['all', 'calls']).default('all') });
const settingsSchema = z.object({
  usageHeaders: z.boolean().optional(),
  pageUsageHeader: z.boolean().optional(),
  reduceDataAboveDays: z.number().int().positive().nullable().optional(),
  separateBreakdowns: z.boolean().optional(),
});

/** A request body the control routes refuse, answered 400 with the problems. */
class BadControlRequest extends Error {
  constructor(
    message: string,
    readonly issues?: unknown,
  ) {
    super(message);
  }
}

async function readJson(ctx: Koa.Context): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadControlRequest(`body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new BadControlRequest('body is not JSON');
  }
}

async function body<T>(ctx: Koa.Context, schema: z.ZodType<T>): Promise<T> {
  const parsed = schema.safeParse(await readJson(ctx));
  if (!parsed.success) throw new BadControlRequest('invalid body', parsed.error.issues);
  return parsed.data;
}

/**
 * `/__sandbox`: read what the sandbox served and steer what it answers next. Not part of
 * Meta's API; tests and demos use it over HTTP, or the same control object in process.
 * `POST /inject` (injectionSchema: codes, days, html, latency…), `/instagram` and `/page`
 * (one object's refusals), `/quota`, `/tokens`, `/settings` (usage headers, `pageUsageHeader`,
 * `reduceDataAboveDays`); the README's "Graph API sandbox" lists them.
 */
export function controlRoutes(state: SandboxState): Router {
  const router = new Router({ prefix: '/__sandbox' });

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!(err instanceof BadControlRequest)) throw err;
      ctx.status = 400;
      ctx.body = { error: { message: err.message, issues: err.issues } };
    }
  });

  router.get('/', (ctx) => {
    ctx.body = { accounts: state.accounts, ...state.snapshot() };
  });
  router.get('/accounts', (ctx) => {
    ctx.body = state.accounts;
  });
  router.get('/calls', (ctx) => {
    ctx.body = state.calls();
  });
  router.get('/requests', (ctx) => {
    ctx.body = state.requests();
  });
  router.post('/reset', async (ctx) => {
    const { scope } = await body(ctx, resetSchema);
    state.reset(scope);
    ctx.body = { reset: scope };
  });
  router.post('/inject', async (ctx) => {
    ctx.status = 201;
    ctx.body = state.inject(await body(ctx, injectionSchema));
  });
  router.delete('/inject', (ctx) => {
    const objectId = typeof ctx.query.objectId === 'string' ? ctx.query.objectId : undefined;
    ctx.body = { cleared: state.clearInjections(objectId) };
  });
  router.post('/tokens', async (ctx) => {
    ctx.status = 201;
    ctx.body = state.setToken(await body(ctx, tokenSchema));
  });
  router.delete('/tokens/:token', (ctx) => {
    ctx.status = state.removeToken(ctx.params.token) ? 204 : 404;
  });
  router.post('/quota', async (ctx) => {
    ctx.body = state.setQuota(await body(ctx, quotaSchema));
  });
  router.post('/instagram', async (ctx) => {
    ctx.body = state.setInstagramMode(await body(ctx, instagramModeSchema));
  });
  router.post('/page', async (ctx) => {
    ctx.body = state.setPageMode(await body(ctx, pageModeSchema));
  });
  router.post('/settings', async (ctx) => {
    ctx.body = state.configure(await body(ctx, settingsSchema));
  });
  router.post('/metrics/retire', async (ctx) => {
    ctx.body = { retired: state.retireMetric(await body(ctx, metricRetirementSchema)) };
  });
  router.post('/metrics/restore', async (ctx) => {
    ctx.body = { retired: state.restoreMetric(await body(ctx, metricRetirementSchema)) };
  });
  router.get('/metrics', (ctx) => {
    ctx.body = { retired: state.retiredMetrics() };
  });

  return router;
}
