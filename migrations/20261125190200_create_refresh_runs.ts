import type { Knex } from 'knex';

/** One row per refresh cycle (a `refreshAllClients` workflow, across its continue-as-new runs). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('refresh_runs', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('workflow_id').notNullable().unique();
    t.text('trigger').notNullable();
    t.text('status').notNullable().defaultTo('running');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true }).nullable();
    t.integer('total').notNullable().defaultTo(0);
    t.integer('refreshed').notNullable().defaultTo(0);
    t.integer('failed').notNullable().defaultTo(0);
    t.integer('skipped_token_invalid').notNullable().defaultTo(0);
    t.integer('already_running').notNullable().defaultTo(0);
    t.text('error').nullable();
    t.index(['started_at']);
  });
  await knex.raw(
    "alter table refresh_runs add constraint refresh_runs_trigger_check check (trigger in ('schedule', 'manual'))",
  );
  await knex.raw(
    "alter table refresh_runs add constraint refresh_runs_status_check check (status in ('running', 'completed', 'failed', 'cancelled'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('refresh_runs');
}
