import type { Knex } from 'knex';

/**
 * The fleet's watch on Meta retiring metrics. `metric_refusals`: per client, the last time Meta
 * refused a metric as invalid (a client's own refusal keeps that client from asking it for a day).
 * `metric_retirements`: a metric several clients were refused is retired for the fleet from
 * `since` (a day): it is no longer asked, its days read `metric_retired`, its documented successor
 * is switched on. `restored_at` is an operator's re-enabling (Meta sometimes restores one).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('metric_refusals', (t) => {
    t.uuid('client_id').notNullable().references('id').inTable('clients').onDelete('CASCADE');
    t.text('metric').notNullable();
    t.text('day').notNullable();
    t.timestamp('refused_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('error_code');
    t.text('error_message');
    t.primary(['client_id', 'metric']);
  });
  await knex.schema.createTable('metric_retirements', (t) => {
    t.text('metric').primary();
    t.text('since').notNullable();
    t.timestamp('retired_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('replaced_by');
    t.integer('clients').notNullable();
    t.text('error_code');
    t.text('error_message');
    t.timestamp('restored_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('metric_retirements');
  await knex.schema.dropTable('metric_refusals');
}
