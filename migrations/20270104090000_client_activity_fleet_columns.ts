import type { Knex } from 'knex';

/**
 * The status pages' pass over the fleet reads one table. `client_activity` (a row per client)
 * also holds what of the client row that pass reads: its name and timezone, the token's expiry
 * and end of data access, the name lower-cased for the search (`ilike` lower-cased every name
 * again, half of a search's pass), and `problems`, the bits of the problems its columns alone decide (no
 * token, token refused, Page or Instagram refused, scopes missing), kept by a trigger on the
 * client. Joining the client row to this one was two thirds of the overview at 100,000 clients
 * (~150 of ~230 ms: `bench:status -- --large`); the listed clients (a page of 50, the 20 most
 * urgent) still read their client row, by key.
 *
 * The bits are the status store's (src/stores/status.ts, PROBLEM_ORDER: bit i is the i-th kind),
 * fixed here, not read from it: a later change of these rules is a migration that replaces
 * `client_activity_problems` and recomputes the column. The scopes are PAGE_SCOPES and
 * INSTAGRAM_SCOPES of src/domain/token-lifecycle.ts; a unit test fails when either drifts.
 *
 * Lock order stays what the delete of a client needs (it holds the client row, then the rows its
 * cascade deletes): a client's update locks the client row, then this row; a cache write locks
 * cache rows, then this row; neither then takes the other's first lock.
 */
/** The bits and scopes this migration fixes (test/unit/stored-problems.test.ts holds them to the store's). */
export const STORED_PROBLEM_BITS = {
  token_invalid: 1 << 0,
  no_token: 1 << 1,
  scopes_missing: 1 << 5,
  facebook_permission_missing: 1 << 6,
  page_not_accessible: 1 << 7,
  instagram_permission_missing: 1 << 8,
  instagram_not_linked: 1 << 9,
} as const;
export const STORED_SCOPES = {
  page: ['read_insights', 'pages_read_engagement'],
  instagram: ['instagram_manage_insights'],
} as const;
const BIT = STORED_PROBLEM_BITS;
const scopes = (list: readonly string[]) => `array[${list.map((scope) => `'${scope}'`).join(', ')}]::text[]`;

/** The client row's columns copied here, as `client_activity` column = `clients` column. */
const COPIED = ['name', 'timezone', 'token_expires_at', 'data_access_expires_at'] as const;
/** What this row keeps of a client row `row`, as `client_activity` column and expression. */
const kept = (row: string): [string, string][] => [
  ...COPIED.map((col): [string, string] => [col, `${row}.${col}`]),
  ['name_lower', `lower(${row}.name)`],
  ['problems', `client_activity_problems(${row})`],
];
const columns = () =>
  kept('')
    .map(([col]) => col)
    .join(', ');
const values = (row: string) =>
  kept(row)
    .map(([, value]) => value)
    .join(', ');
/** The client columns the copy and the bits read: a change of any other leaves this row alone. */
const READ = [
  ...COPIED,
  'meta_access_token_encrypted',
  'token_status',
  'token_scopes',
  'facebook_status',
  'instagram_account_id',
  'instagram_status',
];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function client_activity_problems(c clients) returns integer language sql immutable as $$
      select case when c.meta_access_token_encrypted is null then ${BIT.no_token}
                  when c.token_status = 'invalid' then ${BIT.token_invalid}
                  when c.facebook_status = 'permission_missing' then ${BIT.facebook_permission_missing} else 0 end
           | case when c.token_scopes is not null and c.token_status <> 'invalid'
                   and not (c.token_scopes @> ${scopes(STORED_SCOPES.page)}
                            and (c.instagram_account_id is null or c.token_scopes @> ${scopes(STORED_SCOPES.instagram)}))
                  then ${BIT.scopes_missing} else 0 end
           | case when c.facebook_status = 'not_accessible' then ${BIT.page_not_accessible} else 0 end
           | case when c.instagram_account_id is null then 0
                  when c.instagram_status = 'permission_missing' then ${BIT.instagram_permission_missing}
                  when c.instagram_status = 'not_linked' then ${BIT.instagram_not_linked} else 0 end
    $$`);
  await knex.schema.alterTable('client_activity', (t) => {
    t.text('name');
    t.text('timezone');
    t.timestamp('token_expires_at', { useTz: true });
    t.timestamp('data_access_expires_at', { useTz: true });
    t.text('name_lower');
    t.integer('problems').notNullable().defaultTo(0);
  });
  await knex.raw(`
    update client_activity a set (${columns()}) = (${values('c')}) from clients c where c.id = a.client_id`);
  await knex.raw(
    'alter table client_activity alter column name set not null, alter column timezone set not null, alter column name_lower set not null',
  );
  // The overview's default order, a page at a time.
  await knex.raw('create index client_activity_name_index on client_activity (name, client_id)');

  // Made with the client, its copy with it.
  await knex.raw(`
    create or replace function client_activity_create() returns trigger language plpgsql as $$
    begin
      insert into client_activity (client_id, ${columns()}) values (new.id, ${values('new')});
      return null;
    end $$`);
  await knex.raw(`
    create function client_activity_client_write() returns trigger language plpgsql as $$
    begin
      update client_activity set (${columns()}) = (${values('new')})
       where client_id = new.id and (${columns()}) is distinct from (${values('new')});
      return null;
    end $$`);
  await knex.raw(`create trigger client_activity_client_write after update of ${READ.join(', ')} on clients
                  for each row execute function client_activity_client_write()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger client_activity_client_write on clients');
  await knex.raw('drop function client_activity_client_write()');
  await knex.raw(`
    create or replace function client_activity_create() returns trigger language plpgsql as $$
    begin
      insert into client_activity (client_id) values (new.id);
      return null;
    end $$`);
  await knex.raw('drop index client_activity_name_index');
  await knex.schema.alterTable('client_activity', (t) => {
    for (const [col] of kept('')) t.dropColumn(col);
  });
  await knex.raw('drop function client_activity_problems(clients)');
}
