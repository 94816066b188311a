import type { Browser } from 'playwright-core';
import { dayIn } from '../src/dates';
import { html, join, raw } from '../src/api/status/html';
import { clientRefreshWorkflowId } from '../workflows/definitions';
import { launchBrowser } from './helpers/browser';
import { startApi, TestApi } from './helpers/api';
import { adminPage, NUMBERS } from './helpers/status';
import { createRefreshStack, RefreshStack } from './helpers/stack';

const HOSTILE = `<img src=x onerror="globalThis.pwned=1">"'`;

describe('status markup', () => {
  it('escapes every interpolation; only markup built by html or named raw passes through', () => {
    const name = `<b onclick="x">&'`;
    expect(html`<p title="${name}">${name}</p>`.toString()).toBe(
      '<p title="&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;">&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;</p>',
    );
    expect(html`<ul>${[name, html`<li>${name}</li>`]}</ul>`.toString()).toBe(
      '<ul>&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;<li>&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;</li></ul>',
    );
    expect(html`${null}${undefined}${false}${true}${0}`.toString()).toBe('0');
    expect(html`${raw('<br>')}`.toString()).toBe('<br>');
    expect(join([name, html`<br>`], ', ').toString()).toBe('&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;, <br>');
  });

  describe('a client whose name, token error and Meta error are markup', () => {
    let stack: RefreshStack;
    let api: TestApi;
    let browser: Browser;

    beforeAll(async () => {
      stack = await createRefreshStack();
      api = await startApi(stack);
      browser = await launchBrowser();
    });

    afterAll(async () => {
      await browser?.close();
      await api?.close();
      await stack?.close();
    });

    it('shows them as text on the overview and on its page, and nothing of them runs', async () => {
      const client = await stack.addClient({ name: HOSTILE });
      await stack.database
        .db('clients')
        .where({ id: client.id })
        .update({ token_status: 'invalid', token_error: HOSTILE });
      await stack.cache.writeDay(client.id, dayIn(client.timezone), NUMBERS, new Date());
      await stack.database.db('refresh_client_results').insert({
        client_id: client.id,
        workflow_id: clientRefreshWorkflowId(client.id),
        trigger: 'schedule',
        outcome: 'failed',
        error_code: '190',
        error_message: HOSTILE,
        attempts: 1,
        started_at: new Date(),
        finished_at: new Date(),
        duration_ms: 10,
      });

      // The CSP would block an injected handler anyway: bypass it, so only the markup is tested.
      const page = await adminPage(browser, { bypassCSP: true });
      try {
        for (const url of [
          `${api.url}/status?q=${encodeURIComponent(HOSTILE)}`,
          `${api.url}/status`,
          `${api.url}/status/clients/${client.id}`,
        ]) {
          expect((await page.goto(url))?.status()).toBe(200);
          expect({ url, images: await page.locator('img').count() }).toEqual({ url, images: 0 });
          expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
          expect(await page.locator('body').innerText()).toContain(HOSTILE);
        }
        expect(await page.locator('h1').innerText()).toBe(HOSTILE);
        expect(await page.locator('#result-table tbody').innerText()).toContain(HOSTILE);
        await page.goto(`${api.url}/status`);
        expect(await page.locator(`#problems tr[data-client-id="${client.id}"] th a`).innerText()).toBe(HOSTILE);
      } finally {
        await page.context().close();
      }
    });
  });
});
