import type { Knex } from 'knex';

/**
 * The seed's per-client, per-day cache, plus `fetched_at` (when Meta answered) for the
 * last-known-good rule and the bookkeeping of the latest refresh attempt.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('social_media_cache', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('client_id').notNullable().references('id').inTable('clients').onDelete('CASCADE');
    t.text('period_id').notNullable();
    t.jsonb('cache_data').notNullable();
    t.timestamp('last_updated', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Null while no refresh has succeeded for this day: the row then only records attempts.
    t.timestamp('fetched_at', { useTz: true }).nullable();
    t.timestamp('last_attempt_at', { useTz: true }).nullable();
    t.text('last_error_code').nullable();
    t.text('last_error_message').nullable();
    t.unique(['client_id', 'period_id']);
  });
  await knex.raw(
    "alter table social_media_cache add constraint social_media_cache_period_id_check check (period_id ~ '^\\d{4}-\\d{2}-\\d{2}$')",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('social_media_cache');
}
