import { z } from 'zod';
import { canonicalTimeZone, isCalendarDay } from '../dates';
import { TOTAL_REASONS } from '../domain/totals';
import {
  type CoreMetricName,
  METRIC_NAMES,
  METRIC_KINDS,
  METRICS,
  type MetricName,
  type OptionalMetricName,
  UNAVAILABLE_REASONS,
  EVENT_TYPES,
  WEBHOOK_FORMATS,
} from '../domain/vocabulary';

/** Request shapes of the API, shared by validation and the OpenAPI document. */

/**
 * A UUID in its one spelling, lower case: Postgres matches ids in any case, but the API keys
 * much on the id as text (a token's additional data, the refresh's workflow id, answers kept in
 * memory, CSRF tokens), and each of those must see the same id whichever case was sent.
 */
export const uuid = z.uuid({ message: 'must be a UUID' }).transform((id) => id.toLowerCase());

/** The days the API takes: Meta has no numbers before 2000, and no dashboard asks past 2100. */
export const FIRST_DAY = '2000-01-01';
export const LAST_DAY = '2100-12-31';

export const day = z
  .string()
  .refine(isCalendarDay, { message: 'must be a calendar day written YYYY-MM-DD', abort: true })
  .refine((d) => d >= FIRST_DAY && d <= LAST_DAY, { message: `must be a day from ${FIRST_DAY} to ${LAST_DAY}` })
  .meta({ format: 'date', example: '2026-11-25' });

export const TIMEZONE_MESSAGE = 'must be an IANA timezone such as Europe/Warsaw';

const flag = z.enum(['true', 'false'], { message: 'must be true or false' });

export const cacheQuery = z.strictObject({ clientId: uuid, period: day.optional() });

export const rangeQuery = z
  .strictObject({
    clientId: uuid,
    from: day,
    to: day,
    format: z.enum(['json', 'csv'], { message: 'must be json or csv' }).optional(),
  })
  .refine((q) => q.from <= q.to, { message: '`from` must not be after `to`', path: ['from'] });

export const writeQuery = z.strictObject({ forceRefresh: flag.optional() });

const metricValue = z.number().int({ message: 'must be a whole number' }).min(0).max(1e12).nullable();

const unavailableReason = z.enum(UNAVAILABLE_REASONS);

/** A day's numbers as an admin writes them: the seed's four, and any optional metric of the catalogue. */
export const cacheData = z.strictObject({
  ...(Object.fromEntries(
    METRICS.map((metric) => [metric.name, metric.core ? metricValue : metricValue.optional()]),
  ) as Record<CoreMetricName, typeof metricValue> & Record<OptionalMetricName, z.ZodOptional<typeof metricValue>>),
  unavailable: z.partialRecord(z.enum(METRIC_NAMES), unavailableReason).optional(),
});

export const writeBody = z.strictObject({ clientId: uuid, period: day.optional(), data: cacheData });

export const forceRefreshBody = z.strictObject({ clientId: uuid });

const name = z.string().trim().min(1, { message: 'must not be empty' }).max(200);
const graphId = z.string().regex(/^\d{1,32}$/, { message: 'must be a numeric Meta id' });
const accessToken = z
  .string()
  .min(10, { message: 'must be at least 10 characters' })
  .max(2048)
  .regex(/^\S+$/, { message: 'must not contain spaces' });
/**
 * A timezone in the one name Intl resolves it to (`us/pacific` → `America/Los_Angeles`), so a
 * zone is stored, compared and cached under one spelling. Whether Postgres knows the zone too is
 * checked by the route (it needs the database).
 */
const timezone = z.string().transform((zone, ctx) => {
  const canonical = zone.length <= 64 ? canonicalTimeZone(zone) : undefined;
  if (canonical) return canonical;
  ctx.addIssue({ code: 'custom', message: TIMEZONE_MESSAGE });
  return z.NEVER;
});

export const createClientBody = z.strictObject({
  name,
  facebookPageId: graphId,
  instagramAccountId: graphId.nullable().optional(),
  accessToken,
  timezone: timezone.optional(),
});

export const updateClientBody = z
  .strictObject({
    name: name.optional(),
    facebookPageId: graphId.optional(),
    instagramAccountId: graphId.nullable().optional(),
    accessToken: accessToken.optional(),
    timezone: timezone.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'send at least one field to change' });

export const clientParams = z.object({ id: uuid });

export const metricParams = z.object({ name: z.string().min(1).max(100) });

export const emptyQuery = z.strictObject({});

