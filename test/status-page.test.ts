import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { addDays, dayIn } from '../src/dates';
import { createDb } from '../src/db';
import { waitFor } from '../src/net';
import { RefreshAllInput } from '../workflows/definitions';
import { launchBrowser } from './helpers/browser';
import { ADMIN_KEY, rawRequest, READ_KEY, startApi, TestApi } from './helpers/api';
import {
  adminPage,
  ARTIFACTS,
  axeViolations,
  countQueries,
  follow,
  NUMBERS,
  seedFleet,
  tabUntil,
} from './helpers/status';
import { createRefreshStack, RefreshStack } from './helpers/stack';

const HOUR = 3_600_000;

describe('the status page', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let browser: Browser;

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack, { env: { TEMPORAL_UI_URL: 'http://temporal-ui.example:8233' } });
    browser = await launchBrowser();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
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
    // No script may run, and forms post back here only.
    expect(viaBasic.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
    );
    expect(viaBasic.text).not.toContain('<script');
    expect(viaBasic.text).not.toContain(ADMIN_KEY);
  });

  it('answers a bad query with a 400 in the error shape', async () => {
    for (const query of ['?page=0', '?page=abc', '?sort=size', '?unknown=1', `?q=${'x'.repeat(201)}`]) {
      const res = await api.request(`/status${query}`, { key: ADMIN_KEY });
      expect({ query, status: res.status, code: res.body?.error?.code }).toEqual({
        query,
        status: 400,
        code: 'validation_failed',
      });
    }
  });

  it('shows fresh, stale and empty clients apart, today’s numbers, and the running cycle’s progress, in a real browser', async () => {
    const fresh = await stack.addClient({ name: 'Fresh Bakery' });
    const stale = await stack.addClient({ name: 'Stale Studio', token: null });
    const empty = await stack.addClient({ name: 'Empty Café <b>&</b>', token: null });
    await stack.cache.writeDay(fresh.id, dayIn(fresh.timezone), NUMBERS, new Date(Date.now() - HOUR));
    await stack.cache.writeDay(
      stale.id,
      dayIn(stale.timezone),
      { ...NUMBERS, instagramProfileViews: null, unavailable: { instagramProfileViews: 'metric_unsupported' } },
      new Date(Date.now() - 5 * HOUR),
    );
    await stack.database.db('clients').where({ id: stale.id }).update({ instagram_status: 'permission_missing' });
    const slow = [await stack.addClient({ name: 'Slow One' }), await stack.addClient({ name: 'Slow Two' })];
    for (const client of slow)
      stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 4_000, times: 1 });

    const cycle = await stack.client.workflow.start('refreshAllClients', {
      workflowId: `test-status-cycle-${Date.now()}`,
      taskQueue: stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 0, lookbackDays: 1 } satisfies RefreshAllInput],
      workflowExecutionTimeout: '2m',
    });
    await waitFor(
      async () => (await api.request('/api/automated/refresh-social-media-cache')).body.data.running?.total === 3,
      {
        timeoutMs: 15_000,
        what: 'the cycle to run',
      },
    );

    const page = await adminPage(browser);
    try {
      const response = await page.goto(`${api.url}/status`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('social-media-cache status');

      const row = (id: string) => page.locator(`#client-table tr[data-client-id="${id}"]`);
      expect(await row(fresh.id).getAttribute('data-freshness')).toBe('fresh');
      expect(await row(stale.id).getAttribute('data-freshness')).toBe('stale');
      expect(await row(empty.id).getAttribute('data-freshness')).toBe('empty');
      expect(await row(fresh.id).locator('.badge').textContent()).toBe('fresh');
      expect(await row(stale.id).locator('.badge').textContent()).toBe('stale');
      expect(await row(empty.id).locator('.badge').textContent()).toBe('empty');
      // Three distinct looks, not only three words.
      const colours = await Promise.all(
        [fresh, stale, empty].map((c) =>
          row(c.id)
            .locator('.badge')
            .evaluate(
              (el) =>
                (
                  globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
                ).getComputedStyle(el).backgroundColor,
            ),
        ),
      );
      expect(new Set(colours).size).toBe(3);
      // Today's numbers as people read them; a number Meta did not give is a dash with its reason, never 0.
      // (The stale client has no token: the cycle running meanwhile leaves its numbers as they are.)
      expect(await row(stale.id).locator('td[data-metric="instagramReach"] .num').textContent()).toBe('12,275');
      const views = row(stale.id).locator('td[data-metric="instagramProfileViews"]');
      expect(await views.locator('.num').textContent()).toBe('–');
      expect(await views.locator('.reason').textContent()).toBe('Meta does not offer it');
      expect(await row(empty.id).locator('td[data-metric="instagramReach"] .num').textContent()).toBe('–');
      // Times read as people read them, the exact time on hover.
      const updated = row(stale.id).locator('td').first().locator('time');
      expect(await updated.textContent()).toMatch(/^(4 h 59 min|5 h) ago$/);
      expect(await updated.getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
      // Instagram's state beside the token's, and what to do about it among the problems.
      expect(await row(stale.id).locator('.instagram').textContent()).toBe('Instagram: permission missing');
      expect(await page.locator(`#problems tr[data-client-id="${stale.id}"]`).textContent()).toContain(
        'instagram_manage_insights',
      );
      // Names are shown as text, never as markup.
      expect(await row(empty.id).locator('th').textContent()).toContain('Empty Café <b>&</b>');

      const progress = page.locator('#running progress');
      expect(await progress.getAttribute('max')).toBe('3');
      expect(await page.locator('#running').textContent()).toMatch(/\d \/ 3\s+clients done/);
      const link = await row(fresh.id).locator('a', { hasText: 'runs in Temporal' }).getAttribute('href');
      expect(link).toBe(
        `http://temporal-ui.example:8233/namespaces/default/workflows?query=${encodeURIComponent(`ClientId="${fresh.id}"`)}`,
      );
    } finally {
      await page.context().close();
    }
    await cycle.result();
  });

  it('draws 30 days per metric with a gap for a day without numbers, each point titled with its day and value', async () => {
    const client = await stack.addClient({ name: 'Gappy Gallery', token: null });
    const today = dayIn(client.timezone);
    const missing = addDays(today, -10);
    for (let d = 0; d < 30; d++) {
      const day = addDays(today, -d);
      if (day !== missing)
        await stack.cache.writeDay(
          client.id,
          day,
          { ...NUMBERS, instagramReach: 1000 + d },
          new Date(Date.now() - HOUR),
        );
    }
    const page = await adminPage(browser);
    try {
      await page.goto(`${api.url}/status?q=${encodeURIComponent('Gappy')}`);
      const spark = page.locator(
        `#client-table tr[data-client-id="${client.id}"] td[data-metric="instagramReach"] svg`,
      );
      expect(await spark.getAttribute('role')).toBe('img');
      expect(await spark.getAttribute('aria-label')).toContain('1 day without numbers');
      // The line breaks at the missing day: two runs, 29 points, none on that day.
      expect(await spark.locator('path').count()).toBe(2);
      expect(await spark.locator('circle').count()).toBe(29);
      expect(await spark.locator(`circle[data-day="${missing}"]`).count()).toBe(0);
      const point = spark.locator(`circle[data-day="${addDays(today, -3)}"]`);
      expect(await point.locator('title').textContent()).toBe(`${addDays(today, -3)}: 1,003`);
      await point.hover();
    } finally {
      await page.context().close();
    }
  });

  it('puts clients needing action on top with what to do, pages the rest by 50, searches and sorts by freshness, with a constant number of queries', async () => {
    const { db } = stack.database;
    const invalid = await stack.addClient({ name: 'Zed Invalid Token' });
    await db('clients')
      .where({ id: invalid.id })
      .update({ token_status: 'invalid', token_error: 'Meta 190: the session has expired' });
    const failing = await stack.addClient({ name: 'Yak Failing Farm' });
    await stack.cache.writeDay(failing.id, dayIn(failing.timezone), NUMBERS, new Date(Date.now() - HOUR));
    await db('refresh_client_results').insert(
      [3, 2, 1].map((hoursAgo) => ({
        client_id: failing.id,
        workflow_id: `social-media-cache-refresh-${failing.id}`,
        trigger: 'schedule',
        outcome: 'failed',
        error_code: '2',
        error_message: 'An unexpected error has occurred',
        attempts: 5,
        started_at: new Date(Date.now() - hoursAgo * HOUR),
        finished_at: new Date(Date.now() - hoursAgo * HOUR + 60_000),
      })),
    );

    // The query count of each page, on a knex instance of the test's own (the worker shares the stack's).
    const counted = createDb(stack.database.url);
    const countingApi = await startApi({ ...stack, database: { ...stack.database, db: counted } });
    const queriesOf = (url: string) =>
      countQueries(counted, async () => expect((await countingApi.request(url, { key: ADMIN_KEY })).status).toBe(200));
    try {
      const smallFleet = await db('clients').count<{ n: string }[]>('* as n');
      const before = {
        overview: await queriesOf('/status'),
        search: await queriesOf('/status?q=Fleet&sort=freshness&page=2'),
        client: await queriesOf(`/status/clients/${invalid.id}`),
      };

      const fleet = await seedFleet(db, { prefix: 'Fleet', count: 120, days: 30 });
      const staleOne = fleet[77];
      await db('social_media_cache')
        .where({ client_id: staleOne.id, period_id: dayIn('America/Los_Angeles') })
        .update({ last_updated: new Date(Date.now() - 7 * HOUR), fetched_at: new Date(Date.now() - 7 * HOUR) });
      const after = {
        overview: await queriesOf('/status'),
        search: await queriesOf('/status?q=Fleet&sort=freshness&page=2'),
        client: await queriesOf(`/status/clients/${fleet[0].id}`),
      };
      expect(Number(smallFleet[0].n)).toBeLessThan(15);
      expect(after).toEqual(before);
      // The overview's 6 (the fleet's counts, its problems and the page, sent together) and the
      // latest events and failing webhooks (one query each).
      expect(after).toEqual({ overview: 8, search: 8, client: 3 });

      const page = await adminPage(browser);
      try {
        await page.goto(`${api.url}/status`);
        // Problems first: the invalid token and the failing client lead, above every other row.
        const problemRows = page.locator('#problems tbody tr');
        expect(await problemRows.first().getAttribute('data-client-id')).toBe(invalid.id);
        expect(await problemRows.first().textContent()).toContain('Token invalid');
        expect(await problemRows.first().textContent()).toContain(`clients update ${invalid.id} --token-stdin`);
        const failingRow = page.locator(`#problems tr[data-client-id="${failing.id}"]`);
        expect(await failingRow.textContent()).toContain('The last 3 refreshes failed (Meta 2)');
        const problemsBox = await page.locator('#problems').boundingBox();
        const clientsBox = await page.locator('#client-table').boundingBox();
        expect(problemsBox!.y + problemsBox!.height).toBeLessThanOrEqual(clientsBox!.y);

        // 50 a page, with a way to the next.
        const total = Number(
          await db('clients')
            .count<{ n: string }[]>('* as n')
            .then((r) => r[0].n),
        );
        expect(await page.locator('#client-table tbody tr').count()).toBe(50);
        expect(await page.locator('#range').textContent()).toContain(`1–50 of ${total}`);
        await follow(page, page.locator('nav.pages a', { hasText: 'Next' }));
        expect(new URL(page.url()).searchParams.get('page')).toBe('2');
        expect(await page.locator('#client-table tbody tr').count()).toBe(50);
        expect(await page.locator('nav.pages [aria-current="page"]').textContent()).toBe('2');
        await page.goto(`${api.url}/status?page=${Math.ceil(total / 50)}`);
        expect(await page.locator('#client-table tbody tr').count()).toBe(total % 50 || 50);

        // Search narrows, by name or by id.
        await page.goto(`${api.url}/status`);
        await page.fill('#q', 'Fleet 042');
        await follow(page, page.locator('form.search button'));
        expect(await page.locator('#client-table tbody tr').count()).toBe(1);
        expect(await page.locator('#client-table tbody tr th a').textContent()).toBe('Fleet 042');
        await page.goto(`${api.url}/status?q=${fleet[5].id.slice(0, 13)}`);
        expect(await page.locator('#client-table tbody tr').first().getAttribute('data-client-id')).toBe(fleet[5].id);

        // Sorted by freshness, the stalest comes first; the sort survives paging.
        await page.goto(`${api.url}/status?q=Fleet`);
        await page.selectOption('#sort', 'freshness');
        await follow(page, page.locator('form.search button'));
        expect(await page.locator('#client-table tbody tr').first().getAttribute('data-client-id')).toBe(staleOne.id);
        expect(await page.locator('#client-table tbody tr').first().getAttribute('data-freshness')).toBe('stale');
        expect(await page.locator('nav.pages a', { hasText: 'Next' }).getAttribute('href')).toBe(
          '/status?q=Fleet&sort=freshness&page=2',
        );

        // One h1, then a section heading per part; tables with column and row headers. The invalid
        // token turning valid and invalid again is an event the page lists.
        await stack.clients.markToken(invalid.id, 'valid');
        await stack.clients.markToken(invalid.id, 'invalid', '190: Error validating access token');
        await page.goto(`${api.url}/status`);
        expect(await page.locator('h1').count()).toBe(1);
        expect(await page.locator('main h2').allTextContents()).toEqual([
          `Needs action (${await page.locator('#problems tbody tr').count()})`,
          `Clients (${total})`,
          'Refresh cycles',
          // The fleet's invalid token and finished cycles are events.
          'Recent events',
        ]);
        expect(await page.locator('#events tr[data-event-type="token.invalid"]').count()).toBeGreaterThan(0);
        expect(await page.locator('#client-table thead th[scope="col"]').count()).toBe(8);
        expect(await page.locator('#client-table tbody th[scope="row"]').count()).toBe(50);

        // The cycle of the earlier test, as a bar with its figures in words and as a table row;
        // Meta's app usage its refreshes reported, as a gauge with the 75 % line.
        const cycles = await db('refresh_runs').count<{ n: string }[]>('* as n');
        expect(await page.locator('#cycle-chart g').count()).toBe(Number(cycles[0].n));
        expect(await page.locator('#cycle-chart g title').first().textContent()).toMatch(
          /\d+ refreshed, \d+ failed, \d+ skipped, took /,
        );
        expect(await page.locator('#cycle-table tbody tr').count()).toBe(Number(cycles[0].n));
        expect(await page.locator('#usage-gauge').getAttribute('aria-label')).toMatch(
          /^Meta app usage: \d+ % of the app's budget/,
        );
        expect(await page.locator('#usage-gauge text', { hasText: '75 % stretch' }).count()).toBe(1);

        // The keyboard reaches the pagination.
        expect(await tabUntil(page, 'nav.pages a')).toBeGreaterThan(0);
        await page.goto(`${api.url}/status`);
        await page.screenshot({ path: path.join(ARTIFACTS, 'status-overview.png'), fullPage: false });
        await page.screenshot({ path: path.join(ARTIFACTS, 'status-overview-full.png'), fullPage: true });
      } finally {
        await page.context().close();
      }
    } finally {
      await countingApi.close();
      await counted.destroy();
    }
  });

  it('passes the WCAG 2 A and AA rules of axe-core', async () => {
    const violations = await axeViolations(browser, `${api.url}/status`);
    expect(violations).toEqual([]);
  });

  it('sends the page gzipped to a browser that takes it, and as it is to one that does not', async () => {
    const headers = { Authorization: `Bearer ${ADMIN_KEY}` };
    const gzipped = await rawRequest(api.url, {
      method: 'GET',
      path: '/status',
      headers: { ...headers, 'Accept-Encoding': 'gzip, deflate, br' },
    });
    const plain = await rawRequest(api.url, {
      method: 'GET',
      path: '/status',
      headers: { ...headers, 'Accept-Encoding': 'identity' },
    });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toMatch(/Accept-Encoding/);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toMatch(/^<!doctype html>/i);
    expect(Number(gzipped.headers['content-length'])).toBeLessThan(Buffer.byteLength(plain.text) / 4);
  });
});
