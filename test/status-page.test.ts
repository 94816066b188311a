import fs from 'node:fs';
import path from 'node:path';
import { dayIn } from '../src/dates';
import { waitFor } from '../src/net';
import { RefreshAllInput } from '../workflows/definitions';
import { launchBrowser } from './helpers/browser';
import { ADMIN_KEY, READ_KEY, startApi, TestApi } from './helpers/api';
import { createRefreshStack, RefreshStack } from './helpers/stack';

const HOUR = 3_600_000;
const NUMBERS = { facebookNewFollowers: 3, instagramFollowers: 1520, instagramReach: 12275, instagramProfileViews: 41 };
const ARTIFACTS = path.join(__dirname, 'artifacts');

describe('the status page', () => {
  let stack: RefreshStack;
  let api: TestApi;

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack, { env: { TEMPORAL_UI_URL: 'http://temporal-ui.example:8233' } });
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  it('asks a browser for the admin key and refuses a read key', async () => {
    const anonymous = await api.request('/status', { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect((await api.request('/status', { key: READ_KEY })).status).toBe(403);
    const basic = Buffer.from(`operator:${ADMIN_KEY}`).toString('base64');
    const viaBasic = await api.request('/status', { key: null, headers: { Authorization: `Basic ${basic}` } });
    expect(viaBasic.status).toBe(200);
    expect(viaBasic.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('shows fresh, stale and empty clients apart, and the running cycle’s progress, in a real browser', async () => {
    const fresh = await stack.addClient({ name: 'Fresh Bakery' });
    const stale = await stack.addClient({ name: 'Stale Studio', token: null });
    const empty = await stack.addClient({ name: 'Empty Café <b>&</b>', token: null });
    await stack.cache.writeDay(fresh.id, dayIn(fresh.timezone), NUMBERS, new Date(Date.now() - HOUR));
    await stack.cache.writeDay(stale.id, dayIn(stale.timezone), NUMBERS, new Date(Date.now() - 5 * HOUR));
    await stack.database.db('clients').where({ id: stale.id }).update({ instagram_status: 'permission_missing' });
    const slow = [await stack.addClient({ name: 'Slow One' }), await stack.addClient({ name: 'Slow Two' })];
    for (const client of slow) stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 4_000, times: 1 });

    const cycle = await stack.client.workflow.start('refreshAllClients', {
      workflowId: `test-status-cycle-${Date.now()}`,
      taskQueue: stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 0, lookbackDays: 1 } satisfies RefreshAllInput],
      workflowExecutionTimeout: '2m',
    });
    await waitFor(async () => (await api.request('/api/automated/refresh-social-media-cache')).body.data.running?.total === 3, {
      timeoutMs: 15_000,
      what: 'the cycle to run',
    });

    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ extraHTTPHeaders: { Authorization: `Bearer ${ADMIN_KEY}` } });
      const response = await page.goto(`${api.url}/status`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('social-media-cache status');

      const row = (id: string) => page.locator(`tr[data-client-id="${id}"]`);
      expect(await row(fresh.id).getAttribute('data-freshness')).toBe('fresh');
      expect(await row(stale.id).getAttribute('data-freshness')).toBe('stale');
      expect(await row(empty.id).getAttribute('data-freshness')).toBe('empty');
      expect(await row(fresh.id).locator('.badge').textContent()).toBe('fresh');
      expect(await row(stale.id).locator('.badge').textContent()).toBe('stale');
      expect(await row(empty.id).locator('.badge').textContent()).toBe('empty');
      // Three distinct looks, not only three words.
      const colours = await Promise.all([fresh, stale, empty].map((c) => row(c.id).locator('.badge').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el).backgroundColor)));
      expect(new Set(colours).size).toBe(3);
      // Instagram's state, with what to do about it, beside the token's.
      expect(await row(stale.id).locator('.instagram').textContent()).toBe('Instagram: permission missing');
      expect(await row(stale.id).locator('td').nth(3).textContent()).toContain('instagram_manage_insights');
      // Names are shown as text, never as markup.
      expect(await row(empty.id).locator('td').first().textContent()).toContain('Empty Café <b>&</b>');

      const progress = page.locator('#running progress');
      expect(await progress.getAttribute('max')).toBe('3');
      expect(await page.locator('#running').textContent()).toMatch(/\d \/ 3\s+clients done/);
      const link = await row(fresh.id).locator('a').getAttribute('href');
      expect(link).toBe(`http://temporal-ui.example:8233/namespaces/default/workflows?query=${encodeURIComponent(`ClientId="${fresh.id}"`)}`);

      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'status-page.png'), fullPage: true });
      expect(fs.statSync(path.join(ARTIFACTS, 'status-page.png')).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
    await cycle.result();
  });
});
