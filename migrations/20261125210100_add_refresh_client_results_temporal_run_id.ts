import type { Knex } from 'knex';

/**
 * The Temporal run that recorded a result: an on-demand refresh has no cycle, so this is what
 * keeps a retried recording from adding the same result twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_client_results', (t) => {
    t.text('temporal_run_id').nullable();
  });
  await knex.raw(
    'create unique index refresh_client_results_temporal_run_unique on refresh_client_results (workflow_id, temporal_run_id) where temporal_run_id is not null',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index refresh_client_results_temporal_run_unique');
  await knex.schema.alterTable('refresh_client_results', (t) => {
    t.dropColumn('temporal_run_id');
  });
}
