import type { Knex } from 'knex';

/**
 * The status page finds clients failing cycle after cycle from their recent failures alone: a
 * partial index keeps that a short range scan with 10,000 clients and months of results.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `create index refresh_client_results_failed_started on refresh_client_results (started_at) where outcome = 'failed'`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index refresh_client_results_failed_started');
}
