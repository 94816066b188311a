import type { Knex } from 'knex';

/**
 * What Meta's debug_token last said of the client's token: when it expires (null: never, or not
 * known), when the app's data access ends, its permissions, and when it was asked (null: not yet,
 * or the token was replaced since), so the worker asks at most once a day per token.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.timestamp('token_expires_at', { useTz: true }).nullable();
    t.timestamp('data_access_expires_at', { useTz: true }).nullable();
    t.specificType('token_scopes', 'text[]').nullable();
    t.timestamp('token_checked_at', { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.dropColumn('token_expires_at');
    t.dropColumn('data_access_expires_at');
    t.dropColumn('token_scopes');
    t.dropColumn('token_checked_at');
  });
}
