import type { Knex } from 'knex';

/**
 * A cycle records each client it starts as `running`; the client's refresh replaces that with
 * `pending` while Meta makes it wait past the cycle's end, and with its outcome when it ends. The
 * cycle ends once none of its clients is `running`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table refresh_client_results drop constraint refresh_client_results_outcome_check');
  await knex.raw(
    "alter table refresh_client_results add constraint refresh_client_results_outcome_check check (outcome in ('refreshed', 'failed', 'skipped_token_invalid', 'skipped_fresh', 'already_running', 'running', 'pending'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex('refresh_client_results').whereIn('outcome', ['running', 'pending']).delete();
  await knex.raw('alter table refresh_client_results drop constraint refresh_client_results_outcome_check');
  await knex.raw(
    "alter table refresh_client_results add constraint refresh_client_results_outcome_check check (outcome in ('refreshed', 'failed', 'skipped_token_invalid', 'skipped_fresh', 'already_running'))",
  );
}
