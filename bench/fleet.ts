/**
 * The fleet the status and read benchmarks measure at size: `clients` clients in eight
 * timezones, `days` days of cache rows each (2 % of days missing, some numbers Meta did not
 * give), 20 finished cycles 3 h apart with a result per client (60 clients failing the last
 * three, 1 % failing at random), every 500th token invalid and every 333rd Instagram permission
 * missing. `-- --large` is the 100,000 clients × 90 days a deployment on lanes serves (README:
 * Scaling out); `-- --clients N --days D` any other size.
 */
import { parseArgs } from 'node:util';
import type { Db } from '../src/db';

export interface FleetSize {
  clients: number;
  days: number;
}

/** The fleet's size from the command line (`--large`, `--clients N`, `--days D`), else `defaults`. */
export function fleetSizeFromArgs(defaults: FleetSize, args = process.argv.slice(2)): FleetSize {
  const { values } = parseArgs({
    args,
    options: { clients: { type: 'string' }, days: { type: 'string' }, large: { type: 'boolean', default: false } },
  });
  const size = {
    clients: Number(values.clients ?? (values.large ? 100_000 : defaults.clients)),
    days: Number(values.days ?? (values.large ? 90 : defaults.days)),
  };
  if (!Number.isInteger(size.clients) || size.clients < 100 || !Number.isInteger(size.days) || size.days < 1)
    throw new Error(
      `--clients takes a whole number from 100 and --days one from 1 (got ${size.clients}, ${size.days})`,
    );
  return size;
}

/** Client names are `Client 00042` (wider for fleets past 99,999). */
const nameWidth = (size: FleetSize) => Math.max(5, String(size.clients).length);
export const fleetClientName = (size: FleetSize, n: number) => `Client ${String(n).padStart(nameWidth(size), '0')}`;

const CYCLES = 20;
const TIMEZONES = [
  'America/Los_Angeles',
  'America/New_York',
  'Europe/London',
  'Europe/Warsaw',
  'Asia/Tokyo',
  'Australia/Sydney',
  'UTC',
  'America/Sao_Paulo',
];

