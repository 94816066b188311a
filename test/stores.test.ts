import { randomBytes, randomUUID } from 'node:crypto';
import { createKeyring, decryptToken, encryptToken, TokenDecryptError } from '../src/crypto';
import { CacheStore } from '../src/stores/cache';
import { ClientStore } from '../src/stores/clients';
import { StatusStore } from '../src/stores/status';
import { dayIn, addDays } from '../src/dates';
import { createTestDatabase, TestDatabase } from './helpers/db';

const KEYS = createKeyring(randomBytes(32));
const TOKEN = 'EAAB-test-token-that-must-never-be-stored-in-clear';
const numbers = (n: number) => ({
  facebookNewFollowers: n,
  instagramFollowers: 1000 + n,
  instagramReach: 10 * n,
  instagramProfileViews: n + 1,
});

describe('stores', () => {
  let database: TestDatabase;
  let clients: ClientStore;
  let cache: CacheStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    clients = new ClientStore(database.db, KEYS);
    cache = new CacheStore(database.db);
  });

  afterAll(async () => {
    await database.drop();
  });

  it('keeps tokens encrypted at rest and shows only whether a client has one', async () => {
    const client = await clients.create({
      name: 'Acme',
      facebookPageId: '111',
      accessToken: TOKEN,
      timezone: 'Europe/Warsaw',
    });
    expect(client).toMatchObject({ hasToken: true, tokenStatus: 'unknown', timezone: 'Europe/Warsaw' });
    expect(JSON.stringify(client)).not.toContain(TOKEN);

    const raw = await database.db('clients').where({ id: client.id }).first();
    expect(raw.meta_access_token_encrypted).not.toContain(TOKEN);
    expect(raw.meta_access_token_encrypted).not.toContain(Buffer.from(TOKEN).toString('base64').slice(0, 20));
    expect((await clients.credentials(client.id))?.accessToken).toBe(TOKEN);

    const wrongKey = new ClientStore(database.db, createKeyring(randomBytes(32)));
    await expect(wrongKey.credentials(client.id)).rejects.toThrow(TokenDecryptError);
  });

  it('encrypts the same token differently each time and detects tampering', () => {
    const clientId = randomUUID();
    const a = encryptToken(KEYS, clientId, TOKEN);
    const b = encryptToken(KEYS, clientId, TOKEN);
    expect(a).not.toBe(b);
    expect(decryptToken(KEYS, clientId, a).token).toBe(TOKEN);
    const parts = a.split(':');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => decryptToken(KEYS, clientId, parts.join(':'))).toThrow(TokenDecryptError);
  });

  it('never lets older data or a failure replace the last good numbers', async () => {
    const client = await clients.create({ name: 'Beta', facebookPageId: '222', accessToken: TOKEN });
    const day = '2026-11-20';
    const t1 = new Date('2026-11-20T10:00:00Z');
    const t0 = new Date('2026-11-20T09:00:00Z');
    const t2 = new Date('2026-11-20T11:00:00Z');

    expect(await cache.writeDay(client.id, day, numbers(5), t1)).toBe(true);
    expect(await cache.writeDay(client.id, day, numbers(0), t0)).toBe(false);
    expect(await cache.writeDay(client.id, day, numbers(0), t1)).toBe(false);
    expect((await cache.get(client.id, day))?.data).toEqual(numbers(5));

    await cache.recordFailure(client.id, [day, '2026-11-21'], { code: '80001', message: 'throttled' });
    const kept = await cache.get(client.id, day);
    expect(kept).toMatchObject({
      data: numbers(5),
      fetchedAt: t1,
      lastErrorCode: '80001',
      lastErrorMessage: 'throttled',
    });
    expect(kept?.lastAttemptAt).toBeInstanceOf(Date);
    // A day that never succeeded is recorded as attempted, with no numbers at all.
    expect(await cache.get(client.id, '2026-11-21')).toMatchObject({
      data: null,
      fetchedAt: null,
      lastErrorCode: '80001',
    });

    expect(await cache.writeDay(client.id, day, numbers(7), t2)).toBe(true);
    expect(await cache.get(client.id, day)).toMatchObject({ data: numbers(7), fetchedAt: t2, lastErrorCode: null });
  });

  it('lets exactly one of many concurrent refresh requests through the cooldown', async () => {
    const client = await clients.create({ name: 'Gamma', facebookPageId: '333', accessToken: TOKEN });
    const claims = await Promise.all(Array.from({ length: 20 }, () => clients.claimRefreshSlot(client.id, 60_000)));
    expect(claims.filter((c) => c.claimed)).toHaveLength(1);
    const refused = claims.filter((c) => !c.claimed) as { retryAfterMs: number }[];
    expect(refused).toHaveLength(19);
    for (const r of refused) {
      expect(r.retryAfterMs).toBeGreaterThan(50_000);
      expect(r.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect((await clients.claimRefreshSlot(client.id, 0)).claimed).toBe(true);
  });

  it("keeps a client's missing-days slot apart from its refresh slot, each one winner per cooldown", async () => {
    const client = await clients.create({ name: 'Gamma days', facebookPageId: '335', accessToken: TOKEN });
    expect((await clients.claimRefreshSlot(client.id, 60_000)).claimed).toBe(true);
    const claims = await Promise.all(
      Array.from({ length: 10 }, () => clients.claimRefreshSlot(client.id, 60_000, 'days')),
    );
    expect(claims.filter((c) => c.claimed)).toHaveLength(1);
    const won = claims.find((c) => c.claimed) as { previous: Date | null };
    await clients.releaseRefreshSlot(client.id, won.previous, 'days');
    expect((await clients.claimRefreshSlot(client.id, 60_000, 'days')).claimed).toBe(true);
    expect((await clients.claimRefreshSlot(client.id, 60_000)).claimed).toBe(false);
  });

  it('pages through clients with a token by id', async () => {
    const before = await clients.countWithToken();
    await clients.create({ name: 'No token', facebookPageId: '444' });
    expect(await clients.countWithToken()).toBe(before);
    const ids: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page: { id: string }[] = await clients.pageWithToken(cursor, 2);
      if (!page.length) break;
      ids.push(...page.map((p) => p.id));
      cursor = page[page.length - 1].id;
    }
    expect(ids).toHaveLength(before);
    expect([...ids].sort()).toEqual(ids);
  });
  it("keeps each client's latest day and failing streak for the status pages, whatever writes or deletes them", async () => {
    const client = await clients.create({
      name: 'Derived',
      facebookPageId: '9191',
      accessToken: TOKEN,
      timezone: 'UTC',
    });
    const status = new StatusStore(database.db, 3_600_000);
    const today = dayIn('UTC');
    const latest = async () =>
      (await database.db('client_activity').where({ client_id: client.id }).first('latest_period_id'))
        .latest_period_id as string;
    const todayOf = async () => (await status.client(client.id, 0))!;

    // An older day first, then today: the latest is today, and the page reads it as fresh.
    await cache.writeDay(client.id, addDays(today, -2), numbers(1), new Date());
    expect(await latest()).toBe(addDays(today, -2));
    expect((await todayOf()).freshness).toBe('empty');
    await cache.writeDay(client.id, today, numbers(2), new Date());
    // Writing an older day again does not move the latest back.
    await cache.writeDay(client.id, addDays(today, -1), numbers(3), new Date());
    expect(await latest()).toBe(today);
    expect(await todayOf()).toMatchObject({ freshness: 'fresh', todayData: numbers(2) });
    // Today's row deleted: the latest falls back to the newest day left, and today reads empty.
    await database.db('social_media_cache').where({ client_id: client.id, period_id: today }).delete();
    expect(await latest()).toBe(addDays(today, -1));
    expect((await todayOf()).freshness).toBe('empty');

    // Two failures in a row are a streak of 2 (failing); a refresh ends it.
    const result = (outcome: string, minutesAgo: number) =>
      database.db('refresh_client_results').insert({
        client_id: client.id,
        workflow_id: `w-${randomUUID()}`,
        trigger: 'manual',
        outcome,
        attempts: 1,
        started_at: new Date(Date.now() - minutesAgo * 60_000),
      });
    await result('failed', 30);
    await result('failed', 20);
    expect(await todayOf()).toMatchObject({ failingStreak: 2, problems: expect.arrayContaining(['failing']) });
    await result('refreshed', 10);
    expect((await todayOf()).failingStreak).toBe(0);
    expect(await database.db('client_activity').where({ client_id: client.id }).first('failing_streak')).toEqual({
      failing_streak: 0,
    });

    // Every day deleted: no latest day, and the client still reads (empty, not an error).
    await database.db('social_media_cache').where({ client_id: client.id }).delete();
    expect(await latest()).toBeNull();
    expect(await todayOf()).toMatchObject({ freshness: 'empty', todayData: null });

    // Deleting the client with its days and results (the cascade's triggers find no row to update).
    await cache.writeDay(client.id, today, numbers(4), new Date());
    await result('failed', 5);
    await database.db('clients').where({ id: client.id }).delete();
    expect(await database.db('clients').where({ id: client.id })).toEqual([]);
    expect(await database.db('social_media_cache').where({ client_id: client.id })).toEqual([]);
    expect(await database.db('client_activity').where({ client_id: client.id })).toEqual([]);
  });

  it("answers a dashboard's claim of a missing day while a refresh's transaction holds the client's days", async () => {
    const client = await clients.create({
      name: 'Crossing',
      facebookPageId: '9292',
      accessToken: TOKEN,
      timezone: 'UTC',
    });
    const today = dayIn('UTC');
    const yesterday = addDays(today, -1);
    // Yesterday was asked for long ago and never came: an empty row, the client's latest day.
    expect(await cache.claimMissingDays(client.id, [yesterday], 60_000)).toEqual([yesterday]);
    await database
      .db('social_media_cache')
      .where({ client_id: client.id, period_id: yesterday })
      .update({ requested_at: new Date(Date.now() - 3_600_000) });

    // A refresh's write as CacheStore.mergeDays makes it: today's row created, then both days
    // locked in order, written and committed.
    const trx = await database.db.transaction();
    try {
      await trx.raw(`insert into social_media_cache (client_id, period_id, cache_data) values (?, ?, '{}'::jsonb)`, [
        client.id,
        today,
      ]);
      // The dashboard claims yesterday again meanwhile. The client's latest day is updated only
      // for a change of days or numbers, so the claim takes no lock the refresh holds: when any
      // change updated it, the claim waited for the refresh's lock and the refresh's next
      // statement for the claimed row, a deadlock.
      const claim = cache.claimMissingDays(client.id, [yesterday], 60_000);
      const answered = await Promise.race([
        claim.then(() => 'answered'),
        new Promise((resolve) => setTimeout(resolve, 5_000, 'waiting on the refresh')),
      ]);
      expect(answered).toBe('answered');
      expect(await claim).toEqual([yesterday]);
      await trx('social_media_cache')
        .where({ client_id: client.id })
        .whereIn('period_id', [yesterday, today])
        .orderBy('period_id')
        .forUpdate();
      await trx('social_media_cache')
        .where({ client_id: client.id })
        .whereIn('period_id', [yesterday, today])
        .update({ cache_data: numbers(5), fetched_at: new Date(), last_updated: new Date() });
      await trx.commit();
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
    }
    const row = await database
      .db('client_activity')
      .where({ client_id: client.id })
      .first('latest_period_id', 'latest_fetched_at');
    expect(row.latest_period_id).toBe(today);
    expect(row.latest_fetched_at).toBeInstanceOf(Date);
  });

  it('finds each problem by its rule, the most urgent first, and counts the fleet by freshness and problem', async () => {
    // A fleet of its own: the counts are the whole database's.
    const own = await createTestDatabase();
    try {
      const store = new ClientStore(own.db, KEYS);
      const days = new CacheStore(own.db);
      const status = new StatusStore(own.db, 3_600_000);
      const today = dayIn('UTC');
      const soon = (days: number) => new Date(Date.now() + days * 86_400_000);
      const make = async (
        name: string,
        changes: Record<string, unknown> = {},
        options: { token?: boolean; instagram?: boolean } = {},
      ) => {
        const client = await store.create({
          name,
          facebookPageId: String(5000 + name.length),
          instagramAccountId: options.instagram ? `1784${name.length}` : undefined,
          accessToken: options.token === false ? undefined : TOKEN,
          timezone: 'UTC',
        });
        if (Object.keys(changes).length) await own.db('clients').where({ id: client.id }).update(changes);
        return client.id;
      };
      const ids = {
        ok: await make('a ok', { token_status: 'valid' }),
        stale: await make('b stale'),
        noToken: await make('c no token', { token_expires_at: soon(1) }, { token: false }),
        invalid: await make('d invalid', { token_status: 'invalid' }),
        invalidExpiring: await make('e invalid and expiring', { token_status: 'invalid', token_expires_at: soon(1) }),
        failing: await make('f failing'),
        expiring: await make('g expiring', { token_expires_at: soon(2) }),
        dataAccess: await make('h data access', { data_access_expires_at: soon(3) }),
        scopes: await make('i scopes', { token_scopes: ['read_insights'] }),
        facebook: await make('j facebook', { facebook_status: 'permission_missing' }),
        page: await make('k page', { facebook_status: 'not_accessible' }),
        instagramPermission: await make(
          'l instagram permission',
          { instagram_status: 'permission_missing' },
          { instagram: true },
        ),
        instagramLink: await make('m instagram link', { instagram_status: 'not_linked' }, { instagram: true }),
        empty: await make('n empty'),
      };
      for (const [key, id] of Object.entries(ids)) {
        if (key === 'empty') await days.writeDay(id, addDays(today, -1), numbers(1), new Date());
        else if (key === 'stale') await days.writeDay(id, today, numbers(1), new Date(Date.now() - 2 * 3_600_000));
        else await days.writeDay(id, today, numbers(1), new Date());
      }
      await own
        .db('social_media_cache')
        .where({ client_id: ids.stale })
        .update({ last_updated: new Date(Date.now() - 2 * 3_600_000) });
      for (const minutesAgo of [30, 20]) {
        await own.db('refresh_client_results').insert({
          client_id: ids.failing,
          workflow_id: `w-${randomUUID()}`,
          trigger: 'schedule',
          outcome: 'failed',
          attempts: 1,
          started_at: new Date(Date.now() - minutesAgo * 60_000),
        });
      }

      const { summary, problems, list } = await status.overview(
        { sort: 'name', problemsOnly: false, limit: 50, offset: 0 },
        50,
      );
      const problemsOf = new Map(list.clients.map((c) => [c.id, c.problems]));
      expect(Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, problemsOf.get(id)]))).toEqual({
        ok: [],
        stale: [],
        noToken: ['no_token'],
        invalid: ['token_invalid'],
        invalidExpiring: ['token_invalid'],
        failing: ['failing'],
        expiring: ['token_expiring'],
        dataAccess: ['data_access_ending'],
        scopes: ['scopes_missing'],
        facebook: ['facebook_permission_missing'],
        page: ['page_not_accessible'],
        instagramPermission: ['instagram_permission_missing'],
        instagramLink: ['instagram_not_linked'],
        empty: ['empty_today'],
      });
      expect(summary).toEqual({
        total: 14,
        fresh: 12,
        stale: 1,
        empty: 1,
        problems: 12,
        byProblem: {
          token_invalid: 2,
          no_token: 1,
          failing: 1,
          token_expiring: 1,
          data_access_ending: 1,
          scopes_missing: 1,
          facebook_permission_missing: 1,
          page_not_accessible: 1,
          instagram_permission_missing: 1,
          instagram_not_linked: 1,
          empty_today: 1,
        },
      });
      expect(list.clients.find((c) => c.id === ids.stale)!.freshness).toBe('stale');
      // Most urgent first; within a kind, by name.
      expect(problems.clients.map((c) => c.name)).toEqual([
        'd invalid',
        'e invalid and expiring',
        'c no token',
        'f failing',
        'g expiring',
        'h data access',
        'i scopes',
        'j facebook',
        'k page',
        'l instagram permission',
        'm instagram link',
        'n empty',
      ]);
      const only = await status.overview({ sort: 'freshness', problemsOnly: true, limit: 50, offset: 0 }, 50);
      expect(only.list.total).toBe(12);
      // The freshness sort puts clients without today's numbers first, then the oldest numbers.
      expect(only.list.clients[0].name).toBe('n empty');
    } finally {
      await own.drop();
    }
  });

  it('shows a client as it is now on the status pages after each change of its name, timezone, token or Page', async () => {
    const status = new StatusStore(database.db, 3_600_000);
    const client = await clients.create({
      name: 'Żabka Östra',
      facebookPageId: '9494',
      accessToken: TOKEN,
      timezone: 'UTC',
    });
    await cache.writeDay(client.id, dayIn('UTC'), numbers(1), new Date());
    const found = async (search: string) => {
      const { list } = await status.overview({ search, sort: 'name', problemsOnly: false, limit: 50, offset: 0 }, 50);
      return { total: list.total, names: list.clients.map((c) => c.name) };
    };
    const problems = async () => (await status.client(client.id, 0))!.problems;

    // The search ignores case, beyond ASCII too, and counts what it finds.
    expect(await found('żABKA ö')).toEqual({ total: 1, names: ['Żabka Östra'] });
    await clients.update(client.id, { name: 'Żabka Västra' });
    expect(await found('östra')).toEqual({ total: 0, names: [] });
    expect(await found('VÄSTRA')).toEqual({ total: 1, names: ['Żabka Västra'] });

    // Another timezone: today is that zone's day, which has no numbers yet where the day differs.
    const far = dayIn('Pacific/Kiritimati') !== dayIn('UTC') ? 'Pacific/Kiritimati' : 'Pacific/Pago_Pago';
    await clients.update(client.id, { timezone: far });
    expect(await status.client(client.id, 0)).toMatchObject({ today: dayIn(far), freshness: 'empty' });
    expect(await problems()).toEqual(['empty_today']);
    await clients.update(client.id, { timezone: 'UTC' });
    expect(await problems()).toEqual([]);

    // The token refused, then Meta's answers on the Page: each shows at once, and goes when it is over.
    await clients.markToken(client.id, 'invalid', 'Error validating access token');
    expect(await problems()).toEqual(['token_invalid']);
    await database
      .db('clients')
      .where({ id: client.id })
      .update({ token_status: 'valid', facebook_status: 'not_accessible' });
    expect(await problems()).toEqual(['page_not_accessible']);
    await database
      .db('clients')
      .where({ id: client.id })
      .update({
        facebook_status: 'ok',
        token_scopes: ['read_insights'],
        token_expires_at: new Date(Date.now() + 86_400_000),
      });
    expect(await problems()).toEqual(['token_expiring', 'scopes_missing']);
    await database.db('clients').where({ id: client.id }).update({ meta_access_token_encrypted: null });
    expect(await problems()).toEqual(['no_token', 'scopes_missing']);

    // A search among the clients needing action counts those alone.
    const needing = async (search: string) =>
      (await status.overview({ search, sort: 'name', problemsOnly: true, limit: 50, offset: 0 }, 50)).list;
    expect(await needing('västra')).toMatchObject({ total: 1, clients: [{ name: 'Żabka Västra' }] });
    await database
      .db('clients')
      .where({ id: client.id })
      .update({ token_scopes: null, meta_access_token_encrypted: 'x' });
    expect(await problems()).toEqual(['token_expiring']);
    await database.db('clients').where({ id: client.id }).update({ token_expires_at: null });
    expect(await needing('västra')).toEqual({ total: 0, clients: [] });
  });

  it('deletes a client while a refresh writes its days: the delete waits for the refresh, neither fails', async () => {
    const client = await clients.create({
      name: 'Leaving',
      facebookPageId: '9393',
      accessToken: TOKEN,
      timezone: 'UTC',
    });
    const today = dayIn('UTC');
    await cache.writeDay(client.id, today, numbers(1), new Date(Date.now() - 60_000));
    await database.db('refresh_client_results').insert({
      client_id: client.id,
      workflow_id: `w-${randomUUID()}`,
      trigger: 'manual',
      outcome: 'running',
      attempts: 1,
      started_at: new Date(),
    });
    // The refresh has written today's numbers and its result, and not committed yet.
    const trx = await database.db.transaction();
    let removed: Promise<boolean> | undefined;
    try {
      await trx('social_media_cache')
        .where({ client_id: client.id, period_id: today })
        .update({ cache_data: numbers(2), fetched_at: new Date(), last_updated: new Date() });
      await trx('refresh_client_results').where({ client_id: client.id }).update({ outcome: 'refreshed' });
      removed = clients.remove(client.id);
      // The delete waits for the refresh's rows (a condition, not a sleep).
      for (;;) {
        const { rows } = await database.db.raw<{ rows: unknown[] }>(
          `select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
        );
        if (rows.length) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await trx.commit();
      expect(await removed).toBe(true);
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
      await removed?.catch(() => undefined);
    }
    expect(await clients.get(client.id)).toBeUndefined();
    expect(await database.db('client_activity').where({ client_id: client.id })).toEqual([]);
  });
});
