import { randomBytes, randomUUID } from 'node:crypto';
import { decryptToken, encryptToken, TokenKeyring } from '../crypto';
import type { Db } from '../db';
import { AlertEvent, wantsEvent } from '../domain/alerts';
import type { DeliveryStatus, EventType, WebhookFormat } from '../domain/vocabulary';
import { recordEvent } from './events';

/** A webhook endpoint as the API shows it: never its secret (that is shown once, on creation). */
export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  format: WebhookFormat;
  enabled: boolean;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  /** Since when every attempt has failed; null when the last attempt succeeded. */
  failingSince: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
  disabledAt: string | null;
  disabledReason: string | null;
}

interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  format: WebhookFormat;
  enabled: boolean;
  secret_encrypted: string;
  description: string | null;
  created_at: Date;
  updated_at: Date;
  failing_since: Date | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  last_error: string | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

const toEndpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id,
  url: row.url,
  events: row.events,
  format: row.format,
  enabled: row.enabled,
  description: row.description,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  failingSince: iso(row.failing_since),
  lastSuccessAt: iso(row.last_success_at),
  lastFailureAt: iso(row.last_failure_at),
  lastError: row.last_error,
  disabledAt: iso(row.disabled_at),
  disabledReason: row.disabled_reason,
});

/** The secret's associated data: a ciphertext of one endpoint does not open as another's. */
const secretAad = (id: string) => `webhook:${id}`;

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface NewEndpoint {
  url: string;
  events: string[];
  format: WebhookFormat;
  enabled?: boolean;
  description?: string | null;
}

export type EndpointPatch = Partial<NewEndpoint>;

/** One attempt of a delivery, as recorded (never a secret, never the body). */
export interface DeliveryAttempt {
  attempt: number;
  startedAt: string;
  latencyMs: number;
  statusCode: number | null;
  error: string | null;
}

export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  target: string;
  endpointId: string | null;
  status: DeliveryStatus;
  attempts: number;
  createdAt: string;
  finishedAt: string | null;
  lastError: string | null;
}

/** What the delivery activity needs: the event, and the endpoint with its secret opened (null for e-mail). */
export interface DeliveryWork {
  delivery: Delivery;
  event: AlertEvent;
  endpoint: (WebhookEndpoint & { secret: string }) | null;
}

interface DeliveryRow {
  id: string;
  event_id: string;
  target: string;
  endpoint_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  created_at: Date;
  finished_at: Date | null;
  last_error: string | null;
  type?: string;
}

const toDelivery = (row: DeliveryRow): Delivery => ({
  id: row.id,
  eventId: row.event_id,
  eventType: row.type ?? '',
  target: row.target,
  endpointId: row.endpoint_id,
  status: row.status,
  attempts: row.attempts,
  createdAt: row.created_at.toISOString(),
  finishedAt: iso(row.finished_at),
  lastError: row.last_error,
});

/** A delivery whose workflow is to be started. */
export interface UnstartedDelivery {
  id: string;
  eventId: string;
  target: string;
}

/** The target key of e-mail deliveries (ALERT_EMAIL_TO). */
export const EMAIL_TARGET = 'email';

/**
 * Webhook endpoints, the deliveries of events to them (and to e-mail), and every attempt.
 * Secrets are stored encrypted with TOKEN_ENCRYPTION_KEY and opened only for signing.
 */
export class AlertStore {
  constructor(
    private readonly db: Db,
    private readonly tokenKeys?: TokenKeyring,
  ) {}

  private keys(): TokenKeyring {
    if (!this.tokenKeys) throw new Error('TOKEN_ENCRYPTION_KEY is needed to store or open webhook secrets');
    return this.tokenKeys;
  }

