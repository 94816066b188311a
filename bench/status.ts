/**
 * `npm run bench:status`: the status pages over a large fleet, on this machine, with nothing
 * shared: an embedded Postgres of its own holding BENCH_STATUS_CLIENTS (10,000; `-- --clients N`) clients in eight
 * timezones, 30 days of cache rows each (`-- --days D`; `-- --large`: 100,000 clients × 90 days) (2 % of days missing, some numbers Meta did not give),
 * 20 finished cycles with a result per client (200,000 results; 60 clients failing the last
 * three, 1 % failing at random), 20 invalid tokens and 30 Instagram permissions missing.
 *
 * The API app runs in this process (src/api/app.ts, the production routes and stores) and is
 * asked over HTTP, one request at a time, after a warm-up: `/status` (first page), a search, the
 * freshness sort, page 100, and one client's page; BENCH_STATUS_REQUESTS (30) each. Prints and
 * writes bench/results/status.txt: median and p95 per page, and the queries each page sent
 * (knex `query` events), which must not depend on the fleet's size.
 *
 * Temporal is not started: the pages read Postgres only, and the Schedule's next run time (the
 * one thing they ask Temporal) is stubbed as "no schedule yet".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ScheduleNotFoundError, type Client as TemporalClient } from '@temporalio/client';
import { createApp } from '../src/api/app';
import { createHttpServer } from '../src/api/http-server';
import { loadConfig } from '../src/config';
import { createDb, migrateLatest } from '../src/db';
import { ensureDatabase, startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { createLogger } from '../src/boot/logger';

const { values: flags } = parseArgs({
  options: { clients: { type: 'string' }, days: { type: 'string' }, large: { type: 'boolean', default: false } },
});
/** `-- --large`: the fleet of 100,000 clients × 90 days that a deployment on lanes serves (README: Scaling out). */
const CLIENTS = Number(flags.clients ?? process.env.BENCH_STATUS_CLIENTS ?? (flags.large ? 100_000 : 10_000));
const REQUESTS = Number(process.env.BENCH_STATUS_REQUESTS ?? 30);
const DAYS = Number(flags.days ?? (flags.large ? 90 : 30));
/** Client names are `Client 00042` (wider for fleets past 99,999). */
const WIDTH = Math.max(5, String(CLIENTS).length);
const nameOf = (n: number) => `Client ${String(n).padStart(WIDTH, '0')}`;
/** The default fleet's figures are bench/results/status.txt; another size's go beside them. */
const RESULTS_NAME = CLIENTS === 10_000 && DAYS === 30 ? 'status.txt' : `status-${CLIENTS}x${DAYS}.txt`;
const CYCLES = 20;
const ADMIN_KEY = 'bench-status-admin-key-0123456789';
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

/** A Temporal client whose Schedule does not exist: the pages ask nothing else of Temporal. */
export const noTemporal = {
  connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
  schedule: {
    getHandle: () => ({
      describe: () =>
        Promise.reject(new ScheduleNotFoundError('no schedule in this bench', 'social-media-cache-refresh')),
    }),
  },
} as unknown as TemporalClient;

/** Fills an empty, migrated database with the bench's fleet (see the top of this file). */
export async function seed(db: ReturnType<typeof createDb>): Promise<void> {
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
  await db.raw(`insert into client_latest_day (client_id, period_id, fetched_at, last_updated, last_error_code)
                select distinct on (client_id) client_id, period_id, fetched_at, last_updated, last_error_code
                  from social_media_cache order by client_id, period_id desc`);
  await db.raw(`insert into client_failing (client_id, streak, last_failed_at)
                select f.client_id, s.streak, s.last_failed_at
                  from (select distinct client_id from refresh_client_results where outcome = 'failed') f
                  cross join lateral (
                    select count(*)::int as streak, max(r.started_at) as last_failed_at from refresh_client_results r
                     where r.client_id = f.client_id and r.outcome = 'failed'
                       and r.started_at > coalesce((select max(ok.started_at) from refresh_client_results ok
                                                     where ok.client_id = f.client_id
                                                       and ok.outcome in ('refreshed', 'skipped_fresh', 'skipped_token_invalid')), '-infinity')
                  ) s
                 where s.streak > 0`);
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

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-status-'));
  // Run as root, Postgres runs as its own user, which must reach the directory.
  fs.chmodSync(dir, 0o755);
  const postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
  await ensureDatabase(postgres.adminUrl, 'bench_status');
  const db = createDb(postgres.urlFor('bench_status'));
  const server = createHttpServer(
    createApp({
      config: loadConfig({ ADMIN_API_KEYS: ADMIN_KEY, READ_API_KEYS: 'bench-status-read-key-0123456789' }),
      db,
      temporal: noTemporal,
      logger: createLogger('silent'),
    }),
  );
  try {
    await migrateLatest(db);
    await seed(db);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const someClient: string = (
      await db('clients')
        .where({ name: nameOf(42) })
        .first('id')
    ).id;
    const pages: [string, string, number][] = [
      ['/status (first page)', '/status', 300],
      ['/status?q=Client 0123 (search)', '/status?q=Client%200123', 300],
      ['/status?sort=freshness', '/status?sort=freshness', 300],
      ['/status?page=100', '/status?page=100', 300],
      ['/status/clients/:id', `/status/clients/${someClient}`, 100],
    ];
    let queries = 0;
    db.on('query', () => {
      queries += 1;
    });
    const lines = [
      `bench:status — ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load ${os
        .loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}`,
      `${CLIENTS} clients × ${DAYS} days of cache rows, ${CYCLES} cycles of results; ${REQUESTS} sequential requests per page after 3 warm-up`,
      '',
      `${'page'.padEnd(34)} ${'median'.padStart(8)} ${'p95'.padStart(8)} ${'p95 ≤'.padStart(8)} ${'queries'.padStart(8)} ${'bytes'.padStart(9)}`,
    ];
    for (const [label, url, target] of pages) {
      const times: number[] = [];
      const counts: number[] = [];
      let bytes = 0;
      for (let i = 0; i < REQUESTS + 3; i++) {
        queries = 0;
        const t0 = performance.now();
        const res = await fetch(`${base}${url}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
        const body = await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body.slice(0, 200)}`);
        if (i >= 3) times.push(ms);
        counts.push(queries);
        bytes = body.length;
      }
      // A fixed number of queries per page; the overview's metric catalogue re-reads Meta's
      // retirements once every 10 s (one query more in the request that does it), nothing else varies.
      const perRequest = Math.min(...counts);
      if (
        Math.max(...counts) - perRequest > 1 ||
        counts.filter((n) => n > perRequest).length > Math.ceil(counts.length / 2)
      )
        throw new Error(`${url}: queries per request varied: ${counts.join(', ')}`);
      times.sort((a, b) => a - b);
      const met = percentile(times, 95) <= target;
      lines.push(
        `${label.padEnd(34)} ${`${percentile(times, 50).toFixed(1)} ms`.padStart(8)} ${`${percentile(times, 95).toFixed(1)} ms`.padStart(8)} ${`≤ ${target}`.padStart(8)} ${String(perRequest).padStart(8)} ${String(bytes).padStart(9)}  ${met ? 'met' : 'MISSED'}`,
      );
    }
    const text = `${lines.join('\n')}\n`;
    process.stdout.write(`\n${text}`);
    fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, 'results', RESULTS_NAME), text);
  } finally {
    server.close();
    await db.destroy();
    await postgres.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
