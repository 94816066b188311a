import { randomUUID } from 'node:crypto';
import { ADMIN_KEY, READ_KEY, useStackAndApi } from './helpers/api';

interface Case {
  title: string;
  method?: string;
  path: string;
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const DATA = { facebookNewFollowers: 1, instagramFollowers: 2, instagramReach: 3, instagramProfileViews: 4 };

describe('bad requests', () => {
  const harness = useStackAndApi();
  let id: string;

  beforeAll(async () => {
    id = (await harness.stack.addClient({ name: 'Victim' })).id;
  });

  const cases = (): Case[] => {
    const unknown = randomUUID();
    return [
      { title: 'no key', path: `/api/social-media-cache?clientId=${id}`, key: null, status: 401, code: 'unauthorized' },
      {
        title: 'a wrong key',
        path: `/api/social-media-cache?clientId=${id}`,
        key: 'not-a-key-of-ours-123456',
        status: 401,
        code: 'unauthorized',
      },
      {
        title: 'a key under another scheme',
        path: `/api/social-media-cache?clientId=${id}`,
        key: null,
        headers: { Authorization: `Basic ${READ_KEY}` },
        status: 401,
        code: 'unauthorized',
      },
      { title: 'a read key listing clients', path: '/api/clients', status: 403, code: 'forbidden' },
      {
        title: 'a read key adding a client',
        method: 'POST',
        path: '/api/clients',
        body: {},
        status: 403,
        code: 'forbidden',
      },
      {
        title: 'a read key starting a cycle',
        method: 'POST',
        path: '/api/automated/refresh-social-media-cache',
        status: 403,
        code: 'forbidden',
      },
      {
        title: 'a read key writing the cache',
        method: 'POST',
        path: '/api/social-media-cache',
        body: { clientId: id, data: DATA },
        status: 403,
        code: 'forbidden',
      },
      {
        title: 'a read key deleting a client',
        method: 'DELETE',
        path: `/api/clients/${id}`,
        status: 403,
        code: 'forbidden',
      },
      {
        title: 'clientId not a UUID',
        path: '/api/social-media-cache?clientId=42',
        status: 400,
        code: 'validation_failed',
      },
      { title: 'no clientId', path: '/api/social-media-cache', status: 400, code: 'validation_failed' },
      {
        title: 'an unknown client',
        path: `/api/social-media-cache?clientId=${unknown}`,
        status: 404,
        code: 'client_not_found',
      },
      {
        title: 'a period in another format',
        path: `/api/social-media-cache?clientId=${id}&period=25-11-2026`,
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a period that is no calendar day',
        path: `/api/social-media-cache?clientId=${id}&period=2026-02-30`,
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'an unknown query field',
        path: `/api/social-media-cache?clientId=${id}&foo=1`,
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'clientId given twice',
        path: `/api/social-media-cache?clientId=${id}&clientId=${id}`,
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'SQL in clientId',
        path: `/api/social-media-cache?clientId=${encodeURIComponent("' OR 1=1; DROP TABLE clients; --")}`,
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'SQL in period',
        path: `/api/social-media-cache?clientId=${id}&period=${encodeURIComponent("2026-01-01' OR '1'='1")}`,
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a range with from after to',
        path: `/api/social-media-cache/range?clientId=${id}&from=2026-11-20&to=2026-11-10`,
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a range over 92 days',
        path: `/api/social-media-cache/range?clientId=${id}&from=2026-01-01&to=2026-11-10`,
        status: 400,
        code: 'range_too_long',
      },
      {
        title: 'a range without to',
        path: `/api/social-media-cache/range?clientId=${id}&from=2026-11-20`,
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a range of an unknown client',
        path: `/api/social-media-cache/range?clientId=${unknown}&from=2026-11-01&to=2026-11-02`,
        status: 404,
        code: 'client_not_found',
      },
      {
        title: 'malformed JSON',
        method: 'POST',
        path: '/api/social-media-cache',
        key: ADMIN_KEY,
        rawBody: '{"clientId": ',
        status: 400,
        code: 'invalid_json',
      },
      {
        title: 'a body over 16 KB',
        method: 'POST',
        path: '/api/clients',
        key: ADMIN_KEY,
        body: { name: 'x'.repeat(17_000) },
        status: 413,
        code: 'payload_too_large',
      },
      {
        title: 'a body that is not JSON',
        method: 'POST',
        path: '/api/clients',
        key: ADMIN_KEY,
        rawBody: 'name=x',
        headers: { 'Content-Type': 'text/plain' },
        status: 415,
        code: 'unsupported_media_type',
      },
      {
        title: 'a number sent as a string',
        method: 'POST',
        path: '/api/social-media-cache',
        key: ADMIN_KEY,
        body: { clientId: id, data: { ...DATA, instagramReach: '12' } },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a negative number',
        method: 'POST',
        path: '/api/social-media-cache',
        key: ADMIN_KEY,
        body: { clientId: id, data: { ...DATA, instagramReach: -1 } },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a fractional follower count',
        method: 'POST',
        path: '/api/social-media-cache',
        key: ADMIN_KEY,
        body: { clientId: id, data: { ...DATA, instagramFollowers: 1.5 } },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'an unknown field in data',
        method: 'POST',
        path: '/api/social-media-cache',
        key: ADMIN_KEY,
        body: { clientId: id, data: { ...DATA, likes: 5 } },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a missing metric in data',
        method: 'POST',
        path: '/api/social-media-cache',
        key: ADMIN_KEY,
        body: { clientId: id, data: { instagramReach: 3 } },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'writing for an unknown client',
        method: 'POST',
        path: '/api/social-media-cache',
        key: ADMIN_KEY,
        body: { clientId: unknown, data: DATA },
        status: 404,
        code: 'client_not_found',
      },
      {
        title: 'a JSON array as body',
        method: 'POST',
        path: '/api/social-media-cache',
        key: ADMIN_KEY,
        body: [DATA],
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'JSON null as body',
        method: 'POST',
        path: '/api/social-media-cache',
        key: ADMIN_KEY,
        rawBody: 'null',
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'forceRefresh=yes',
        method: 'POST',
        path: '/api/social-media-cache?forceRefresh=yes',
        key: ADMIN_KEY,
        body: { clientId: id },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'forceRefresh with an extra field',
        method: 'POST',
        path: '/api/social-media-cache?forceRefresh=true',
        key: ADMIN_KEY,
        body: { clientId: id, now: true },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'forceRefresh without a body',
        method: 'POST',
        path: '/api/social-media-cache?forceRefresh=true',
        key: ADMIN_KEY,
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a client without a name',
        method: 'POST',
        path: '/api/clients',
        key: ADMIN_KEY,
        body: { facebookPageId: '1', accessToken: 'a-token-1234567890' },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a client in an unknown timezone',
        method: 'POST',
        path: '/api/clients',
        key: ADMIN_KEY,
        body: { name: 'A', facebookPageId: '1', accessToken: 'a-token-1234567890', timezone: 'Mars/Olympus' },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'a token with spaces',
        method: 'POST',
        path: '/api/clients',
        key: ADMIN_KEY,
        body: { name: 'A', facebookPageId: '1', accessToken: 'a token with spaces' },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'SQL as a Page id',
        method: 'POST',
        path: '/api/clients',
        key: ADMIN_KEY,
        body: { name: 'A', facebookPageId: "1'; DROP TABLE clients; --", accessToken: 'a-token-1234567890' },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'an empty change',
        method: 'PATCH',
        path: `/api/clients/${id}`,
        key: ADMIN_KEY,
        body: {},
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'changing a client id that is no UUID',
        method: 'PATCH',
        path: '/api/clients/not-a-uuid',
        key: ADMIN_KEY,
        body: { name: 'B' },
        status: 400,
        code: 'validation_failed',
      },
      {
        title: 'reading an unknown client',
        path: `/api/clients/${unknown}`,
        key: ADMIN_KEY,
        status: 404,
        code: 'client_not_found',
      },
      {
        title: 'deleting an unknown client',
        method: 'DELETE',
        path: `/api/clients/${unknown}`,
        key: ADMIN_KEY,
        status: 404,
        code: 'client_not_found',
      },
      {
        title: 'refreshing an unknown client',
        method: 'POST',
        path: '/api/social-media-cache?forceRefresh=true',
        key: ADMIN_KEY,
        body: { clientId: unknown },
        status: 404,
        code: 'client_not_found',
      },
      { title: 'an unknown route', path: '/api/nothing-here', status: 404, code: 'not_found' },
      {
        title: 'a method a route does not take',
        method: 'PUT',
        path: '/api/clients',
        key: ADMIN_KEY,
        body: {},
        status: 405,
        code: 'method_not_allowed',
      },
    ];
  };

  it('answers each with the right 4xx, a stable code and the error shape — never a 500', async () => {
    const table = cases();
    expect(table.length).toBeGreaterThanOrEqual(30);
    const outcomes = [];
    for (const c of table) {
      const res = await harness.api.request(c.path, {
        method: c.method,
        key: c.key === undefined ? READ_KEY : c.key,
        body: c.body,
        rawBody: c.rawBody,
        headers: c.headers,
      });
      outcomes.push({ title: c.title, status: res.status, code: res.body?.error?.code });
      expect(res.body).toEqual({
        success: false,
        error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
      });
    }
    expect(outcomes).toEqual(table.map((c) => ({ title: c.title, status: c.status, code: c.code })));
  });

  it('loses no data to them', async () => {
    const client = await harness.stack.clients.get(id);
    expect(client).toMatchObject({ name: 'Victim', hasToken: true });
    expect(await harness.stack.database.db('clients').count('* as n').first()).toEqual({ n: '1' });
  });

  it('asks for a key with WWW-Authenticate on 401', async () => {
    const res = await harness.api.request(`/api/social-media-cache?clientId=${id}`, { key: null });
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });
});
