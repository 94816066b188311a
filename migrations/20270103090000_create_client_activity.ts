import type { Knex } from 'knex';
import { up as createLatestDay } from './20270102090000_create_client_latest_day';
import { up as createFailing } from './20270102090100_create_client_failing';

/** Outcomes that end a failing streak, as the status pages count it (StatusStore). */
const BREAKERS = `('refreshed', 'skipped_fresh', 'skipped_token_invalid')`;

/**
 * Each client's latest cached day and failing streak, kept until now in two tables of their own
 * (`client_latest_day`, `client_failing`), in one: `client_activity`, a row per client made with
 * the client, so the status pages' pass over the fleet joins one table (the two joins were ~90 ms
 * of ~300 ms for 100,000 clients: `bench:status -- --large`). Not on the client row: a refresh
 * holding its cache rows would update the client row, while deleting a client holds that row and
 * waits for the cache rows its cascade deletes — a deadlock (the suite met it). The triggers now
 * run only for a change of days, numbers or error, not for a dashboard's claim of a missing day
 * (`requested_at`) or an attempt's time: for any change, a claim waited on a refresh that held the
 * client's latest day while the refresh's next statement waited on the claimed row. An update
 * that changes nothing is skipped (no new row version).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('client_activity', (t) => {
    t.uuid('client_id').primary().references('id').inTable('clients').onDelete('CASCADE');
    t.text('latest_period_id');
    t.timestamp('latest_fetched_at', { useTz: true });
    t.timestamp('latest_last_updated', { useTz: true });
    t.text('latest_error_code');
    t.integer('failing_streak').notNullable().defaultTo(0);
    t.timestamp('failing_last_at', { useTz: true });
  });
  // Room on each page for the updated row version, so these updates stay heap-only (HOT).
  await knex.raw('alter table client_activity set (fillfactor = 90)');
  await knex.raw(`
    insert into client_activity (client_id, latest_period_id, latest_fetched_at, latest_last_updated, latest_error_code,
                                 failing_streak, failing_last_at)
    select c.id, l.period_id, l.fetched_at, l.last_updated, l.last_error_code, coalesce(f.streak, 0), f.last_failed_at
      from clients c
      left join client_latest_day l on l.client_id = c.id
      left join client_failing f on f.client_id = c.id`);

  await knex.raw('drop trigger client_latest_day_write on social_media_cache');
  await knex.raw('drop trigger client_latest_day_delete on social_media_cache');
  await knex.raw('drop function client_latest_day_write()');
  await knex.raw('drop function client_latest_day_delete()');
  await knex.raw('drop trigger client_failing_write on refresh_client_results');
  await knex.raw('drop function client_failing_write()');
  await knex.schema.dropTable('client_latest_day');
  await knex.schema.dropTable('client_failing');

  // A client's row here is made with it, so the triggers below only ever update.
  await knex.raw(`
    create function client_activity_create() returns trigger language plpgsql as $$
    begin
      insert into client_activity (client_id) values (new.id);
      return null;
    end $$`);
  await knex.raw(`
    create function client_activity_latest_day_write() returns trigger language plpgsql as $$
    begin
      update client_activity set latest_period_id = new.period_id, latest_fetched_at = new.fetched_at,
             latest_last_updated = new.last_updated, latest_error_code = new.last_error_code
       where client_id = new.client_id
         and (latest_period_id is null or latest_period_id <= new.period_id)
         and (latest_period_id, latest_fetched_at, latest_last_updated, latest_error_code)
             is distinct from (new.period_id, new.fetched_at, new.last_updated, new.last_error_code);
      return null;
    end $$`);
  // The latest day deleted: the newest day left (none: null). A client being deleted has no row left.
  await knex.raw(`
    create function client_activity_latest_day_delete() returns trigger language plpgsql as $$
    begin
      update client_activity a set (latest_period_id, latest_fetched_at, latest_last_updated, latest_error_code) = (
               select s.period_id, s.fetched_at, s.last_updated, s.last_error_code from social_media_cache s
                where s.client_id = old.client_id order by s.period_id desc limit 1)
       where a.client_id = old.client_id and a.latest_period_id = old.period_id;
      return null;
    end $$`);
  await knex.raw(`
    create function client_activity_failing_write() returns trigger language plpgsql as $$
    declare
      counted record;
    begin
      select count(*)::int as streak, max(r.started_at) as last_failed_at into counted from refresh_client_results r
       where r.client_id = new.client_id and r.outcome = 'failed'
         and r.started_at > coalesce((select max(ok.started_at) from refresh_client_results ok
                                       where ok.client_id = new.client_id and ok.outcome in ${BREAKERS}), '-infinity');
      update client_activity set failing_streak = counted.streak, failing_last_at = counted.last_failed_at
       where client_id = new.client_id
         and (failing_streak, failing_last_at) is distinct from (counted.streak, counted.last_failed_at);
      return null;
    end $$`);
  await knex.raw(`create trigger client_activity_create after insert on clients
                  for each row execute function client_activity_create()`);
  await knex.raw(`create trigger client_activity_latest_day_write
                  after insert or update of period_id, fetched_at, last_updated, last_error_code on social_media_cache
                  for each row execute function client_activity_latest_day_write()`);
  await knex.raw(`create trigger client_activity_latest_day_delete after delete on social_media_cache
                  for each row execute function client_activity_latest_day_delete()`);
  await knex.raw(`create trigger client_activity_failing_write
                  after insert or update of outcome, started_at on refresh_client_results
                  for each row execute function client_activity_failing_write()`);
  // The overview's default order (and the client list's), read a page at a time.
  await knex.raw('create index clients_name_index on clients (name, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index clients_name_index');
  await knex.raw('drop trigger client_activity_create on clients');
  await knex.raw('drop trigger client_activity_latest_day_write on social_media_cache');
  await knex.raw('drop trigger client_activity_latest_day_delete on social_media_cache');
  await knex.raw('drop trigger client_activity_failing_write on refresh_client_results');
  await knex.raw('drop function client_activity_create()');
  await knex.raw('drop function client_activity_latest_day_write()');
  await knex.raw('drop function client_activity_latest_day_delete()');
  await knex.raw('drop function client_activity_failing_write()');
  await knex.schema.dropTable('client_activity');
  // The tables as their migrations made them, filled from the cache and the results again
  // (those migrations also create the timezone index this one keeps).
  await knex.raw('drop index clients_timezone_index');
  await createLatestDay(knex);
  await createFailing(knex);
}
