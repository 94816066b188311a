/**
 * `npm run bench:status`: the status pages over a large fleet, on this machine, with nothing
 * shared: an embedded Postgres of its own holding the fleet of bench/fleet.ts, BENCH_STATUS_CLIENTS
 * (10,000) clients × 30 days by default, `-- --large` 100,000 × 90, `-- --clients N --days D`.
 *
 * The API app runs in this process (src/api/app.ts, the production routes and stores) and is
 * asked over HTTP, one request at a time, after a warm-up: `/status` (first page), a search, the
 * freshness sort, page 100, and one client's page; BENCH_STATUS_REQUESTS (30) each. Prints and
 * writes bench/results/status.txt: median and p95 per page, and the queries each page sent
 * (knex `query` events), which must not depend on the fleet's size.
 *
 * Temporal is not started: the pages read Postgres only, and the Schedule's next run time (the
 * one thing they ask Temporal) is stubbed as "no schedule yet".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScheduleNotFoundError, type Client as TemporalClient } from '@temporalio/client';
import { createApp } from '../src/api/app';
import { createHttpServer } from '../src/api/http-server';
import { loadConfig } from '../src/config';
import { createDb, migrateLatest } from '../src/db';
import { ensureDatabase, startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { createLogger } from '../src/boot/logger';
import { fleetClientName, fleetSizeFromArgs, seedFleet } from './fleet';

const REQUESTS = Number(process.env.BENCH_STATUS_REQUESTS ?? 30);
const CYCLES = 20;
const ADMIN_KEY = 'bench-status-admin-key-0123456789';

/** A Temporal client whose Schedule does not exist: the pages ask nothing else of Temporal. */
export const noTemporal = {
  connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
  schedule: {
    getHandle: () => ({
      describe: () =>
        Promise.reject(new ScheduleNotFoundError('no schedule in this bench', 'social-media-cache-refresh')),
    }),
  },
} as unknown as TemporalClient;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main(): Promise<void> {
  const size = fleetSizeFromArgs({ clients: Number(process.env.BENCH_STATUS_CLIENTS ?? 10_000), days: 30 });
  const { clients: CLIENTS, days: DAYS } = size;
  /** The default fleet's figures are bench/results/status.txt; another size's go beside them. */
  const RESULTS_NAME = CLIENTS === 10_000 && DAYS === 30 ? 'status.txt' : `status-${CLIENTS}x${DAYS}.txt`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-status-'));
  // Run as root, Postgres runs as its own user, which must reach the directory.
  fs.chmodSync(dir, 0o755);
  const postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
  await ensureDatabase(postgres.adminUrl, 'bench_status');
  const db = createDb(postgres.urlFor('bench_status'));
  const server = createHttpServer(
    createApp({
      config: loadConfig({ ADMIN_API_KEYS: ADMIN_KEY, READ_API_KEYS: 'bench-status-read-key-0123456789' }),
      db,
      temporal: noTemporal,
      logger: createLogger('silent'),
    }),
  );
  try {
    await migrateLatest(db);
    await seedFleet(db, size);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const someClient: string = (
      await db('clients')
        .where({ name: fleetClientName(size, 42) })
        .first('id')
    ).id;
    const pages: [string, string, number][] = [
      ['/status (first page)', '/status', 300],
      ['/status?q=Client 0123 (search)', '/status?q=Client%200123', 300],
      ['/status?sort=freshness', '/status?sort=freshness', 300],
      ['/status?page=100', '/status?page=100', 300],
      ['/status/clients/:id', `/status/clients/${someClient}`, 100],
    ];
    let queries = 0;
    db.on('query', () => {
      queries += 1;
    });
    const lines = [
      `bench:status — ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load ${os
        .loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}`,
      `${CLIENTS} clients × ${DAYS} days of cache rows, ${CYCLES} cycles of results; ${REQUESTS} sequential requests per page after 3 warm-up`,
      '',
      `${'page'.padEnd(34)} ${'median'.padStart(8)} ${'p95'.padStart(8)} ${'p95 ≤'.padStart(8)} ${'queries'.padStart(8)} ${'bytes'.padStart(9)}`,
    ];
    for (const [label, url, target] of pages) {
      const times: number[] = [];
      const counts: number[] = [];
      let bytes = 0;
      for (let i = 0; i < REQUESTS + 3; i++) {
        queries = 0;
        const t0 = performance.now();
        const res = await fetch(`${base}${url}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
        const body = await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body.slice(0, 200)}`);
        if (i >= 3) times.push(ms);
        counts.push(queries);
        bytes = body.length;
      }
      // A fixed number of queries per page; the overview's metric catalogue re-reads Meta's
      // retirements once every 10 s (one query more in the request that does it), nothing else varies.
      const perRequest = Math.min(...counts);
      if (
        Math.max(...counts) - perRequest > 1 ||
        counts.filter((n) => n > perRequest).length > Math.ceil(counts.length / 2)
      )
        throw new Error(`${url}: queries per request varied: ${counts.join(', ')}`);
      times.sort((a, b) => a - b);
      const met = percentile(times, 95) <= target;
      lines.push(
        `${label.padEnd(34)} ${`${percentile(times, 50).toFixed(1)} ms`.padStart(8)} ${`${percentile(times, 95).toFixed(1)} ms`.padStart(8)} ${`≤ ${target}`.padStart(8)} ${String(perRequest).padStart(8)} ${String(bytes).padStart(9)}  ${met ? 'met' : 'MISSED'}`,
      );
    }
    const text = `${lines.join('\n')}\n`;
    process.stdout.write(`\n${text}`);
    fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, 'results', RESULTS_NAME), text);
  } finally {
    server.close();
    await db.destroy();
    await postgres.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
