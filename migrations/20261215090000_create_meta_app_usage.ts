import type { Knex } from 'knex';

/**
 * Meta's last reported app-level usage (`X-App-Usage`, the largest of its percentages): one row,
 * written by each refresh that got an answer, so the status page shows how close the app is to
 * the 75 % line where cycles stretch their spacing, without asking a workflow.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('meta_app_usage', (t) => {
    t.integer('id').primary();
    t.float('app_percent').notNullable();
    t.timestamp('reported_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('alter table meta_app_usage add constraint meta_app_usage_single_row check (id = 1)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('meta_app_usage');
}
