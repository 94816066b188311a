import type { Knex } from 'knex';

/**
 * Events: what changed state (a token turned invalid, a client started failing, Meta retired a
 * metric, a cycle completed), recorded once per change by the statement that changed it, and
 * kept for EVENT_RETENTION. `seq` orders them for paging; the client's name is a copy, so an
 * event outlives its client. `dispatched_at` is the outbox: null until the worker has created
 * the event's deliveries and started their workflows.
 *
 * Webhook endpoints (their signing secret encrypted like Meta tokens), one delivery per event
 * and target (an endpoint, or `email`), and every attempt of a delivery.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('events', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.bigIncrements('seq', { primaryKey: false });
    t.text('type').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid('client_id');
    t.text('client_name');
    t.jsonb('facts').notNullable().defaultTo('{}');
    t.timestamp('dispatched_at', { useTz: true });
    t.index(['seq']);
    t.index(['occurred_at']);
    t.index(['client_id', 'seq']);
  });
  await knex.raw('create index events_undispatched on events (seq) where dispatched_at is null');
  await knex.raw(
    `alter table events add constraint events_type_check check (type in (${[
      'token.expiring',
      'token.invalid',
      'token.restored',
      'instagram.permission_missing',
      'instagram.not_linked',
      'facebook.permission_missing',
      'page.not_accessible',
      'client.failing',
      'client.recovered',
      'metric.retired',
      'app.throttled',
      'cycle.completed',
      'webhook.disabled',
    ]
      .map((type) => `'${type}'`)
      .join(', ')}))`,
  );
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('url').notNullable();
    t.specificType('events', 'text[]').notNullable();
    t.text('format').notNullable().checkIn(['json', 'slack'], 'webhook_endpoints_format_check');
    t.boolean('enabled').notNullable().defaultTo(true);
    t.text('secret_encrypted').notNullable();
    t.text('description');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Since when every attempt has failed (null: the last attempt succeeded, or none was made).
    t.timestamp('failing_since', { useTz: true });
    t.timestamp('last_success_at', { useTz: true });
    t.timestamp('last_failure_at', { useTz: true });
    t.text('last_error');
    t.timestamp('disabled_at', { useTz: true });
    t.text('disabled_reason');
  });
  await knex.schema.createTable('alert_deliveries', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('event_id').notNullable().references('events.id').onDelete('CASCADE');
    // An endpoint's id, or `email`.
    t.text('target').notNullable();
    t.uuid('endpoint_id').references('webhook_endpoints.id').onDelete('CASCADE');
    t.text('status')
      .notNullable()
      .defaultTo('pending')
      .checkIn(['pending', 'delivered', 'failed', 'skipped'], 'alert_deliveries_status_check');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // When its workflow was started (null: not yet, or a crash came between the commit and the start).
    t.timestamp('started_at', { useTz: true });
    t.timestamp('finished_at', { useTz: true });
    t.text('last_error');
    t.unique(['event_id', 'target']);
    t.index(['endpoint_id', 'created_at']);
  });
  await knex.raw('create index alert_deliveries_unstarted on alert_deliveries (created_at) where started_at is null');
  await knex.schema.createTable('alert_attempts', (t) => {
    t.bigIncrements('id');
    t.uuid('delivery_id').notNullable().references('alert_deliveries.id').onDelete('CASCADE');
    t.integer('attempt').notNullable();
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.integer('latency_ms').notNullable();
    // The receiver's HTTP status (null: no answer, see `error`; an e-mail: 250 when accepted).
    t.integer('status_code');
    t.text('error');
    t.index(['delivery_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('alert_attempts');
  await knex.schema.dropTable('alert_deliveries');
  await knex.schema.dropTable('webhook_endpoints');
  await knex.schema.dropTable('events');
}
