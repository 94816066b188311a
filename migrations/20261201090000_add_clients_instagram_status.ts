import type { Knex } from 'knex';

/**
 * What Meta said about the client's Instagram on the last refresh, apart from the token: a
 * Page token stays valid when only Instagram is refused (permission missing, account not
 * linked) or throttled, and the operator sees which.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.text('instagram_status').notNullable().defaultTo('unknown');
  });
  await knex.raw(
    "alter table clients add constraint clients_instagram_status_check check (instagram_status in ('unknown', 'ok', 'permission_missing', 'not_linked', 'throttled', 'error'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.dropColumn('instagram_status');
  });
}