export type CacheDataInput = z.output<typeof cacheData>;
export type CreateClientInput = z.output<typeof createClientBody>;
export type UpdateClientInput = z.output<typeof updateClientBody>;

/** Answers of the cache routes, built from the catalogue, for the OpenAPI document (a test checks real answers against them). */
const numberOrNull = z.number().nullable();
const reasonsByMetric = z.partialRecord(z.enum(METRIC_NAMES), unavailableReason);

export const dayNumbers = z.strictObject({
  ...(Object.fromEntries(
    METRICS.map((metric) => [
      metric.name,
      (metric.core ? numberOrNull : numberOrNull.optional()).meta({
        description: `${metric.label} (${metric.kind}${metric.core ? '' : '; present when METRICS keeps it'})`,
      }),
    ]),
  ) as Record<MetricName, typeof numberOrNull>),
  unavailable: reasonsByMetric.optional(),
  keptFrom: z.partialRecord(z.enum(METRIC_NAMES), z.string()).optional(),
  lastUpdated: z.string().nullable(),
  fromCache: z.boolean(),
  cacheAge: z.number().nullable(),
  final: z.boolean(),
});

const cacheSource = z.enum(['cache', 'stale-cache', 'empty']);
const refreshStatus = z.enum(['not_needed', 'started', 'in_progress', 'cooldown', 'token_invalid', 'unavailable']);

export const dayResponse = z.strictObject({
  success: z.literal(true),
  data: dayNumbers,
  source: cacheSource,
  period: z.string(),
  refresh: z.strictObject({ status: refreshStatus }),
});

export const metricTotal = z.union([
  z.strictObject({
    kind: z.enum(METRIC_KINDS),
    value: z.number(),
    days: z.number().optional(),
    day: z.string().optional(),
  }),
  z.strictObject({
    kind: z.enum(METRIC_KINDS),
    value: z.null(),
    reason: z.enum(TOTAL_REASONS),
    partial: z.number().optional(),
    days: z.number().optional(),
  }),
]);

export const rangeResponse = z.strictObject({
  success: z.literal(true),
  data: z.array(
    dayNumbers.extend({
      period: z.string(),
      source: cacheSource,
      refresh: z.strictObject({ status: z.union([refreshStatus, z.enum(['requested', 'beyond_meta_history'])]) }),
    }),
  ),
  totals: z.partialRecord(z.enum(METRIC_NAMES), metricTotal),
  retired: z
    .partialRecord(
      z.enum(METRIC_NAMES),
      z.strictObject({ since: z.string(), replacedBy: z.enum(METRIC_NAMES).nullable() }),
    )
    .optional(),
  refresh: z.strictObject({ status: refreshStatus }),
});

// -- Alerts -------------------------------------------------------------------------------------

const webhookUrl = z.string().min(1).max(2048);
const eventList = z
  .array(z.string().max(100))
  .min(1, { message: 'must list at least one event type, or ["*"]' })
  .max(EVENT_TYPES.length + 1)
  .refine((events) => events.every((e) => e === '*' || (EVENT_TYPES as readonly string[]).includes(e)), {
    message: `must be "*" or event types: ${EVENT_TYPES.join(', ')}`,
  })
  .transform((events) => [...new Set(events)]);

export const createWebhookBody = z.strictObject({
  url: webhookUrl,
  events: eventList.prefault(['*']),
  format: z.enum(WEBHOOK_FORMATS, { message: 'must be json or slack' }).prefault('json'),
  enabled: z.boolean({ message: 'must be true or false' }).prefault(true),
  description: z.string().trim().max(200).nullable().optional(),
});

export const updateWebhookBody = z
  .strictObject({
    url: webhookUrl.optional(),
    events: eventList.optional(),
    format: z.enum(WEBHOOK_FORMATS, { message: 'must be json or slack' }).optional(),
    enabled: z.boolean({ message: 'must be true or false' }).optional(),
    description: z.string().trim().max(200).nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'must change at least one field' });

export const eventsQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, { message: 'must be a whole number from 1 to 200' })
    .transform(Number)
    .refine((n) => n >= 1 && n <= 200, { message: 'must be a whole number from 1 to 200' })
    .optional(),
  before: z
    .string()
    .regex(/^\d{1,18}$/, { message: 'must be the `next` cursor of a previous page' })
    .optional(),
  type: z.enum(EVENT_TYPES, { message: `must be one of ${EVENT_TYPES.join(', ')}` }).optional(),
  clientId: uuid.optional(),
});
