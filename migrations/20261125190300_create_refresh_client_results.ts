import type { Knex } from 'knex';

/** One row per client per cycle, or per on-demand refresh (`run_id` null). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('refresh_client_results', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('run_id').nullable().references('id').inTable('refresh_runs').onDelete('CASCADE');
    t.uuid('client_id').notNullable().references('id').inTable('clients').onDelete('CASCADE');
    t.text('workflow_id').notNullable();
    t.text('trigger').notNullable();
    t.text('outcome').notNullable();
    t.text('error_code').nullable();
    t.text('error_message').nullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true }).nullable();
    t.integer('duration_ms').nullable();
    t.index(['client_id', 'started_at']);
  });
  // A client is recorded once per cycle, however often the recording activity is retried.
  await knex.raw(
    'create unique index refresh_client_results_run_client_unique on refresh_client_results (run_id, client_id) where run_id is not null',
  );
  await knex.raw(
    "alter table refresh_client_results add constraint refresh_client_results_trigger_check check (trigger in ('schedule', 'manual', 'on_demand'))",
  );
  await knex.raw(
    "alter table refresh_client_results add constraint refresh_client_results_outcome_check check (outcome in ('refreshed', 'failed', 'skipped_token_invalid', 'already_running'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('refresh_client_results');
}
