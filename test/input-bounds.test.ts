import { randomUUID } from 'node:crypto';
import { migrationConfig } from '../src/db';
import { createTestDatabase } from './helpers/db';
import { ADMIN_KEY, READ_KEY, useStackAndApi } from './helpers/api';

const TOKEN = 'EAAGbounds-token-0123456789';
const DATA = { facebookNewFollowers: 1, instagramFollowers: 2, instagramReach: 3, instagramProfileViews: 4 };

describe('days and timezones the API takes', () => {
  const harness = useStackAndApi();

  it('answers a day outside 2000-01-01…2100-12-31 with 400 validation_failed on every route that takes days, and takes both ends', async () => {
    const { id } = await harness.stack.addClient();
    const day = (period: string) => `/api/social-media-cache?clientId=${id}&period=${period}`;
    const range = (from: string, to: string) => `/api/social-media-cache/range?clientId=${id}&from=${from}&to=${to}`;
    const write = (period: string) => ({
      path: '/api/social-media-cache',
      method: 'POST',
      key: ADMIN_KEY,
      body: { clientId: id, period, data: DATA },
    });
    const refused: { path: string; method?: string; key?: string; body?: { period: string } }[] = [
      { path: day('9999-12-31') },
      { path: day('1999-12-31') },
      { path: day('2101-01-01') },
      { path: day('0000-01-01') },
      { path: range('9999-12-25', '9999-12-31') },
      { path: range('1999-12-31', '2000-01-02') },
      { path: range('2100-12-30', '2101-01-01') },
      write('9999-12-31'),
      write('1999-12-31'),
    ];
    for (const request of refused) {
      const res = await harness.api.request(request.path, { key: READ_KEY, ...request });
      expect({
        request: request.path,
        period: request.body?.period,
        status: res.status,
        code: res.body?.error?.code,
      }).toEqual({
        request: request.path,
        period: request.body?.period,
        status: 400,
        code: 'validation_failed',
      });
      expect(res.body.error.message).toContain('must be a day from 2000-01-01 to 2100-12-31');
    }
    const taken: { path: string; method?: string; key?: string; body?: unknown }[] = [
      { path: day('2000-01-01') },
      { path: day('2100-12-31') },
      { path: range('2000-01-01', '2000-01-07') },
      write('2000-01-01'),
    ];
    for (const request of taken) {
      expect((await harness.api.request(request.path, { key: READ_KEY, ...request })).status).toBe(200);
    }
  });

  it('stores a timezone under its canonical name, whatever the case or alias it was sent in', async () => {
    const created = await harness.api.request('/api/clients', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { name: 'Lower Case Zone', facebookPageId: '7000001', accessToken: TOKEN, timezone: 'us/pacific' },
    });
    expect(created.status).toBe(201);
    expect(created.body.data.timezone).toBe('America/Los_Angeles');
    const { id } = created.body.data as { id: string };
    const patched = await harness.api.request(`/api/clients/${id}`, {
      method: 'PATCH',
      key: ADMIN_KEY,
      body: { timezone: 'EUROPE/warsaw' },
    });
    expect(patched.body.data.timezone).toBe('Europe/Warsaw');
    expect((await harness.stack.database.db('clients').where({ id }).first()).timezone).toBe('Europe/Warsaw');
  });

  it('refuses a timezone Node knows and Postgres does not with 400 validation_failed, so the status page still answers for the fleet', async () => {
    const zone = 'SystemV/PST8';
    const created = await harness.api.request('/api/clients', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { name: 'Odd Zone', facebookPageId: '7000002', accessToken: TOKEN, timezone: zone },
    });
    expect({ status: created.status, code: created.body.error?.code, issues: created.body.error?.details }).toEqual({
      status: 400,
      code: 'validation_failed',
      issues: [{ path: 'body.timezone', message: expect.stringContaining('Postgres') }],
    });
    const { id } = await harness.stack.addClient();
    const patched = await harness.api.request(`/api/clients/${id}`, {
      method: 'PATCH',
      key: ADMIN_KEY,
      body: { timezone: zone },
    });
    expect({ status: patched.status, code: patched.body.error?.code }).toEqual({
      status: 400,
      code: 'validation_failed',
    });
    expect((await harness.stack.database.db('clients').where({ timezone: zone })).length).toBe(0);
    expect((await harness.api.request('/status', { key: ADMIN_KEY })).status).toBe(200);
  });
});

describe('the migration to canonical timezone names', () => {
  it('renames stored aliases and spellings to the canonical zone and leaves canonical ones alone', async () => {
    const database = await createTestDatabase({ migrate: false });
    try {
      const config = migrationConfig();
      await database.db.migrate.latest(config);
      // Back to just before this migration, however many came after it.
      while ((await database.db.migrate.currentVersion(config)) >= '20261220090000')
        await database.db.migrate.down(config);
      const rows = [
        { name: 'Alias', facebook_page_id: '1', timezone: 'US/Pacific' },
        { name: 'Lower', facebook_page_id: '2', timezone: 'europe/warsaw' },
        { name: 'Canonical', facebook_page_id: '3', timezone: 'Asia/Tokyo' },
      ];
      await database.db('clients').insert(rows.map((r) => ({ id: randomUUID(), ...r })));
      await database.db.migrate.latest(config);
      const after = await database.db('clients').orderBy('facebook_page_id').select('timezone');
      expect(after.map((r: { timezone: string }) => r.timezone)).toEqual([
        'America/Los_Angeles',
        'Europe/Warsaw',
        'Asia/Tokyo',
      ]);
    } finally {
      await database.drop();
    }
  });
});
