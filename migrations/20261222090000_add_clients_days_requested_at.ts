import type { Knex } from 'knex';

/**
 * When a read last sent a client's missing old days to a refresh: the second line of the
 * client's read budget (beside `refresh_requested_at`), claimed with one conditional UPDATE so
 * it holds across every API process.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.timestamp('days_requested_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.dropColumn('days_requested_at');
  });
}
