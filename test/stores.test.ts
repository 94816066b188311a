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
    const latest = () => database.db('client_latest_day').where({ client_id: client.id }).first();
    const todayOf = async () => (await status.client(client.id, 0))!;

    // An older day first, then today: the latest is today, and the page reads it as fresh.
    await cache.writeDay(client.id, addDays(today, -2), numbers(1), new Date());
    expect((await latest()).period_id).toBe(addDays(today, -2));
    expect((await todayOf()).freshness).toBe('empty');
    await cache.writeDay(client.id, today, numbers(2), new Date());
    // Writing an older day again does not move the latest back.
    await cache.writeDay(client.id, addDays(today, -1), numbers(3), new Date());
    expect((await latest()).period_id).toBe(today);
    expect(await todayOf()).toMatchObject({ freshness: 'fresh', todayData: numbers(2) });
    // Today's row deleted: the latest falls back to the newest day left, and today reads empty.
    await database.db('social_media_cache').where({ client_id: client.id, period_id: today }).delete();
    expect((await latest()).period_id).toBe(addDays(today, -1));
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
    expect(await database.db('client_failing').where({ client_id: client.id })).toEqual([]);

    // Deleting the client deletes what was derived from it.
    await result('failed', 5);
    await database.db('clients').where({ id: client.id }).delete();
    expect(await database.db('client_latest_day').where({ client_id: client.id })).toEqual([]);
    expect(await database.db('client_failing').where({ client_id: client.id })).toEqual([]);
  });
});
