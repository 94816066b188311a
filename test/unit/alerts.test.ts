import {
  addressProblem,
  DEFAULT_DELIVERY_RETRY,
  emailOf,
  judgeAttempt,
  parseRetryAfter,
  retryDelays,
  slackPayload,
  urlProblem,
  wantsEvent,
} from '../../src/domain/alerts';

const strict = { allowInsecure: false, allowPrivate: false };

describe('alert rules', () => {
  it('sends "*" every type but cycle.completed, which is asked by name', () => {
    expect(wantsEvent(['*'], 'token.invalid')).toBe(true);
    expect(wantsEvent(['*'], 'webhook.disabled')).toBe(true);
    expect(wantsEvent(['*'], 'cycle.completed')).toBe(false);
    expect(wantsEvent(['*', 'cycle.completed'], 'cycle.completed')).toBe(true);
    expect(wantsEvent(['token.invalid'], 'token.restored')).toBe(false);
  });

  it('judges answers: 2xx delivered; no answer, 5xx, 408, 429 again (Retry-After, capped); other answers given up', () => {
    const now = Date.parse('2026-12-04T10:00:00Z');
    expect(judgeAttempt({ status: 204 })).toEqual({ verdict: 'delivered' });
    expect(judgeAttempt({ error: 'ECONNREFUSED' })).toMatchObject({ verdict: 'retry' });
    expect(judgeAttempt({ error: 'SMTP 550: no such user', permanent: true })).toMatchObject({ verdict: 'give_up' });
    for (const status of [500, 502, 503, 408]) expect(judgeAttempt({ status })).toMatchObject({ verdict: 'retry' });
    expect(judgeAttempt({ status: 429, retryAfter: '120' }, now)).toMatchObject({ verdict: 'retry', afterMs: 120_000 });
    expect(judgeAttempt({ status: 503, retryAfter: 'Fri, 04 Dec 2026 10:00:30 GMT' }, now)).toMatchObject({
      afterMs: 30_000,
    });
    expect(judgeAttempt({ status: 429, retryAfter: '86400' }, now)).toMatchObject({ afterMs: 3_600_000 });
    for (const status of [301, 400, 401, 404, 410, 422])
      expect(judgeAttempt({ status })).toMatchObject({ verdict: 'give_up' });
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('retries on the documented schedule for 24 h', () => {
    const delays = retryDelays(DEFAULT_DELIVERY_RETRY);
    expect(delays.slice(0, 9)).toEqual([10, 20, 40, 80, 160, 320, 640, 1280, 1800].map((s) => s * 1000));
    expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(24 * 3_600_000);
    expect(delays).toHaveLength(54);
  });

  it('never reaches link-local or metadata addresses; private and loopback only when allowed', () => {
    for (const address of ['169.254.169.254', 'fe80::1', 'fd00:ec2::254', '0.0.0.0', '::', '224.0.0.1'])
      expect(addressProblem(address, { allowInsecure: true, allowPrivate: true })).toBeDefined();
    for (const address of ['10.0.0.5', '172.20.1.1', '192.168.1.1', '100.64.0.1', 'fd12::1', '::ffff:10.0.0.1']) {
      expect(addressProblem(address, strict)).toMatch(/private/);
      expect(addressProblem(address, { ...strict, allowPrivate: true })).toBeUndefined();
    }
    expect(addressProblem('127.0.0.1', strict)).toMatch(/loopback/);
    expect(addressProblem('::1', { ...strict, allowInsecure: true })).toBeUndefined();
    expect(addressProblem('93.184.216.34', strict)).toBeUndefined();
    expect(addressProblem('2606:2800:220:1:248:1893:25c8:1946', strict)).toBeUndefined();
  });

  it('takes https URLs, and http only to loopback with WEBHOOK_ALLOW_INSECURE', () => {
    expect(urlProblem('https://hooks.example.com/smc', strict)).toBeUndefined();
    expect(urlProblem('http://hooks.example.com/smc', strict)).toMatch(/https/);
    expect(urlProblem('http://127.0.0.1:8080/x', strict)).toMatch(/WEBHOOK_ALLOW_INSECURE/);
    expect(urlProblem('http://127.0.0.1:8080/x', { ...strict, allowInsecure: true })).toBeUndefined();
    expect(urlProblem('http://localhost:8080/x', { ...strict, allowInsecure: true })).toBeUndefined();
    expect(urlProblem('http://10.0.0.1/x', { allowInsecure: true, allowPrivate: true })).toMatch(/loopback only/);
    expect(urlProblem('https://user:pw@hooks.example.com/', strict)).toMatch(/user or password/);
    expect(urlProblem('https://2130706433/', strict)).toMatch(/loopback/);
    expect(urlProblem('https://[::ffff:169.254.169.254]/', { allowInsecure: true, allowPrivate: true })).toMatch(
      /metadata/,
    );
    expect(urlProblem('gopher://x', strict)).toBeDefined();
    expect(urlProblem('not a url', strict)).toBeDefined();
  });

  it('writes Slack and e-mail messages a person reads, escaping what Slack would parse', () => {
    const event = {
      id: 'e1',
      type: 'client.failing' as const,
      occurredAt: '2026-12-04T10:00:00.000Z',
      clientId: 'c1',
      clientName: 'Bakery <B&B>',
      facts: { consecutiveFailures: 3, action: 'Look at it', command: 'npm run cli -- clients show c1' },
    };
    const slack = slackPayload(event);
    expect(slack.text).toBe('Client refreshes failing: Bakery <B&B>');
    expect(slack.blocks[0]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*Client refreshes failing: Bakery &lt;B&amp;B&gt;*\nconsecutiveFailures: 3\nclient: c1\nWhat to do: Look at it\nCommand: `npm run cli -- clients show c1`',
      },
    });
    expect(emailOf(event).subject).toBe('[social-media-cache] Client refreshes failing: Bakery <B&B>');
    expect(emailOf(event).text).toContain('Command: npm run cli -- clients show c1');
  });
});
