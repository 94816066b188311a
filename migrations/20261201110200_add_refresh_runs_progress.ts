import type { Knex } from 'knex';

/**
 * What the parent workflow knows of its cycle, written at each page so that the status reads
 * progress from Postgres instead of asking the workflow: clients started, still pending, the
 * client started last and the spacing in use.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_runs', (t) => {
    t.integer('started').notNullable().defaultTo(0);
    t.integer('pending').notNullable().defaultTo(0);
    t.uuid('current_client_id').nullable();
    t.integer('current_spacing_ms').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_runs', (t) => {
    t.dropColumn('started');
    t.dropColumn('pending');
    t.dropColumn('current_client_id');
    t.dropColumn('current_spacing_ms');
  });
}