  /** Creates an endpoint with a new secret; the secret is returned this once. */
  async createEndpoint(input: NewEndpoint): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const id = randomUUID();
    const secret = newWebhookSecret();
    const [row] = await this.db<EndpointRow>('webhook_endpoints')
      .insert({
        id,
        url: input.url,
        events: input.events,
        format: input.format,
        enabled: input.enabled ?? true,
        description: input.description ?? null,
        secret_encrypted: encryptToken(this.keys(), secretAad(id), secret),
      })
      .returning('*');
    return { endpoint: toEndpoint(row), secret };
  }

  async listEndpoints(): Promise<WebhookEndpoint[]> {
    const rows = await this.db<EndpointRow>('webhook_endpoints').orderBy('created_at').orderBy('id');
    return rows.map(toEndpoint);
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const row = await this.db<EndpointRow>('webhook_endpoints').where({ id }).first();
    return row ? toEndpoint(row) : undefined;
  }

  /** The endpoint with its secret opened, for signing a delivery. */
  async endpointWithSecret(id: string): Promise<(WebhookEndpoint & { secret: string }) | undefined> {
    const row = await this.db<EndpointRow>('webhook_endpoints').where({ id }).first();
    if (!row) return undefined;
    return { ...toEndpoint(row), secret: decryptToken(this.keys(), secretAad(id), row.secret_encrypted).token };
  }

  /** Changes an endpoint; enabling it again clears the failing streak and the reason it was disabled. */
  async updateEndpoint(id: string, patch: EndpointPatch): Promise<WebhookEndpoint | undefined> {
    const changes: Record<string, unknown> = { updated_at: this.db.fn.now() };
    if (patch.url !== undefined) changes.url = patch.url;
    if (patch.events !== undefined) changes.events = patch.events;
    if (patch.format !== undefined) changes.format = patch.format;
    if (patch.description !== undefined) changes.description = patch.description;
    if (patch.enabled !== undefined) {
      changes.enabled = patch.enabled;
      if (patch.enabled) Object.assign(changes, { failing_since: null, disabled_at: null, disabled_reason: null });
    }
    const [row] = await this.db<EndpointRow>('webhook_endpoints').where({ id }).update(changes).returning('*');
    return row ? toEndpoint(row) : undefined;
  }

  async removeEndpoint(id: string): Promise<boolean> {
    return (await this.db('webhook_endpoints').where({ id }).delete()) > 0;
  }

  /** Endpoints failing since before `since` ago, or disabled for failing: what `/status` lists. */
  async troubledEndpoints(): Promise<WebhookEndpoint[]> {
    const rows = await this.db<EndpointRow>('webhook_endpoints')
      .whereNotNull('failing_since')
      .orWhereNotNull('disabled_at')
      .orderBy('failing_since')
      .limit(50);
    return rows.map(toEndpoint);
  }

  /**
   * The outbox: takes up to `limit` events not dispatched yet (locked, skipping those another
   * worker holds), creates one delivery per enabled endpoint that wants it (and one to e-mail when
   * `email` wants it) and marks the events dispatched, in one transaction; the deliveries are
   * returned for their workflows to be started after the commit (so the workflow finds its row).
   */
  async dispatch(options: {
    limit: number;
    email?: { events: readonly string[] };
  }): Promise<{ events: number; deliveries: UnstartedDelivery[] }> {
    return this.db.transaction(async (trx) => {
      const events = await trx('events')
        .whereNull('dispatched_at')
        .orderBy('seq')
        .limit(options.limit)
        .forUpdate()
        .skipLocked()
        .select<{ id: string; type: EventType }[]>('id', 'type');
      if (!events.length) return { events: 0, deliveries: [] };
      const endpoints = await trx<EndpointRow>('webhook_endpoints').where({ enabled: true }).select('id', 'events');
      const rows: { event_id: string; target: string; endpoint_id: string | null }[] = [];
      for (const event of events) {
        for (const endpoint of endpoints)
          if (wantsEvent(endpoint.events, event.type))
            rows.push({ event_id: event.id, target: endpoint.id, endpoint_id: endpoint.id });
        if (options.email && wantsEvent(options.email.events, event.type))
          rows.push({ event_id: event.id, target: EMAIL_TARGET, endpoint_id: null });
      }
      const created = rows.length
        ? await trx('alert_deliveries')
            .insert(rows)
            .onConflict(['event_id', 'target'])
            .ignore()
            .returning<{ id: string; event_id: string; target: string }[]>(['id', 'event_id', 'target'])
        : [];
      await trx('events')
        .whereIn(
          'id',
          events.map((e) => e.id),
        )
        .update({ dispatched_at: trx.fn.now() });
      return {
        events: events.length,
        deliveries: created.map((d) => ({ id: d.id, eventId: d.event_id, target: d.target })),
      };
    });
  }

  /** Deliveries whose workflow was not started `olderThanMs` after they were created (a crash between commit and start). */
  async unstartedDeliveries(olderThanMs: number, limit = 100): Promise<UnstartedDelivery[]> {
    const rows = await this.db('alert_deliveries')
      .whereNull('started_at')
      .where('status', 'pending')
      .where('created_at', '<', new Date(Date.now() - olderThanMs))
      .orderBy('created_at')
      .limit(limit)
      .select<{ id: string; event_id: string; target: string }[]>('id', 'event_id', 'target');
    return rows.map((d) => ({ id: d.id, eventId: d.event_id, target: d.target }));
  }

  async markStarted(deliveryIds: readonly string[]): Promise<void> {
    if (deliveryIds.length)
      await this.db('alert_deliveries').whereIn('id', deliveryIds).update({ started_at: this.db.fn.now() });
  }

  /** Everything a delivery attempt needs, or undefined when the delivery is gone (its event pruned). */
  async deliveryWork(deliveryId: string): Promise<DeliveryWork | undefined> {
    const row = await this.db('alert_deliveries as d')
      .join('events as e', 'e.id', 'd.event_id')
      .where('d.id', deliveryId)
      .first<
        DeliveryRow & {
          type: AlertEvent['type'];
          occurred_at: Date;
          client_id: string | null;
          client_name: string | null;
          facts: Record<string, unknown>;
        }
      >('d.*', 'e.type', 'e.occurred_at', 'e.client_id', 'e.client_name', 'e.facts');
    if (!row) return undefined;
    const endpoint = row.endpoint_id ? await this.endpointWithSecret(row.endpoint_id) : null;
    return {
      delivery: toDelivery(row),
      event: {
        id: row.event_id,
        type: row.type,
        occurredAt: row.occurred_at.toISOString(),
        clientId: row.client_id,
        clientName: row.client_name,
        facts: row.facts,
      },
      endpoint: endpoint ?? null,
    };
  }

  /**
   * Records one attempt; a success closes the delivery and clears the endpoint's failing streak,
   * a failure starts or extends it. Returns the attempt's number.
   */
  async recordAttempt(
    deliveryId: string,
    attempt: {
      startedAt: Date;
      latencyMs: number;
      statusCode: number | null;
      error: string | null;
      delivered: boolean;
    },
  ): Promise<number> {
    return this.db.transaction(async (trx) => {
      const [delivery] = await trx('alert_deliveries')
        .where({ id: deliveryId })
        .update({
          attempts: trx.raw('attempts + 1'),
          last_error: attempt.delivered ? null : attempt.error,
          ...(attempt.delivered ? { status: 'delivered', finished_at: trx.fn.now() } : {}),
        })
        .returning<{ attempts: number; endpoint_id: string | null }[]>(['attempts', 'endpoint_id']);
      if (!delivery) return 0;
      await trx('alert_attempts').insert({
        delivery_id: deliveryId,
        attempt: delivery.attempts,
        started_at: attempt.startedAt,
        latency_ms: attempt.latencyMs,
        status_code: attempt.statusCode,
        error: attempt.error,
      });
      if (delivery.endpoint_id)
        await trx('webhook_endpoints')
          .where({ id: delivery.endpoint_id })
          .update(
            attempt.delivered
              ? { failing_since: null, last_success_at: trx.fn.now() }
              : {
                  failing_since: trx.raw('coalesce(failing_since, ?)', [attempt.startedAt]),
                  last_failure_at: trx.fn.now(),
                  last_error: attempt.error,
                },
          );
      return delivery.attempts;
    });
  }

  /** Closes a delivery that will not be tried again (`failed`: given up; `skipped`: its endpoint is disabled or gone). */
  async closeDelivery(deliveryId: string, status: 'failed' | 'skipped', reason: string): Promise<void> {
    await this.db('alert_deliveries')
      .where({ id: deliveryId, status: 'pending' })
      .update({ status, finished_at: this.db.fn.now(), last_error: reason });
  }

  /**
   * Disables an endpoint that has failed every attempt for `afterMs`, once, recording
   * `webhook.disabled` (which the other endpoints and e-mail get). Returns whether it did.
   */
  async disableIfFailing(endpointId: string, afterMs: number): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const [row] = await trx<EndpointRow>('webhook_endpoints')
        .where({ id: endpointId, enabled: true })
        .where('failing_since', '<=', new Date(Date.now() - afterMs))
        .update({
          enabled: false,
          disabled_at: trx.fn.now(),
          disabled_reason: trx.raw(
            `'every delivery failed for ' || ?::text || '; last error: ' || coalesce(last_error, 'none recorded')`,
            [describeSpan(afterMs)],
          ),
          updated_at: trx.fn.now(),
        })
        .returning('*');
      if (!row) return false;
      await recordEvent(trx, {
        type: 'webhook.disabled',
        facts: {
          endpointId: row.id,
          url: redactUrl(row.url),
          failingSince: iso(row.failing_since),
          lastError: row.last_error,
          action: 'Fix the receiver, then enable the endpoint again',
          command: `npm run cli -- webhooks enable ${row.id}`,
        },
      });
      return true;
    });
  }

  /** An endpoint's deliveries, newest first, with their attempts. */
  async deliveriesOf(endpointId: string, limit = 50): Promise<(Delivery & { attemptLog: DeliveryAttempt[] })[]> {
    const rows = await this.db('alert_deliveries as d')
      .join('events as e', 'e.id', 'd.event_id')
      .where('d.endpoint_id', endpointId)
      .orderBy('d.created_at', 'desc')
      .limit(limit)
      .select<DeliveryRow[]>('d.*', 'e.type');
    const attempts = rows.length
      ? await this.db('alert_attempts')
          .whereIn(
            'delivery_id',
            rows.map((r) => r.id),
          )
          .orderBy('id')
      : [];
    return rows.map((row) => ({
      ...toDelivery(row),
      attemptLog: attempts
        .filter((a: { delivery_id: string }) => a.delivery_id === row.id)
        .map(
          (a: {
            attempt: number;
            started_at: Date;
            latency_ms: number;
            status_code: number | null;
            error: string | null;
          }) => ({
            attempt: a.attempt,
            startedAt: a.started_at.toISOString(),
            latencyMs: a.latency_ms,
            statusCode: a.status_code,
            error: a.error,
          }),
        ),
    }));
  }
}

/** A URL as events and logs may show it: scheme, host and path; the query (Slack-style tokens live in paths, see below) dropped. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    // Slack's incoming-webhook URL is itself the secret (/services/T…/B…/<token>): only its start is shown.
    const path = parsed.hostname.endsWith('slack.com')
      ? parsed.pathname.split('/').slice(0, 3).join('/') + '/…'
      : parsed.pathname;
    return `${parsed.protocol}//${parsed.host}${path}`;
  } catch {
    return '(not a URL)';
  }
}

function describeSpan(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1_000)} s`;
}
