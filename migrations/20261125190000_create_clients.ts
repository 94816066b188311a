import type { Knex } from 'knex';

/** Agency clients and their encrypted Meta tokens (README: The API, Clients). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('clients', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('name').notNullable();
    t.text('facebook_page_id').notNullable();
    t.text('instagram_account_id').nullable();
    // AES-256-GCM ciphertext under TOKEN_ENCRYPTION_KEY; never the token itself.
    t.text('meta_access_token_encrypted').nullable();
    t.text('token_status').notNullable().defaultTo('unknown');
    t.text('token_error').nullable();
    t.text('timezone').notNullable().defaultTo('UTC');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(
    "alter table clients add constraint clients_token_status_check check (token_status in ('unknown', 'valid', 'invalid'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('clients');
}
