import type { Knex } from 'knex';

/**
 * When a day missing from the cache was asked of a refresh (a range read that met it, or a
 * backfill): a later read sees the request and does not send it again.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('social_media_cache', (t) => {
    t.timestamp('requested_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('social_media_cache', (t) => {
    t.dropColumn('requested_at');
  });
}
