import { Webhook } from 'standardwebhooks';
import { dispatchEventsPeriodically } from '../src/alerts/dispatcher';
import { postWebhook, DestinationRefusedError } from '../src/alerts/send';
import { createLogger } from '../src/boot/logger';
import { loadConfig } from '../src/config';
import { waitFor } from '../src/net';
import { createStores, Stores } from '../src/stores';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { clientRefreshWorkflowId } from '../workflows/definitions';
import { refreshClient } from '../workflows/refresh-client';
import { ADMIN_KEY, startApi, TestApi } from './helpers/api';
import { ReceivedMail, Receiver, startReceiver, startSmtpServer } from './helpers/receivers';
import { createRefreshStack, RefreshStack } from './helpers/stack';

/**
 * Alerts end to end: the real worker records events as states change, its outbox starts one
 * Temporal delivery per event and endpoint, and real HTTP receivers and an SMTP server get them.
 */
describe('alerts', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let stores: Stores;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let stopDispatch: () => Promise<void>;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    smtp = await startSmtpServer();
    const env = {
      WEBHOOK_ALLOW_INSECURE: 'true',
      WEBHOOK_RETRY_INITIAL: '500ms',
      WEBHOOK_RETRY_FOR: '5m',
      WEBHOOK_TIMEOUT: '2s',
      ALERT_EMAIL_TO: 'ops@agency.example,alerts@agency.example',
      SMTP_URL: smtp.url,
      ALERT_EMAIL_EVENTS: 'token.invalid,token.restored',
    };
    const config = loadConfig(env);
    const settings = { ...config.alerts, retry: { ...config.alerts.retry, maximumMs: 4_000 } };
    stack = await createRefreshStack({
      activityOptions: {
        alerts: {
          policy: settings.policy,
          timeoutMs: settings.timeoutMs,
          disableAfterMs: settings.disableAfterMs,
          email: { to: settings.email!.to, smtpUrl: settings.email!.smtpUrl, from: settings.email!.from },
        },
      },
    });
    api = await startApi(stack, { env });
    stores = createStores(stack.database.db, stack.tokenKeys);
    stopDispatch = dispatchEventsPeriodically(
      {
        temporal: stack.client,
        alerts: stores.alerts,
        events: stores.events,
        logger: createLogger('silent'),
        settings,
        taskQueue: stack.taskQueue,
      },
      200,
    );
  });

  afterAll(async () => {
    await stopDispatch?.();
    await api?.close();
    await stack?.close();
    await smtp?.close();
    for (const r of receivers) await r.close();
  });

  async function receiver(): Promise<Receiver> {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  }

  async function addEndpoint(body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
    const answer = await api.request('/api/webhooks', { method: 'POST', key: ADMIN_KEY, body });
    expect(answer.status).toBe(201);
    return answer.body.data;
  }

  /** One refresh of the client, after the one running (a new client's backfill) has ended. */
  async function refresh(clientId: string): Promise<void> {
    const workflowId = clientRefreshWorkflowId(clientId);
    for (;;) {
      try {
        await stack.client.workflow.execute(refreshClient, {
          taskQueue: stack.taskQueue,
          workflowId,
          args: [{ clientId, trigger: 'manual', lookbackDays: 1 }],
        });
        return;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        await stack.client.workflow.getHandle(workflowId).result();
      }
    }
  }

  /** The delivery to `endpointId` of the client's `type` event, as the admin API shows it. */
  async function deliveryOf(endpointId: string, clientId: string, type: string) {
    const events = await api.request(`/api/events?clientId=${clientId}&type=${type}`, { key: ADMIN_KEY });
    expect(events.body.data).toHaveLength(1);
    const shown = await api.request(`/api/webhooks/${endpointId}`, { key: ADMIN_KEY });
    return shown.body.data.deliveries.find((d: { eventId: string }) => d.eventId === events.body.data[0].id);
  }

  /** Every event dispatched and every delivery closed: nothing more will arrive. */
  async function settled(): Promise<void> {
    await waitFor(
      async () => {
        const [{ n: waiting }] = await stack.database
          .db('events')
          .whereNull('dispatched_at')
          .count<{ n: string }[]>('* as n');
        const [{ n: open }] = await stack.database
          .db('alert_deliveries')
          .where({ status: 'pending' })
          .count<{ n: string }[]>('* as n');
        return Number(waiting) === 0 && Number(open) === 0;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'every delivery to close' },
    );
  }

  const ofType = (r: Receiver, type: string) => r.requests.filter((q) => q.json?.type === type && q.status === 200);
  const mailsOf = (type: string): ReceivedMail[] => smtp.mails.filter((m) => m.raw.includes(`X-Event-Type: ${type}`));

  it('sends one signed token.invalid per endpoint that wants it, not one per cycle, and e-mails it', async () => {
    const everything = await receiver();
    const justTokens = await receiver();
    const otherThings = await receiver();
    const all = await addEndpoint({ url: everything.url, events: ['*'] });
    const tokens = await addEndpoint({ url: justTokens.url, events: ['token.invalid'] });
    await addEndpoint({ url: otherThings.url, events: ['client.recovered', 'cycle.completed'] });
    expect(all.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);

    const client = await stack.addClient({ name: 'Alert Acme' });
    stack.sandbox.control.setToken({ token: client.token, status: 'expired' });
    await refresh(client.id);
    await refresh(client.id);
    await refresh(client.id);
    await settled();

    for (const [r, endpoint] of [
      [everything, all],
      [justTokens, tokens],
    ] as const) {
      const got = ofType(r, 'token.invalid');
      expect(got).toHaveLength(1);
      const [request] = got;
      expect(request.json.data).toMatchObject({ type: 'token.invalid', clientId: client.id, clientName: 'Alert Acme' });
      expect(request.json.data.facts.command).toBe(`npm run cli -- clients update ${client.id} --token-stdin`);
      expect(request.headers['webhook-id']).toBe(request.json.data.id);
      // Standard Webhooks: the receiver's library verifies it, and refuses a tampered body.
      const headers = request.headers as Record<string, string>;
      expect(new Webhook(endpoint.secret).verify(request.body, headers)).toEqual(request.json);
      expect(() =>
        new Webhook(endpoint.secret).verify(request.body.replace('Alert Acme', 'Alert Acne'), headers),
      ).toThrow();
      expect(() => new Webhook(all === endpoint ? tokens.secret : all.secret).verify(request.body, headers)).toThrow();
      expect(request.body).not.toContain(client.token);
    }
    expect(ofType(otherThings, 'token.invalid')).toHaveLength(0);
    const mails = mailsOf('token.invalid').filter((m) => m.raw.includes('Alert Acme'));
    expect(mails).toHaveLength(1);
    expect(mails[0].to.sort()).toEqual(['alerts@agency.example', 'ops@agency.example']);
    expect(mails[0].raw).toContain('Subject: [social-media-cache] Meta token invalid: Alert Acme');

    // A replaced token Meta accepts: token.restored once, to the endpoint on "*" and by e-mail.
    const renewed = `${client.token}-renewed`;
    stack.sandbox.control.setToken({ token: renewed });
    expect(
      (
        await api.request(`/api/clients/${client.id}`, {
          method: 'PATCH',
          key: ADMIN_KEY,
          body: { accessToken: renewed },
        })
      ).status,
    ).toBe(200);
    await refresh(client.id);
    await refresh(client.id);
    await settled();
    expect(ofType(everything, 'token.restored').map((r) => r.json.data.clientId)).toEqual([client.id]);
    expect(ofType(justTokens, 'token.restored')).toHaveLength(0);
    expect(mailsOf('token.restored').filter((m) => m.raw.includes('Alert Acme'))).toHaveLength(1);

    // The admin route lists the events, newest first, a page at a time.
    const first = await api.request(`/api/events?clientId=${client.id}&limit=1`, { key: ADMIN_KEY });
    expect(first.status).toBe(200);
    expect(first.body.data.map((e: { type: string }) => e.type)).toEqual(['token.restored']);
    const second = await api.request(`/api/events?clientId=${client.id}&limit=1&before=${first.body.next}`, {
      key: ADMIN_KEY,
    });
    expect(second.body.data.map((e: { type: string }) => e.type)).toEqual(['token.invalid']);
    expect(second.body.next).toBeNull();
    expect(JSON.stringify([first.body, second.body])).not.toContain(client.token);
    expect((await api.request('/api/events?limit=500', { key: ADMIN_KEY })).body.error.code).toBe('validation_failed');
  });

  it('delivers once to a receiver answering 500 then 200, and records both attempts', async () => {
    const flaky = await receiver();
    flaky.answer(500);
    const endpoint = await addEndpoint({ url: flaky.url, events: ['token.invalid'] });
    const client = await stack.addClient({ name: 'Alert Flaky' });
    stack.sandbox.control.setToken({ token: client.token, status: 'expired' });
    await refresh(client.id);
    await settled();
    const forClient = flaky.requests.filter((r) => r.json?.data?.clientId === client.id);
    expect(forClient.map((r) => r.status)).toEqual([500, 200]);
    expect(new Set(forClient.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const shown = await api.request(`/api/webhooks/${endpoint.id}`, { key: ADMIN_KEY });
    const delivery = await deliveryOf(endpoint.id, client.id, 'token.invalid');
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(delivery.attemptLog.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 200]);
    expect(delivery.attemptLog[0].error).toBe('the receiver answered 500');
    expect(shown.body.data.failingSince).toBeNull();
    expect(JSON.stringify(shown.body)).not.toContain(endpoint.secret);
  });

  it('gives up at once on a 4xx, and honours Retry-After on a 429', async () => {
    const refusing = await receiver();
    refusing.answer(410);
    const limited = await receiver();
    limited.answer({ status: 429, headers: { 'Retry-After': '2' } });
    const refused = await addEndpoint({ url: refusing.url, events: ['token.invalid'] });
    const slowed = await addEndpoint({ url: limited.url, events: ['token.invalid'] });
    const client = await stack.addClient({ name: 'Alert Gone' });
    stack.sandbox.control.setToken({ token: client.token, status: 'expired' });
    await refresh(client.id);
    await settled();
    const gone = await deliveryOf(refused.id, client.id, 'token.invalid');
    expect(gone).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'the receiver answered 410; not sent again',
    });
    const later = await deliveryOf(slowed.id, client.id, 'token.invalid');
    expect(later).toMatchObject({ status: 'delivered', attempts: 2 });
    const [a, b] = later.attemptLog;
    expect(Date.parse(b.startedAt) - Date.parse(a.startedAt)).toBeGreaterThanOrEqual(1_900);
  });

  it('delivers to a receiver that was down for a minute once it is back', async () => {
    const sleepy = await receiver();
    const sleepyEndpoint = await addEndpoint({ url: sleepy.url, events: ['token.invalid'] });
    await sleepy.down();
    const downAt = Date.now();
    const client = await stack.addClient({ name: 'Alert Sleepy' });
    stack.sandbox.control.setToken({ token: client.token, status: 'expired' });
    await refresh(client.id);
    await waitFor(
      async () =>
        Number(
          (
            await stack.database
              .db('alert_attempts as a')
              .join('alert_deliveries as d', 'd.id', 'a.delivery_id')
              .where('d.target', '<>', 'email')
              .where('d.endpoint_id', sleepyEndpoint.id)
              .whereRaw("a.error like '%ECONNREFUSED%'")
              .count<{ n: string }[]>('* as n')
          )[0].n,
        ) >= 3,
      { timeoutMs: 30_000, what: 'attempts to fail while the receiver is down' },
    );
    // The operator sees it on /status meanwhile.
    const status = await api.request('/status', { key: ADMIN_KEY });
    expect(status.text).toContain('id="failing-webhooks"');
    expect(status.text).toContain(`data-endpoint-id="${sleepyEndpoint.id}"`);
    expect(status.text).toContain(`webhooks test ${sleepyEndpoint.id}`);
    expect(status.text).toContain('data-event-type="token.invalid"');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 60_000 - (Date.now() - downAt))));
    await sleepy.up();
    await waitFor(async () => ofType(sleepy, 'token.invalid').length > 0, {
      timeoutMs: 20_000,
      what: 'the delivery after the receiver is back',
    });
    await settled();
    expect(ofType(sleepy, 'token.invalid').map((r) => r.json.data.clientName)).toEqual(['Alert Sleepy']);
  }, 150_000);

  it('posts Slack’s incoming-webhook payload in the slack format', async () => {
    const slack = await receiver();
    await addEndpoint({ url: slack.url, events: ['token.invalid'], format: 'slack' });
    const client = await stack.addClient({ name: 'Alert <Slack> & Co' });
    stack.sandbox.control.setToken({ token: client.token, status: 'expired' });
    await refresh(client.id);
    await settled();
    const [message] = slack.requests;
    expect(message.headers['content-type']).toBe('application/json');
    expect(message.headers['webhook-signature']).toBeUndefined();
    expect(message.json).toEqual({
      text: 'Meta token invalid: Alert <Slack> & Co',
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: expect.stringMatching(/^\*Meta token invalid: Alert &lt;Slack&gt; &amp; Co\*\n/),
          },
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: expect.stringContaining('token.invalid') }] },
      ],
    });
    expect(message.json.blocks[0].text.text).toContain(
      `Command: \`npm run cli -- clients update ${client.id} --token-stdin\``,
    );
  });

  it('refuses private, link-local and metadata addresses, and plain http beyond loopback', async () => {
    for (const url of [
      'https://10.1.2.3/hook',
      'https://192.168.0.10/hook',
      'https://169.254.169.254/latest/meta-data/',
      'https://[fd00:ec2::254]/',
      'https://[::ffff:10.0.0.1]/',
      'http://hooks.example.com/x',
      'ftp://example.com/x',
    ]) {
      const answer = await api.request('/api/webhooks', { method: 'POST', key: ADMIN_KEY, body: { url } });
      expect({ url, status: answer.status, code: answer.body.error.code }).toEqual({
        url,
        status: 400,
        code: 'webhook_url_refused',
      });
    }
    // A name is judged by the address it resolves to when the delivery connects.
    const strict = { allowInsecure: false, allowPrivate: false };
    await expect(
      postWebhook('https://localhost:9/hook', { body: '{}', headers: {} }, { policy: strict, timeoutMs: 2_000 }),
    ).rejects.toThrow(DestinationRefusedError);
    const bad = await api.request('/api/webhooks', {
      method: 'POST',
      key: ADMIN_KEY,
      body: { url: 'https://hooks.example.com/x', events: ['token.expired'], format: 'xml' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
  });

  it('manages endpoints: the secret only on creation, PATCH, a signed test ping, DELETE', async () => {
    const r = await receiver();
    const created = await addEndpoint({ url: r.url, events: ['client.failing'] });
    const listed = await api.request('/api/webhooks', { key: ADMIN_KEY });
    expect(listed.text).not.toContain(created.secret);
    expect(listed.body.data.find((e: { id: string }) => e.id === created.id)).toMatchObject({
      url: r.url,
      events: ['client.failing'],
      format: 'json',
      enabled: true,
    });
    const patched = await api.request(`/api/webhooks/${created.id}`, {
      method: 'PATCH',
      key: ADMIN_KEY,
      body: { events: ['*', 'cycle.completed'] },
    });
    expect(patched.body.data.events).toEqual(['*', 'cycle.completed']);
    const ping = await api.request(`/api/webhooks/${created.id}/test`, { method: 'POST', key: ADMIN_KEY });
    expect(ping.body.data).toMatchObject({ delivered: true, status: 200 });
    const [got] = r.requests;
    expect(got.json.type).toBe('webhook.test');
    expect(new Webhook(created.secret).verify(got.body, got.headers as Record<string, string>)).toEqual(got.json);
    expect((await api.request(`/api/webhooks/${created.id}`, { method: 'DELETE', key: ADMIN_KEY })).status).toBe(200);
    expect((await api.request(`/api/webhooks/${created.id}`, { key: ADMIN_KEY })).body.error.code).toBe(
      'webhook_not_found',
    );
    expect((await api.request('/api/webhooks')).status).toBe(403);
  });
});
