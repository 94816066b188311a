/**
 * `npm run docs:screenshots`: the README's pictures of the status pages, regenerated from the
 * code: an embedded Postgres of its own with a small agency's fleet (90 days of numbers, a day
 * missing, a few clients needing action, 20 cycles and one running), the API app in process,
 * and headless Chromium at 1280×900. Writes docs/status-overview.jpg and docs/status-client.jpg (each under 150 KB).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { noTemporal } from '../bench/status';
import { createApp } from '../src/api/app';
import { createHttpServer } from '../src/api/http-server';
import { loadConfig } from '../src/config';
import { addDays, dayIn } from '../src/dates';
import { createDb, Db, migrateLatest } from '../src/db';
import { ensureDatabase, startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { createLogger } from '../src/boot/logger';
import { launchBrowser } from '../test/helpers/browser';

const ADMIN_KEY = 'docs-screenshots-admin-key-0123456789';
const DOCS = path.join(__dirname, '..', 'docs');
const HOUR = 3_600_000;

const NAMES = [
  'Acme Outdoor',
  'Blue Fern Florist',
  'Casa Verde Tapas',
  'Dune Surf School',
  'Elm Street Dental',
  'Fjord Coffee Roasters',
  'Granite Climbing Gym',
  'Harbour Yoga',
  'Iris Bridal Studio',
  'Juniper Bakery',
  'Kite & Co. Toys',
  'Lumen Photography',
];

async function seed(db: Db): Promise<string> {
  const timezone = 'Europe/Warsaw';
  const today = dayIn(timezone);
  const ids = NAMES.map(() => randomUUID());
  await db('clients').insert(
    NAMES.map((name, i) => ({
      id: ids[i],
      name,
      facebook_page_id: String(104_000_000 + i),
      instagram_account_id: i === 9 ? null : String(178_414_000 + i),
      meta_access_token_encrypted: i === 11 ? null : 'docs-not-a-token',
      token_status: i === 3 ? 'invalid' : 'valid',
      token_error: i === 3 ? 'Meta 190: Error validating access token: the session has been invalidated' : null,
      instagram_status: i === 5 ? 'permission_missing' : i === 9 ? 'unknown' : 'ok',
      timezone,
    })),
  );
  const rows = ids.flatMap((id, i) =>
    Array.from({ length: 90 }, (_, d) => d).flatMap((d) => {
      const day = addDays(today, -d);
      // Acme's reach dips for a week and a day is missing: what an operator is asked about.
      if ((i === 0 && d === 12) || (i === 7 && d === 0) || (i === 11 && d < 20)) return [];
      const fetchedAt = new Date(Date.now() - d * 24 * HOUR - (i === 3 && d === 0 ? 30 : 1) * HOUR * (1 + (i % 3)));
      const seasonal = Math.sin((d + i * 7) / 9);
      const dip = i === 0 && d >= 3 && d <= 9 ? 0.55 : 1;
      const instagram = i !== 9 && !(i === 5 && d < 6);
      return [
        {
          client_id: id,
          period_id: day,
          cache_data: {
            facebookNewFollowers: Math.max(0, Math.round(4 + 3 * seasonal + (i % 4))),
            instagramFollowers: instagram ? 1500 + i * 830 - d * (3 + (i % 5)) : null,
            instagramReach: instagram ? Math.round((9000 + i * 2100) * (1 + 0.25 * seasonal) * dip) : null,
            instagramProfileViews: instagram && !(i === 2 && d > 60) ? Math.round(40 + 20 * seasonal + i * 3) : null,
            ...(instagram
              ? i === 2 && d > 60
                ? { unavailable: { instagramProfileViews: 'metric_unsupported' } }
                : {}
              : {
                  unavailable: {
                    instagramFollowers: i === 9 ? 'instagram_not_linked' : 'instagram_permission_missing',
                    instagramReach: i === 9 ? 'instagram_not_linked' : 'instagram_permission_missing',
                    instagramProfileViews: i === 9 ? 'instagram_not_linked' : 'instagram_permission_missing',
                  },
                }),
          },
          fetched_at: fetchedAt,
          last_updated: fetchedAt,
        },
      ];
    }),
  );
  for (let i = 0; i < rows.length; i += 500) await db('social_media_cache').insert(rows.slice(i, i + 500));

  // 20 cycles, 3 hours apart, then one running now.
  for (let cycle = 20; cycle >= 0; cycle--) {
    const startedAt = new Date(Date.now() - cycle * 3 * HOUR - 20 * 60_000);
    const running = cycle === 0;
    const spacingMs = cycle % 7 === 3 ? 3_500 : 2_000;
    const [{ id: runId }] = await db('refresh_runs')
      .insert({
        workflow_id: `social-media-cache-refresh-cycle-${startedAt.toISOString()}`,
        trigger: cycle === 8 ? 'manual' : 'schedule',
        status: running ? 'running' : 'completed',
        started_at: startedAt,
        finished_at: running
          ? null
          : new Date(startedAt.getTime() + ids.length * spacingMs + 9_000 + (cycle % 5) * 4_000),
        total: ids.length - 1,
        started: running ? 7 : ids.length - 1,
        current_client_id: running ? ids[6] : null,
        current_spacing_ms: spacingMs,
      })
      .returning('id');
    const results = ids.flatMap((clientId, i) => {
      if (i === 11 || (running && i >= 7)) return [];
      const failed = (i === 6 && cycle <= 2) || (cycle % 9 === 4 && i === 1);
      const outcome =
        i === 3 && cycle <= 1
          ? 'skipped_token_invalid'
          : failed
            ? 'failed'
            : cycle % 6 === 2 && i === 10
              ? 'skipped_fresh'
              : 'refreshed';
      return [
        {
          run_id: runId,
          client_id: clientId,
          workflow_id: `social-media-cache-refresh-${clientId}`,
          trigger: 'schedule',
          outcome,
          error_code: failed ? (i === 6 ? '80001' : '2') : null,
          error_message: failed
            ? i === 6
              ? 'There have been too many calls to this Page account. Wait a bit and try again.'
              : 'Service temporarily unavailable'
            : null,
          attempts: failed ? 5 : 1,
          started_at: new Date(startedAt.getTime() + i * spacingMs),
          finished_at: new Date(startedAt.getTime() + i * spacingMs + 1_500),
          duration_ms: failed ? 48_000 : 1_400 + i * 40,
          temporal_run_id: randomUUID(),
        },
      ];
    });
    await db('refresh_client_results').insert(results);
    if (!running) {
      const count = (o: string) => results.filter((r) => r.outcome === o).length;
      await db('refresh_runs')
        .where({ id: runId })
        .update({
          refreshed: count('refreshed'),
          failed: count('failed'),
          skipped_token_invalid: count('skipped_token_invalid'),
          skipped_fresh: count('skipped_fresh'),
        });
    }
  }
  await db('meta_app_usage').insert({ id: 1, app_percent: 58, reported_at: new Date(Date.now() - 4 * 60_000) });
  return ids[0];
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-screenshots-'));
  // Run as root, Postgres runs as its own user, which must reach the directory.
  fs.chmodSync(dir, 0o755);
  const postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
  await ensureDatabase(postgres.adminUrl, 'docs');
  const db = createDb(postgres.urlFor('docs'));
  const config = loadConfig({
    ADMIN_API_KEYS: ADMIN_KEY,
    READ_API_KEYS: 'docs-screenshots-read-key-0123456789',
    TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
  });
  const server = createHttpServer(createApp({ config, db, temporal: noTemporal, logger: createLogger('silent') }));
  const browser = await launchBrowser();
  try {
    await migrateLatest(db);
    const acme = await seed(db);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const page = await browser.newPage({
      extraHTTPHeaders: { Authorization: `Bearer ${ADMIN_KEY}` },
      viewport: { width: 1280, height: 900 },
    });
    fs.mkdirSync(DOCS, { recursive: true });
    for (const [url, file] of [
      ['/status', 'status-overview.jpg'],
      [`/status/clients/${acme}`, 'status-client.jpg'],
    ]) {
      await page.goto(`${base}${url}`);
      const target = path.join(DOCS, file);
      // JPEG: a PNG of this much text at 1280×900 is about 175 KB; quality 75 keeps it readable under 150 KB.
      await page.screenshot({ path: target, type: 'jpeg', quality: 75 });
      const kb = Math.round(fs.statSync(target).size / 1024);
      console.log(`${path.relative(process.cwd(), target)}: ${kb} KB`);
      if (kb >= 150) throw new Error(`${target} is ${kb} KB; the README's images stay under 150 KB`);
    }
  } finally {
    await browser.close();
    server.close();
    await db.destroy();
    await postgres.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
