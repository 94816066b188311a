import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { addDays, dayIn } from '../../src/dates';
import type { Db } from '../../src/db';
import { ADMIN_KEY } from './api';

export const ARTIFACTS = path.join(__dirname, '..', 'artifacts');

/** A page logged in with the admin key, 1280×900 like a laptop screen. */
export async function adminPage(browser: Browser, { bypassCSP = false } = {}): Promise<Page> {
  const context = await browser.newContext({
    extraHTTPHeaders: { Authorization: `Bearer ${ADMIN_KEY}` },
    viewport: { width: 1280, height: 900 },
    bypassCSP,
  });
  return context.newPage();
}

/** Clicks a link or a form's button and waits until the page it leads to has loaded, so what is read next is the new page. */
export async function follow(page: Page, target: Locator): Promise<void> {
  const before = page.url();
  await target.click();
  await page.waitForURL((url) => url.href !== before, { waitUntil: 'load' });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * The WCAG 2 A and AA violations axe-core finds on `url`. axe is injected as a script, which
 * the page's own CSP forbids; this context alone bypasses it, the pages themselves never run one.
 */
export async function axeViolations(browser: Browser, url: string): Promise<AxeViolation[]> {
  const page = await adminPage(browser, { bypassCSP: true });
  try {
    await page.goto(url);
    await page.addScriptTag({ content: fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8') });
    const result = await page.evaluate(async () => {
      const axe = (
        globalThis as unknown as {
          axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> };
        }
      ).axe;
      return axe.run((globalThis as unknown as { document: unknown }).document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      });
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target })),
    }));
  } finally {
    await page.context().close();
  }
}

/** Tabs through the page until `matches` holds for the focused element; how many presses it took, or -1. */
export async function tabUntil(page: Page, matches: string, maxPresses = 400): Promise<number> {
  for (let i = 1; i <= maxPresses; i++) {
    await page.keyboard.press('Tab');
    const hit = await page.evaluate((selector) => {
      const active = (globalThis as unknown as { document: { activeElement: { matches(s: string): boolean } | null } })
        .document.activeElement;
      return !!active && active.matches(selector);
    }, matches);
    if (hit) return i;
  }
  return -1;
}

export const NUMBERS = {
  facebookNewFollowers: 3,
  instagramFollowers: 1520,
  instagramReach: 12275,
  instagramProfileViews: 41,
};

/**
 * Adds `count` clients in one statement (names `${prefix} 001`…), with a stand-in token and
 * today's numbers fetched `ageMs` ago, and `days` days of numbers before today: a fleet for the
 * pages to list, which no refresh visits (the test starts no cycle after).
 */
export async function seedFleet(
  db: Db,
  {
    prefix,
    count,
    days = 1,
    ageMs = 60_000,
    timezone = 'America/Los_Angeles',
  }: { prefix: string; count: number; days?: number; ageMs?: number; timezone?: string },
): Promise<{ id: string; name: string }[]> {
  const clients = Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    name: `${prefix} ${String(i + 1).padStart(3, '0')}`,
    facebook_page_id: String(7_000_000 + i),
    meta_access_token_encrypted: 'not-a-token',
    token_status: 'valid',
    instagram_status: 'ok',
    instagram_account_id: String(8_000_000 + i),
    timezone,
  }));
  await db('clients').insert(clients);
  const today = dayIn(timezone);
  const fetchedAt = new Date(Date.now() - ageMs);
  const rows = clients.flatMap((c, n) =>
    Array.from({ length: days }, (_, d) => ({
      client_id: c.id,
      period_id: addDays(today, -d),
      cache_data: { ...NUMBERS, instagramReach: 1000 + n * 10 + d },
      fetched_at: fetchedAt,
      last_updated: fetchedAt,
    })),
  );
  for (let i = 0; i < rows.length; i += 1000) await db('social_media_cache').insert(rows.slice(i, i + 1000));
  return clients.map(({ id, name }) => ({ id, name }));
}

/** Counts the queries a knex instance sends while `fn` runs. */
export async function countQueries(db: Db, fn: () => Promise<unknown>): Promise<number> {
  let count = 0;
  // The retired metrics are read once per 10 s per API process (MetricCatalogue), whatever the pages asked: not a page's query.
  const listener = (query: { sql?: string }) => {
    if (!query.sql?.includes('metric_retirements')) count += 1;
  };
  db.on('query', listener);
  try {
    await fn();
  } finally {
    db.removeListener('query', listener);
  }
  return count;
}
