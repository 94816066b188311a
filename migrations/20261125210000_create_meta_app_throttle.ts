import type { Knex } from 'knex';

/**
 * Meta's app-level throttle (codes 4 and 341) is shared by every client: one row says until
 * when no worker may call Meta, so calls stop at once instead of each client finding out.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('meta_app_throttle', (t) => {
    t.integer('id').primary();
    t.timestamp('throttled_until', { useTz: true }).notNullable();
    t.text('reason').nullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('alter table meta_app_throttle add constraint meta_app_throttle_single_row check (id = 1)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('meta_app_throttle');
}
