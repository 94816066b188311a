import type { Knex } from 'knex';

/** A cycle's lanes (README: Scaling out): how many it uses, how long its starts take on them, the interval it planned for, and whether that fits 80 % of the interval. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_runs', (t) => {
    t.integer('lanes');
    t.bigInteger('needs_ms');
    t.bigInteger('interval_ms');
    t.boolean('fits_interval');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_runs', (t) => {
    t.dropColumn('lanes');
    t.dropColumn('needs_ms');
    t.dropColumn('interval_ms');
    t.dropColumn('fits_interval');
  });
}
