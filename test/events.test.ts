import { randomBytes, randomUUID } from 'node:crypto';
import { recordClientResults } from '../activities/records';
import { createKeyring } from '../src/crypto';
import { createStores, Stores } from '../src/stores';
import { createTestDatabase, TestDatabase } from './helpers/db';

/** Events are recorded once per change of state by the statement that changes it, against real Postgres. */
describe('events', () => {
  let database: TestDatabase;
  let stores: Stores;

  beforeAll(async () => {
    database = await createTestDatabase();
    stores = createStores(database.db, createKeyring(randomBytes(32)));
  });

  afterAll(async () => {
    await database?.drop();
  });

  async function client(name: string) {
    return stores.clients.create({
      name,
      facebookPageId: String(Date.now() % 1e9),
      accessToken: `token-${randomUUID()}`,
    });
  }

  const typesOf = async (clientId: string) =>
    (await stores.events.list({ limit: 100, clientId })).events.map((e) => e.type).reverse();

  async function refreshed(clientId: string, outcome: 'failed' | 'refreshed', at: number) {
    await recordClientResults(
      stores.refresh,
      [
        {
          cycleId: null,
          clientId,
          workflowId: `wf-${clientId}`,
          trigger: 'on_demand',
          outcome,
          errorCode: outcome === 'failed' ? '2' : null,
          errorMessage: outcome === 'failed' ? 'An unexpected error has occurred' : null,
          attempts: 1,
          startedAt: new Date(at).toISOString(),
        },
      ],
      { events: stores.events, failingAfter: 3 },
    );
  }

  it('records client.failing once at the 3rd failure in a row, and client.recovered when refreshed again', async () => {
    const c = await client('Streaky');
    const t = Date.now() - 3_600_000;
    await refreshed(c.id, 'failed', t);
    await refreshed(c.id, 'failed', t + 1_000);
    expect(await typesOf(c.id)).toEqual([]);
    await refreshed(c.id, 'failed', t + 2_000);
    await refreshed(c.id, 'failed', t + 3_000);
    await refreshed(c.id, 'failed', t + 4_000);
    expect(await typesOf(c.id)).toEqual(['client.failing']);
    const [failing] = (await stores.events.list({ limit: 1, clientId: c.id })).events;
    expect(failing).toMatchObject({
      clientName: 'Streaky',
      facts: { consecutiveFailures: 3, metaError: { code: '2' }, command: `npm run cli -- clients show ${c.id}` },
    });
    await refreshed(c.id, 'refreshed', t + 5_000);
    await refreshed(c.id, 'refreshed', t + 6_000);
    expect(await typesOf(c.id)).toEqual(['client.failing', 'client.recovered']);
  });

  it('records token, Instagram and Page states on their change only', async () => {
    const c = await client('Stateful');
    await stores.clients.markToken(c.id, 'invalid', '190: Error validating access token');
    await stores.clients.markToken(c.id, 'invalid', '190: Error validating access token');
    await stores.clients.markToken(c.id, 'valid');
    await stores.clients.markToken(c.id, 'valid');
    await stores.clients.markInstagram(c.id, 'permission_missing');
    await stores.clients.markInstagram(c.id, 'permission_missing');
    await stores.clients.markInstagram(c.id, 'ok');
    await stores.clients.markInstagram(c.id, 'not_linked');
    await stores.clients.markFacebook(c.id, 'not_accessible');
    await stores.clients.markFacebook(c.id, 'permission_missing');
    expect(await typesOf(c.id)).toEqual([
      'token.invalid',
      'token.restored',
      'instagram.permission_missing',
      'instagram.not_linked',
      'page.not_accessible',
      'facebook.permission_missing',
    ]);
    // A state set only for the token that was used: a stale token version changes nothing and says nothing.
    await stores.clients.markToken(c.id, 'invalid', '190', 'v2:some-other-ciphertext');
    expect(await typesOf(c.id)).toHaveLength(6);
  });

  it('records token.expiring once per end date, within 7 days', async () => {
    const c = await client('Expiring');
    const { tokenVersion } = (await stores.clients.credentials(c.id))!;
    const far = { expiresAt: new Date(Date.now() + 30 * 86_400_000), dataAccessExpiresAt: null, scopes: [] };
    await stores.clients.markTokenChecked(c.id, tokenVersion, far);
    expect(await typesOf(c.id)).toEqual([]);
    const soon = { ...far, expiresAt: new Date(Date.now() + 5 * 86_400_000) };
    await stores.clients.markTokenChecked(c.id, tokenVersion, soon);
    await stores.clients.markTokenChecked(c.id, tokenVersion, soon);
    const dataSooner = { ...soon, dataAccessExpiresAt: new Date(Date.now() + 2 * 86_400_000) };
    await stores.clients.markTokenChecked(c.id, tokenVersion, dataSooner);
    const events = (await stores.events.list({ limit: 10, clientId: c.id })).events.reverse();
    expect(events.map((e) => [e.type, e.facts.what, e.facts.daysLeft])).toEqual([
      ['token.expiring', 'token', 4],
      ['token.expiring', 'data_access', 1],
    ]);
  });

  it('records app.throttled when the throttle starts, not while it lasts; cycle.completed once per cycle', async () => {
    const before = (await stores.events.list({ limit: 100, type: 'app.throttled' })).events.length;
    await stores.appThrottle.throttle(new Date(Date.now() + 60_000), '4: Application request limit reached');
    await stores.appThrottle.throttle(new Date(Date.now() + 120_000), '4: Application request limit reached');
    const throttled = (await stores.events.list({ limit: 100, type: 'app.throttled' })).events;
    expect(throttled.length - before).toBe(1);
    expect(throttled[0].facts).toMatchObject({ metaError: '4: Application request limit reached' });

    const cycleId = await stores.refresh.startCycle('wf-cycle', 'schedule', 2);
    await stores.refresh.finishCycle(cycleId, 'completed');
    await stores.refresh.finishCycle(cycleId, 'completed');
    const completed = (await stores.events.list({ limit: 100, type: 'cycle.completed' })).events;
    expect(completed.filter((e) => e.facts.cycleId === cycleId)).toHaveLength(1);
  });

  it('pages newest first with a cursor and prunes past the retention', async () => {
    const c = await client('Paged');
    for (const status of ['invalid', 'valid', 'invalid', 'valid', 'invalid'] as const)
      await stores.clients.markToken(c.id, status, status === 'invalid' ? '190' : null);
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await stores.events.list({ limit: 2, clientId: c.id, before });
      seen.push(...page.events.map((e) => e.type));
      if (!page.next) break;
      before = page.next;
    }
    expect(seen).toEqual(['token.invalid', 'token.restored', 'token.invalid', 'token.restored', 'token.invalid']);
    await database
      .db('events')
      .where({ client_id: c.id })
      .update({ occurred_at: database.db.raw("now() - interval '31 days'") });
    expect(await stores.events.prune(30 * 86_400_000)).toBeGreaterThanOrEqual(5);
    expect(await typesOf(c.id)).toEqual([]);
  });

  it('disables an endpoint failing for longer than the threshold, once, with webhook.disabled', async () => {
    const { endpoint } = await stores.alerts.createEndpoint({
      url: 'https://hooks.example.com/a',
      events: ['*'],
      format: 'json',
    });
    expect(await stores.alerts.disableIfFailing(endpoint.id, 60_000)).toBe(false);
    await database
      .db('webhook_endpoints')
      .where({ id: endpoint.id })
      .update({
        failing_since: new Date(Date.now() - 120_000),
        last_error: 'the receiver answered 503',
      });
    expect(await stores.alerts.disableIfFailing(endpoint.id, 60_000)).toBe(true);
    expect(await stores.alerts.disableIfFailing(endpoint.id, 60_000)).toBe(false);
    const disabled = (await stores.events.list({ limit: 10, type: 'webhook.disabled' })).events;
    expect(disabled).toHaveLength(1);
    expect(disabled[0].facts).toMatchObject({ endpointId: endpoint.id, lastError: 'the receiver answered 503' });
    expect(await stores.alerts.getEndpoint(endpoint.id)).toMatchObject({
      enabled: false,
      disabledReason: expect.stringContaining('503'),
    });
    expect((await stores.alerts.updateEndpoint(endpoint.id, { enabled: true }))!).toMatchObject({
      enabled: true,
      failingSince: null,
      disabledReason: null,
    });
  });
});