/** Fills an empty, migrated database with a fleet of `size` (see the top of this file). */
export async function seedFleet(db: Db, size: FleetSize): Promise<void> {
  const { clients: CLIENTS, days: DAYS } = size;
  const WIDTH = nameWidth(size);
  const nameOf = (n: number) => fleetClientName(size, n);
  const started = performance.now();
  // Millions of rows: the triggers that keep each client's latest day and failing streak are
  // off while seeding, and what they keep is filled once at the end, as their migrations do.
  await db.raw('alter table social_media_cache disable trigger user');
  await db.raw('alter table refresh_client_results disable trigger user');
  await db.raw(
    `insert into clients (id, name, facebook_page_id, instagram_account_id, meta_access_token_encrypted, token_status, instagram_status, timezone)
     select gen_random_uuid(), 'Client ' || lpad(n::text, ?, '0'), (100000000 + n)::text, (178400000 + n)::text, 'bench-not-a-token',
            case when n % 500 = 0 then 'invalid' else 'valid' end,
            case when n % 333 = 0 then 'permission_missing' else 'ok' end,
            (?::text[])[1 + n % ?]
       from generate_series(1, ?) as n`,
    [WIDTH, TIMEZONES, TIMEZONES.length, CLIENTS],
  );
  // DAYS days per client, one multi-row statement per batch of clients; 2 % of days missing.
  const ids: string[] = await db('clients').orderBy('name').pluck('id');
  for (let i = 0; i < ids.length; i += 1000) {
    await db.raw(
      `insert into social_media_cache (client_id, period_id, cache_data, fetched_at, last_updated, last_attempt_at)
       select c.id, to_char((now() at time zone c.timezone)::date - d, 'YYYY-MM-DD'),
              jsonb_build_object('facebookNewFollowers', (random() * 20)::int, 'instagramFollowers', 1500 + (random() * 100)::int,
                                 'instagramReach', 10000 + (random() * 5000)::int,
                                 'instagramProfileViews', case when d > 25 then null else (random() * 80)::int end)
              || case when d > 25 then '{"unavailable":{"instagramProfileViews":"metric_unsupported"}}'::jsonb else '{}'::jsonb end,
              now() - (d * interval '1 day') - (random() * interval '4 hours'), now() - (d * interval '1 day') - (random() * interval '4 hours'), now()
         from clients c cross join generate_series(0, ? - 1) as d
        where c.id = any(?::uuid[]) and random() > 0.02`,
      [DAYS, ids.slice(i, i + 1000)],
    );
  }
  // 20 finished cycles, 3 h apart, with a result per client: 60 clients fail the last three, 1 % at random.
  for (let cycle = CYCLES; cycle >= 1; cycle--) {
    const [{ id }] = await db('refresh_runs')
      .insert({
        workflow_id: `bench-cycle-${cycle}`,
        trigger: 'schedule',
        status: 'completed',
        started_at: db.raw(`now() - (? * interval '3 hours')`, [cycle]),
        finished_at: db.raw(`now() - (? * interval '3 hours') + interval '41 minutes'`, [cycle]),
        total: CLIENTS,
        current_spacing_ms: cycle % 4 === 0 ? 3000 : 2000,
      })
      .returning('id');
    await db.raw(
      `insert into refresh_client_results (run_id, client_id, workflow_id, trigger, outcome, error_code, error_message, attempts, started_at, finished_at, duration_ms)
       select ?, c.id, 'social-media-cache-refresh-' || c.id, 'schedule', o.outcome,
              case when o.outcome = 'failed' then '17' end, case when o.outcome = 'failed' then 'User request limit reached' end, 1,
              r.started_at + (row_number() over (order by c.id)) * interval '200 ms', r.started_at + (row_number() over (order by c.id)) * interval '200 ms' + interval '1 s', 900
         from clients c
         join refresh_runs r on r.id = ?
         cross join lateral (select case when c.token_status = 'invalid' then 'skipped_token_invalid'
                                         when (? <= 3 and c.name like ? and c.name <= ?) or random() < 0.01 then 'failed'
                                         else 'refreshed' end as outcome) o`,
      [id, id, cycle, `${nameOf(0).slice(0, -2)}%`, nameOf(60)],
    );
    await db('refresh_runs')
      .where({ id })
      .update({
        refreshed: db.raw(`(select count(*) from refresh_client_results where run_id = ? and outcome = 'refreshed')`, [
          id,
        ]),
        failed: db.raw(`(select count(*) from refresh_client_results where run_id = ? and outcome = 'failed')`, [id]),
        skipped_token_invalid: db.raw(
          `(select count(*) from refresh_client_results where run_id = ? and outcome = 'skipped_token_invalid')`,
          [id],
        ),
        started: CLIENTS,
      });
  }
  await db.raw('alter table social_media_cache enable trigger user');
  await db.raw('alter table refresh_client_results enable trigger user');
  // Each client's latest day and failing streak, as their migration fills them; then the table
  // rewritten, as a fleet's table is after autovacuum, not carrying the dead row versions of this
  // one-off update.
  await db.raw(`update client_activity a set latest_period_id = l.period_id, latest_fetched_at = l.fetched_at,
                       latest_last_updated = l.last_updated, latest_error_code = l.last_error_code,
                       failing_streak = coalesce(f.streak, 0), failing_last_at = f.last_failed_at
                  from clients c2
                  left join lateral (select period_id, fetched_at, last_updated, last_error_code from social_media_cache s
                                      where s.client_id = c2.id order by period_id desc limit 1) l on true
                  left join lateral (
                    select count(*)::int as streak, max(r.started_at) as last_failed_at from refresh_client_results r
                     where r.client_id = c2.id and r.outcome = 'failed'
                       and r.started_at > coalesce((select max(ok.started_at) from refresh_client_results ok
                                                     where ok.client_id = c2.id
                                                       and ok.outcome in ('refreshed', 'skipped_fresh', 'skipped_token_invalid')), '-infinity')
                  ) f on f.streak > 0
                 where c2.id = a.client_id`);
  await db.raw('vacuum full client_activity');
  await db.raw(`insert into meta_app_usage (id, app_percent) values (1, 62)`);
  await db.raw('analyze');
  const counts = await db.raw<{ rows: { clients: string; rows: string; results: string }[] }>(
    `select (select count(*) from clients) as clients, (select count(*) from social_media_cache) as rows, (select count(*) from refresh_client_results) as results`,
  );
  const c = counts.rows[0];
  console.log(
    `seeded ${c.clients} clients, ${c.rows} cache rows, ${c.results} refresh results in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
