import { Writable } from 'node:stream';
import { createLogger } from '../src/boot/logger';
import { loadConfig } from '../src/config';
import { requestRefresh, RefreshRequestDeps } from '../src/temporal/request-refresh';
import { clientRefreshWorkflowId, RefreshClientResult } from '../workflows/definitions';
import { ADMIN_KEY, startApi, type TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';
import { historyText } from './helpers/temporal';

/**
 * A token's death seen days before it happens: with META_APP_ID and META_APP_SECRET the worker asks
 * Meta's debug_token about each token when it is set and once a day, through the real worker and
 * the Graph sandbox over HTTP, and /status lists what needs a person before any call fails.
 */

const APP = { id: '1234567890123', secret: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' };
const DAY_S = 86_400;

describe('token lifecycle through debug_token', () => {
  let stack: RefreshStack;
  let deps: RefreshRequestDeps;
  let api: TestApi;
  const logs: string[] = [];

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    stack = await createRefreshStack({ metaApp: APP, logger: createLogger('debug', destination) });
    deps = {
      temporal: stack.client,
      clients: stack.clients,
      cooldownMs: 0,
      lookbackDays: 2,
      taskQueue: stack.taskQueue,
    };
    api = await startApi(stack);
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  beforeEach(async () => {
    await stack.database.db('clients').delete();
    stack.sandbox.control.reset('calls');
  });

  async function refreshNow(clientId: string): Promise<RefreshClientResult> {
    expect((await requestRefresh(deps, clientId)).status).toBe('started');
    return stack.client.workflow.getHandle(clientRefreshWorkflowId(clientId)).result();
  }
  const debugCalls = () => stack.sandbox.control.calls().byPath['/debug_token'] ?? 0;

  it('asks once when the token is set, not again the same day, again after a day, and at once for a new token', async () => {
    const client = await stack.addClient();
    const now = Math.floor(Date.now() / 1000);
    stack.sandbox.control.setToken({
      token: client.token,
      expiresAt: now + 50 * DAY_S,
      dataAccessExpiresAt: now + 80 * DAY_S,
    });
    await refreshNow(client.id);
    expect(debugCalls()).toBe(1);
    const answer = await api.request(`/api/clients/${client.id}`, { key: ADMIN_KEY });
    expect(answer.body.data).toMatchObject({
      tokenExpiresAt: new Date((now + 50 * DAY_S) * 1000).toISOString(),
      dataAccessExpiresAt: new Date((now + 80 * DAY_S) * 1000).toISOString(),
      tokenScopes: expect.arrayContaining(['read_insights', 'pages_read_engagement', 'instagram_manage_insights']),
    });

    await refreshNow(client.id);
    expect(debugCalls()).toBe(1);

    await stack.database
      .db('clients')
      .where({ id: client.id })
      .update({ token_checked_at: stack.database.db.raw("now() - interval '25 hours'") });
    await refreshNow(client.id);
    expect(debugCalls()).toBe(2);

    const renewed = `${client.token}-renewed`;
    stack.sandbox.control.setToken({ token: renewed });
    await stack.clients.update(client.id, { accessToken: renewed });
    expect((await api.request(`/api/clients/${client.id}`, { key: ADMIN_KEY })).body.data).toMatchObject({
      tokenExpiresAt: null,
      tokenScopes: null,
    });
    await refreshNow(client.id);
    expect(debugCalls()).toBe(3);
    // A Page token derived from a long-lived user token never expires (expires_at 0): null.
    expect((await api.request(`/api/clients/${client.id}`, { key: ADMIN_KEY })).body.data.tokenExpiresAt).toBeNull();
  });

  it('lists a token expiring within 7 days, data access ending within 14 and a missing scope under Needs action, before any call fails', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expiring = await stack.addClient({ name: 'Expiring Token' });
    stack.sandbox.control.setToken({ token: expiring.token, expiresAt: now + 3 * DAY_S, type: 'USER' });
    const ending = await stack.addClient({ name: 'Ending Access' });
    stack.sandbox.control.setToken({ token: ending.token, dataAccessExpiresAt: now + 10 * DAY_S });
    const lacking = await stack.addClient({ name: 'Lacking Scope' });
    stack.sandbox.control.setToken({
      token: lacking.token,
      scopes: ['pages_show_list', 'read_insights', 'pages_read_engagement'],
    });
    const healthy = await stack.addClient({ name: 'Healthy Token' });
    for (const c of [expiring, ending, lacking, healthy])
      expect(await refreshNow(c.id)).toMatchObject({ outcome: 'refreshed' });

    const status = await api.request('/status', { key: ADMIN_KEY });
    const needs = status.text.slice(
      status.text.indexOf('Needs action'),
      status.text.indexOf('</section>', status.text.indexOf('Needs action')),
    );
    expect(needs).toContain('Token expiring');
    expect(needs).toContain('Expiring Token');
    expect(needs).toContain('Data access ending');
    expect(needs).toContain('Ending Access');
    expect(needs).toContain('Permissions missing');
    expect(needs).toContain('instagram_manage_insights');
    expect(needs).not.toContain('Healthy Token');
  });

  it('marks a token debug_token calls invalid before any insights call is spent on it', async () => {
    const client = await stack.addClient();
    stack.sandbox.control.setToken({ token: client.token, status: 'expired' });
    expect(await refreshNow(client.id)).toMatchObject({ outcome: 'failed', errorCode: '190' });
    expect(await stack.clients.get(client.id)).toMatchObject({
      tokenStatus: 'invalid',
      tokenError: expect.stringMatching(/^190: debug_token: /),
    });
    expect(stack.sandbox.control.calls().total).toBe(1);
  });

  it('never puts the app secret or a token in a log, an answer or a workflow history', async () => {
    const client = await stack.addClient();
    await refreshNow(client.id);
    const answer = await api.request(`/api/clients/${client.id}`, { key: ADMIN_KEY });
    const history = historyText(
      await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).fetchHistory(),
    );
    for (const text of [logs.join(''), answer.text, history, ...api.logs]) {
      expect(text).not.toContain(APP.secret);
      expect(text).not.toContain(client.token);
    }
    expect(logs.join('')).toContain('debug_token');
  });

  it('enables the check only with both app credentials, and refuses one without the other, naming no secret', () => {
    expect(() => loadConfig({ META_APP_ID: APP.id })).toThrow(/META_APP_SECRET/);
    let message = '';
    try {
      loadConfig({ META_APP_SECRET: APP.secret });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/META_APP_ID/);
    expect(message).not.toContain(APP.secret);
    expect(loadConfig({}).meta.app).toBeUndefined();
    expect(loadConfig({ META_APP_ID: APP.id, META_APP_SECRET: APP.secret }).meta.app).toEqual(APP);
  });
});
