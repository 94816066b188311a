import type { Knex } from 'knex';

/** A client's result may be `skipped_fresh`: the cycle did not spend Meta quota on numbers fetched moments before. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table refresh_client_results drop constraint refresh_client_results_outcome_check');
  await knex.raw(
    "alter table refresh_client_results add constraint refresh_client_results_outcome_check check (outcome in ('refreshed', 'failed', 'skipped_token_invalid', 'skipped_fresh', 'already_running'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex('refresh_client_results').where({ outcome: 'skipped_fresh' }).delete();
  await knex.raw('alter table refresh_client_results drop constraint refresh_client_results_outcome_check');
  await knex.raw(
    "alter table refresh_client_results add constraint refresh_client_results_outcome_check check (outcome in ('refreshed', 'failed', 'skipped_token_invalid', 'already_running'))",
  );
}
