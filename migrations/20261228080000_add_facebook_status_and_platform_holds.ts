import type { Knex } from 'knex';

/**
 * The Page's side, as Instagram's already is: `facebook_status` says what the last fetch learnt
 * of the Page (a permission missing, a Page gone) apart from the token, which stays valid for
 * Instagram. `platform_holds` keeps, per client and platform, the time before which no path may
 * call that object: Meta's estimate of a throttle (calls made while throttled still count), or a
 * day for a Page that is gone.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.text('facebook_status').notNullable().defaultTo('unknown');
  });
  await knex.raw(
    "alter table clients add constraint clients_facebook_status_check check (facebook_status in ('unknown', 'ok', 'permission_missing', 'not_accessible', 'throttled', 'error'))",
  );
  await knex.schema.createTable('platform_holds', (t) => {
    t.uuid('client_id').notNullable().references('id').inTable('clients').onDelete('CASCADE');
    t.text('platform').notNullable();
    t.timestamp('held_until', { useTz: true }).notNullable();
    t.text('reason').notNullable();
    t.text('error_code');
    t.text('error_message');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['client_id', 'platform']);
  });
  await knex.raw(
    "alter table platform_holds add constraint platform_holds_platform_check check (platform in ('facebook', 'instagram'))",
  );
  await knex.raw(
    "alter table platform_holds add constraint platform_holds_reason_check check (reason in ('throttled', 'not_accessible'))",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('platform_holds');
  await knex.schema.alterTable('clients', (t) => {
    t.dropColumn('facebook_status');
  });
}
