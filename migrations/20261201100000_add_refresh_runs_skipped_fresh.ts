import type { Knex } from 'knex';

/** Clients a cycle passed over because their numbers were fetched moments before (REFRESH_SKIP_IF_FRESHER). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_runs', (t) => {
    t.integer('skipped_fresh').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_runs', (t) => {
    t.dropColumn('skipped_fresh');
  });
}
