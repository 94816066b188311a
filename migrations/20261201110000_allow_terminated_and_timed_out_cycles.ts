import type { Knex } from 'knex';

/** A cycle whose workflow was terminated or timed out is reconciled to that status instead of staying `running`. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table refresh_runs drop constraint refresh_runs_status_check');
  await knex.raw(
    "alter table refresh_runs add constraint refresh_runs_status_check check (status in ('running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex('refresh_runs').whereIn('status', ['terminated', 'timed_out']).update({ status: 'failed' });
  await knex.raw('alter table refresh_runs drop constraint refresh_runs_status_check');
  await knex.raw(
    "alter table refresh_runs add constraint refresh_runs_status_check check (status in ('running', 'completed', 'failed', 'cancelled'))",
  );
}
