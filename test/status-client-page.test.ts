import path from 'node:path';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { addDays, dayIn } from '../src/dates';
import { clientRefreshWorkflowId } from '../workflows/definitions';
import { launchBrowser } from './helpers/browser';
import { ADMIN_KEY, READ_KEY, startApi, TestApi } from './helpers/api';
import { adminPage, ARTIFACTS, axeViolations, tabUntil } from './helpers/status';
import { createRefreshStack, RefreshStack } from './helpers/stack';
import type { Client } from '../src/stores/clients';

const HOUR = 3_600_000;

describe("one client's status page", () => {
  let stack: RefreshStack;
  let api: TestApi;
  let browser: Browser;
  let client: Client & { token: string };
  let missing: string;

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack, { env: { TEMPORAL_UI_URL: 'http://temporal-ui.example:8233' } });
    browser = await launchBrowser();
    fs.mkdirSync(ARTIFACTS, { recursive: true });

    client = await stack.addClient({ name: 'Acme Outdoor' });
    const today = dayIn(client.timezone);
    missing = addDays(today, -40);
    for (let d = 1; d < 90; d++) {
      const day = addDays(today, -d);
      if (day === missing) continue;
      const wave = Math.round(Math.sin(d / 6) * 400);
      await stack.cache.writeDay(
        client.id,
        day,
        {
          facebookNewFollowers: 3 + (d % 5),
          instagramFollowers: 1520 - d * 2,
          instagramReach: 12_000 + wave,
          instagramProfileViews: d > 60 ? null : 41 + (d % 9),
          ...(d > 60 ? { unavailable: { instagramProfileViews: 'metric_unsupported' } } : {}),
        },
        new Date(Date.now() - 2 * HOUR),
      );
    }
    await stack.database.db('refresh_client_results').insert(
      [5, 4].map((hoursAgo) => ({
        client_id: client.id,
        workflow_id: clientRefreshWorkflowId(client.id),
        trigger: 'schedule',
        outcome: 'failed',
        error_code: '17',
        error_message: 'User request limit reached',
        attempts: 3,
        started_at: new Date(Date.now() - hoursAgo * HOUR),
        finished_at: new Date(Date.now() - hoursAgo * HOUR + 30_000),
        duration_ms: 30_000,
        temporal_run_id: randomUUID(),
      })),
    );
  });

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await stack?.close();
  });

  it('needs the admin key, and answers an unknown client with a 404 and a bad id with a 400', async () => {
    expect((await api.request(`/status/clients/${client.id}`, { key: null })).headers.get('www-authenticate')).toMatch(
      /^Basic/,
    );
    expect((await api.request(`/status/clients/${client.id}`, { key: READ_KEY })).status).toBe(403);
    const unknown = await api.request(`/status/clients/${randomUUID()}`, { key: ADMIN_KEY });
    expect({ status: unknown.status, code: unknown.body.error.code }).toEqual({
      status: 404,
      code: 'client_not_found',
    });
    const bad = await api.request('/status/clients/not-a-uuid', { key: ADMIN_KEY });
    expect({ status: bad.status, code: bad.body.error.code }).toEqual({ status: 400, code: 'validation_failed' });
  });

  it('shows 90 days per metric with a gap for the missing day, the last refreshes with Meta’s error codes, and the token and Instagram state', async () => {
    const page = await adminPage(browser);
    try {
      const response = await page.goto(`${api.url}/status/clients/${client.id}`);
      expect(response?.status()).toBe(200);
      expect(await page.locator('h1').textContent()).toBe('Acme Outdoor');
      const reach = page.locator('#chart-instagramReach');
      // Today has no numbers yet and day −40 is missing: 88 points in two runs.
      expect(await reach.locator('circle').count()).toBe(88);
      expect(await reach.locator('path').count()).toBe(2);
      expect(await reach.locator(`circle[data-day="${missing}"]`).count()).toBe(0);
      // Profile views stop where Meta gave none: a line that ends, not a drop to zero.
      expect(await page.locator('#chart-instagramProfileViews circle').count()).toBe(59);
      // Each point is reachable by keyboard and says its day and value.
      const point = reach.locator('circle').first();
      expect(await point.getAttribute('tabindex')).toBe('0');
      expect(await point.locator('title').textContent()).toMatch(/^\d{4}-\d\d-\d\d: \d{1,2},\d{3}$/);
      expect(await page.locator('#today dd[data-metric="instagramReach"]').textContent()).toContain('–');

      const rows = page.locator('#result-table tbody tr');
      expect(await rows.count()).toBe(2);
      expect(await rows.first().textContent()).toContain('Meta 17');
      expect(await rows.first().locator('a').getAttribute('href')).toMatch(
        /^http:\/\/temporal-ui\.example:8233\/namespaces\/default\/workflows\/social-media-cache-refresh-[\w-]+\/[\w-]+\/history$/,
      );
      expect(await page.locator('#state').textContent()).toContain('token: unknown');
      expect(await page.locator('#state a').getAttribute('href')).toBe(
        `http://temporal-ui.example:8233/namespaces/default/workflows?query=${encodeURIComponent(`ClientId="${client.id}"`)}`,
      );
      // Two failures in a row make it a problem, with what to do.
      expect(await page.locator('main').textContent()).toContain('The last 2 refreshes failed (Meta 17)');
      expect(await page.locator('#cooldown').textContent()).toMatch(/A refresh can be asked now/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'status-client.png') });
      await page.screenshot({ path: path.join(ARTIFACTS, 'status-client-full.png'), fullPage: true });
    } finally {
      await page.context().close();
    }
  });

  it('refreshes from the keyboard: 202 “Refresh started”, then 429 “Refreshed recently” with the cooldown', async () => {
    const page = await adminPage(browser);
    try {
      await page.goto(`${api.url}/status/clients/${client.id}`);
      expect(await tabUntil(page, '#refresh-now', 40)).toBeGreaterThan(0);
      const [first] = await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      expect(first?.status()).toBe(202);
      expect(await page.locator('#refresh-message').textContent()).toContain('Refresh started');
      expect(await page.locator('#cooldown').textContent()).toMatch(/Next refresh possible in \d+ s/);

      // The refresh runs in Temporal; once it ends, another press is inside the cooldown.
      await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();
      const [second] = await Promise.all([page.waitForNavigation(), page.locator('#refresh-now').click()]);
      expect(second?.status()).toBe(429);
      expect(Number(await second!.headerValue('retry-after'))).toBeGreaterThan(0);
      expect(await page.locator('#refresh-message').textContent()).toMatch(
        /^Refreshed recently, try again in \d+ s\.$/,
      );

      // The refresh brought today's numbers.
      await page.goto(`${api.url}/status/clients/${client.id}`);
      expect(await page.locator('#today .badge').textContent()).toBe('fresh');
      expect(await page.locator('#today dd[data-metric="facebookNewFollowers"] .num').textContent()).toMatch(
        /^[\d,]+$/,
      );
    } finally {
      await page.context().close();
    }
  });

  it('refuses a refresh without the page’s CSRF token or from another site, and never shows the key', async () => {
    const other = await stack.addClient({ name: 'Other Client' });
    const form = (body: string, headers: Record<string, string> = {}) =>
      api.request(`/status/clients/${other.id}/refresh`, {
        method: 'POST',
        key: ADMIN_KEY,
        rawBody: body,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      });
    const page = await api.request(`/status/clients/${other.id}`, { key: ADMIN_KEY });
    expect(page.text).not.toContain(ADMIN_KEY);
    const token = /name="csrf" value="([^"]+)"/.exec(page.text)![1];
    expect(token).not.toContain(ADMIN_KEY);

    expect((await form('')).body.error.code).toBe('csrf_invalid');
    expect((await form('csrf=1.AAAA')).status).toBe(403);
    // A token is for one client only.
    const own = /name="csrf" value="([^"]+)"/.exec(
      (await api.request(`/status/clients/${client.id}`, { key: ADMIN_KEY })).text,
    )![1];
    expect((await form(`csrf=${encodeURIComponent(own)}`)).body.error.code).toBe('csrf_invalid');
    const crossSite = await form(`csrf=${encodeURIComponent(token)}`, {
      Origin: 'https://evil.example',
      'Sec-Fetch-Site': 'cross-site',
    });
    expect({ status: crossSite.status, code: crossSite.body.error.code }).toEqual({
      status: 403,
      code: 'cross_site_request',
    });
    const json = await api.request(`/status/clients/${other.id}/refresh`, {
      method: 'POST',
      key: ADMIN_KEY,
      body: { csrf: token },
    });
    expect(json.status).toBe(415);
    // A read key never gets that far.
    expect((await api.request(`/status/clients/${other.id}/refresh`, { method: 'POST', key: READ_KEY })).status).toBe(
      403,
    );

    const accepted = await form(`csrf=${encodeURIComponent(token)}`, {
      Origin: api.url,
      'Sec-Fetch-Site': 'same-origin',
    });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('content-security-policy')).toContain("form-action 'self'");
    expect(accepted.text).toContain('Refresh started');
  });

  it('passes the WCAG 2 A and AA rules of axe-core', async () => {
    expect(await axeViolations(browser, `${api.url}/status/clients/${client.id}`)).toEqual([]);
  });
});
