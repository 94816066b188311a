import fs from 'node:fs';
import path from 'node:path';
import { createDb, migrateLatest, migrationConfig } from '../src/db';
import { createTestDatabase, TestDatabase } from './helpers/db';

const TABLES = ['clients', 'social_media_cache', 'refresh_runs', 'refresh_client_results'];

async function tablesOf(database: TestDatabase): Promise<string[]> {
  const rows = await database
    .db('information_schema.tables')
    .where({ table_schema: 'public' })
    .whereIn('table_name', TABLES)
    .pluck('table_name');
  return rows.sort();
}

describe('migrations', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });

  afterAll(async () => {
    await database.drop();
  });

  it('go up, all the way down, and up again on a real database', async () => {
    const [, upNames] = await database.db.migrate.latest(migrationConfig());
    // Every file of migrations/ ran, in order.
    expect(upNames).toEqual(
      fs
        .readdirSync(path.join(__dirname, '..', 'migrations'))
        .map((f) => f.replace(/\.ts$/, ''))
        .sort(),
    );
    expect(await tablesOf(database)).toEqual([...TABLES].sort());

    await database.db.migrate.rollback(migrationConfig(), true);
    expect(await tablesOf(database)).toEqual([]);

    const [, againNames] = await database.db.migrate.latest(migrationConfig());
    expect(againNames).toEqual(upNames);
    expect(await tablesOf(database)).toEqual([...TABLES].sort());
  });

  it('record names without extension, so the TypeScript sources and the compiled build agree', async () => {
    const names = await database.db('knex_migrations').orderBy('id').pluck('name');
    expect(names.every((n: string) => /^\d{14}_\w+$/.test(n))).toBe(true);
    // A database migrated when names still carried `.ts` is brought along, not called corrupt.
    await database.db('knex_migrations').update({ name: database.db.raw("name || '.ts'") });
    expect(await migrateLatest(database.db)).toEqual([]);
    expect(await database.db('knex_migrations').orderBy('id').pluck('name')).toEqual(names);
  });

  it('let processes started together migrate one empty database: one applies, the others wait and find nothing to do', async () => {
    // The production topology boots two workers and two APIs at once, each migrating at start.
    const fresh = await createTestDatabase({ migrate: false });
    const processes = [0, 1, 2, 3].map(() => createDb(fresh.url, { poolMax: 2 }));
    try {
      const applied = await Promise.all(processes.map((db) => migrateLatest(db)));
      const all = fs
        .readdirSync(path.join(__dirname, '..', 'migrations'))
        .map((f) => f.replace(/\.ts$/, ''))
        .sort();
      expect(applied.map((names) => names.length).sort((a, b) => a - b)).toEqual([0, 0, 0, all.length]);
      expect(applied.find((names) => names.length > 0)).toEqual(all);
      expect(await fresh.db('knex_migrations').count<{ count: string }[]>('* as count')).toEqual([
        { count: String(all.length) },
      ]);
    } finally {
      await Promise.all(processes.map((db) => db.destroy()));
      await fresh.drop();
    }
  });

  it('create the cache table of the seed: one row per client and day, with jsonb data', async () => {
    const { db } = database;
    const [client] = await db('clients').insert({ name: 'Acme', facebook_page_id: '1001' }).returning('*');
    expect(client).toMatchObject({ token_status: 'unknown', timezone: 'UTC', instagram_account_id: null });

    await db('social_media_cache').insert({
      client_id: client.id,
      period_id: '2026-11-25',
      cache_data: { instagramReach: 12275 },
    });
    const [row] = await db('social_media_cache').where({ client_id: client.id });
    expect(row.cache_data).toEqual({ instagramReach: 12275 });
    expect(row.last_updated).toBeInstanceOf(Date);
    expect(row.fetched_at).toBeNull();

    await expect(
      db('social_media_cache').insert({ client_id: client.id, period_id: '2026-11-25', cache_data: {} }),
    ).rejects.toThrow(/social_media_cache_client_id_period_id_unique/);
    await expect(
      db('social_media_cache').insert({ client_id: client.id, period_id: '25.11.2026', cache_data: {} }),
    ).rejects.toThrow(/social_media_cache_period_id_check/);
    await expect(db('clients').where({ id: client.id }).update({ token_status: 'expired' })).rejects.toThrow(
      /clients_token_status_check/,
    );
  });

  it('record a client once per cycle however often the result is written', async () => {
    const { db } = database;
    const [client] = await db('clients').insert({ name: 'Beta', facebook_page_id: '1002' }).returning('*');
    const [run] = await db('refresh_runs').insert({ workflow_id: 'cycle-1', trigger: 'schedule' }).returning('*');
    const result = {
      run_id: run.id,
      client_id: client.id,
      workflow_id: 'child',
      trigger: 'schedule',
      outcome: 'refreshed',
    };
    await db('refresh_client_results').insert(result);
    await expect(db('refresh_client_results').insert(result)).rejects.toThrow(
      /refresh_client_results_run_client_unique/,
    );
    // On-demand refreshes have no cycle and may repeat.
    await db('refresh_client_results').insert({ ...result, run_id: null, trigger: 'on_demand' });
    await db('refresh_client_results').insert({ ...result, run_id: null, trigger: 'on_demand' });
    expect(await db('refresh_client_results').where({ client_id: client.id }).count('* as n').first()).toEqual({
      n: '3',
    });
  });
});
