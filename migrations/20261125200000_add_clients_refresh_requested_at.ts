import type { Knex } from 'knex';

/**
 * When an on-demand refresh of the client was last let through: claiming it with one
 * conditional UPDATE makes the cooldown hold across every API process.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.timestamp('refresh_requested_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.dropColumn('refresh_requested_at');
  });
}
