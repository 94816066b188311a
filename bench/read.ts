/**
 * `npm run bench:read`: autocannon on loopback, same connections and duration for each, against
 * (a) the ceiling: Koa + @koa/router returning the same body already serialized, (b) bare Koa
 * serializing the same JSON per request, (c) bare Koa + a pg primary-key read of the same row,
 * and (d) our fresh-hit `GET /api/social-media-cache` served by the production API process
 * (`src/api.ts`, as `npm run api` runs it). The ceiling and the API are measured twice,
 * alternately, so a drift of the machine shows. Prints req/s, p50, p99 and non-2xx for each, and
 * the ratios d/a, d p99 / a p99 and d/c. METRICS (as the API takes it; default the report set)
 * chooses the metrics of the day read: `METRICS=all npm run bench:read` reads every metric. Latencies are every response's time as measured (not
 * autocannon's whole-millisecond histogram).
 *
 * `-- --large` (100,000 clients × 90 days; `-- --clients N --days D`): the same with the fleet of
 * bench/fleet.ts in the database, plus (e) fresh hits on 20,000 of its clients in turn (most of
 * them read from Postgres, not the API's memory); writes bench/results/read-<clients>x<days>.txt.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { dayIn } from '../src/dates';
import { freePort, waitFor } from '../src/net';
import { createDb, migrateLatest } from '../src/db';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { DEFAULT_METRICS_SETTING, parseMetricsSetting } from '../src/domain/metric-settings';
import { type CacheData, CacheStore } from '../src/stores/cache';
import { ClientStore } from '../src/stores/clients';
import { type FleetSize, fleetSizeFromArgs, seedFleet } from './fleet';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const KEY = 'bench-read-key-0123456789';

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** The server process's CPU time (user + system) per request, in µs: steadier than req/s on a busy machine. */
  cpuUs: number;
}

/** User + system CPU time of a process so far, in ms (Linux /proc, 100 ticks a second). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startServer(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  // BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof`) profiles the servers.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      '--import',
      pathToFileURL(require.resolve('tsx')).href,
      path.join(__dirname, 'read-server.ts'),
      ...args,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { child, port };
}

/** The production API, as `npm run api` starts it: its own process, its own config from the environment. */
async function startApi(databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', pathToFileURL(require.resolve('tsx')).href, path.join(__dirname, '..', 'src', 'api.ts')],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        READ_API_KEYS: KEY,
        ADMIN_API_KEYS: `${KEY}-admin`,
        TOKEN_ENCRYPTION_KEY: '0'.repeat(64),
        // Fresh hits never reach Temporal: nothing listens there, and nothing is asked.
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      },
    },
  );
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the API exited with ${code}`))),
  );
  await Promise.race([
    waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, {
      timeoutMs: 60_000,
      what: 'the API to listen',
    }),
    exited,
  ]);
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function measure(
  name: string,
  url: string,
  headers: Record<string, string>,
  pid: number,
  /** Paths asked in turn (each connection from its own place in the list); else `url`'s. */
  paths?: string[],
): Promise<Figures> {
  let next = 0;
  const requests = paths
    ? [{ setupRequest: (request: { path: string }) => ({ ...request, path: paths[next++ % paths.length] }) }]
    : undefined;
  // Warm up JIT, pools and caches before the measured run.
  await autocannon({ url, connections: CONNECTIONS, duration: 2, headers, requests: requests as never });
  // autocannon's own percentiles are whole milliseconds, too coarse when the answers take 1-3 ms
  // (2 vs 3 ms reads as 1.5×): every response's time is kept as measured, to the microsecond.
  const times: number[] = [];
  const setupClient = (client: {
    on(event: 'response', listener: (status: number, bytes: number, ms: number) => void): void;
  }) => client.on('response', (_status, _bytes, ms) => times.push(ms));
  const cpuBefore = cpuMs(pid);
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers,
    requests: requests as never,
    setupClient: setupClient as never,
  });
  const cpuUs = ((cpuMs(pid) - cpuBefore) * 1000) / Math.max(1, result.requests.total);
  times.sort((x, y) => x - y);
  const percentile = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN;
  return {
    name,
    rps: result.requests.average,
    p50: percentile(0.5),
    p99: percentile(0.99),
    non2xx: result.non2xx + result.errors,
    cpuUs,
  };
}

/** How many of the fleet's clients (e) reads in turn: more than the API keeps in memory (10,000 clients, 1 s). */
const SPREAD_CLIENTS = 20_000;

async function main(): Promise<void> {
  // `-- --large` (or `--clients N --days D`): the same reads with a fleet in the database (bench/fleet.ts).
  const size: FleetSize | undefined =
    process.argv.length > 2 ? fleetSizeFromArgs({ clients: 10_000, days: 30 }) : undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-bench-'));
  fs.chmodSync(dir, 0o755);
  const postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
  const db = createDb(postgres.adminUrl);
  const children: ChildProcess[] = [];
  try {
    await migrateLatest(db);
    if (size) await seedFleet(db, size);
    const client = await new ClientStore(db).create({ name: 'Bench', facebookPageId: '1', timezone: 'Europe/Warsaw' });
    const period = dayIn(client.timezone);
    // The row holds every metric the API keeps (METRICS, as the API child reads it; default the report set).
    const kept = parseMetricsSetting(process.env.METRICS ?? DEFAULT_METRICS_SETTING);
    if ('problem' in kept) throw new Error(`METRICS: ${kept.problem}`);
    const numbers = Object.fromEntries(kept.metrics.map((name, i) => [name, 1000 + 37 * i])) as unknown as CacheData;
    await new CacheStore(db).writeDay(client.id, period, numbers, new Date());
    process.stderr.write(
      `the day's row holds ${kept.metrics.length} metrics (METRICS=${process.env.METRICS ?? DEFAULT_METRICS_SETTING})\n`,
    );
    const row = await db('social_media_cache').where({ client_id: client.id, period_id: period }).first();
    const args = [postgres.adminUrl, client.id, period, row.id];
    const query = `/api/social-media-cache?clientId=${client.id}&period=${period}`;
    const headers = { authorization: `Bearer ${KEY}` };
    const runs: Record<'a' | 'b' | 'c' | 'd', Figures[]> = { a: [], b: [], c: [], d: [] };
    const names = {
      a: '(a) ceiling: Koa + router, pre-serialized',
      b: '(b) bare Koa, serializing per request',
      c: '(c) bare Koa + pg PK read',
      d: '(d) npm run api, fresh hit',
    };
    for (const which of ['a', 'd', 'b', 'c', 'a', 'd'] as const) {
      const { child, port } =
        which === 'd'
          ? await startApi(postgres.adminUrl)
          : await startServer([{ a: 'ceiling', b: 'bare', c: 'pg' }[which], ...args]);
      children.push(child);
      runs[which].push(await measure(names[which], `http://127.0.0.1:${port}${query}`, headers, child.pid!));
      await stop(child);
    }
    // (e) with a fleet: fresh hits on the fleet's clients in turn, so most reads go to Postgres
    // (a client's lookup and its day's row, by key among all of them) as a dashboard's across
    // an agency's clients do. Their today is made fresh first.
    let spread: Figures | undefined;
    if (size) {
      const { rows } = await db.raw<{ rows: { client_id: string; period_id: string }[] }>(
        `update social_media_cache s set fetched_at = now(), last_updated = now()
           from (select id, timezone from clients where name like 'Client %' order by random() limit ?) c
          where s.client_id = c.id and s.period_id = to_char(now() at time zone c.timezone, 'YYYY-MM-DD')
          returning s.client_id, s.period_id`,
        [SPREAD_CLIENTS],
      );
      const paths = rows.map((r) => `/api/social-media-cache?clientId=${r.client_id}&period=${r.period_id}`);
      const { child, port } = await startApi(postgres.adminUrl);
      children.push(child);
      spread = await measure(
        `(e) fresh hits over ${paths.length} clients`,
        `http://127.0.0.1:${port}${paths[0]}`,
        headers,
        child.pid!,
        paths,
      );
      await stop(child);
    }
    const mean = (values: number[]) => values.reduce((x, y) => x + y, 0) / values.length;
    const best = (list: Figures[]) => list.reduce((x, y) => (y.rps > x.rps ? y : x));
    const [a, b, c, d] = [best(runs.a), best(runs.b), best(runs.c), best(runs.d)];
    const row$ = (f: Figures) =>
      `${f.name.padEnd(42)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(2).padStart(7)} ${f.p99.toFixed(2).padStart(7)} ${String(f.non2xx).padStart(7)} ${f.cpuUs.toFixed(1).padStart(8)}`;
    const dOverA = runs.d.map((x, i) => x.rps / runs.a[i].rps);
    const report = [
      '',
      `read benchmark: ${CONNECTIONS} connections, ${DURATION_S} s each, loopback, ${os.cpus().length} cores; (a) and (d) run twice, alternately; the day read holds ${kept.metrics.length} metrics (METRICS=${process.env.METRICS ?? DEFAULT_METRICS_SETTING})${size ? `; the database holds ${size.clients} clients × ${size.days} days beside it` : ''}, load ${os.loadavg()[0].toFixed(2)}`,
      `${'server'.padEnd(42)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'non-2xx'.padStart(7)} ${'CPU µs/req'.padStart(8)}`,
      ...[...runs.a, ...runs.b, ...runs.c, ...runs.d, ...(spread ? [spread] : [])].map(row$),
      '',
      `d/a req/s, each pair: ${dOverA.map((r) => r.toFixed(2)).join(', ')}; best d / best a: ${(d.rps / a.rps).toFixed(2)} (target >= 0.70)`,
      `d p99 / a p99: ${(d.p99 / Math.max(a.p99, 0.001)).toFixed(2)} (target <= 1.50)`,
      `server CPU per request, d/a: ${(mean(runs.d.map((f) => f.cpuUs)) / mean(runs.a.map((f) => f.cpuUs))).toFixed(2)} (what the req/s ratio is made of when the machine is quiet)`,
      `d/b req/s: ${(d.rps / b.rps).toFixed(2)}`,
      `d/c req/s: ${(d.rps / c.rps).toFixed(2)} (target >= 1.50)`,
      `d non-2xx: ${runs.d.reduce((n, f) => n + f.non2xx, 0)} (target 0)`,
      ...(spread
        ? [
            `e/c req/s: ${(spread.rps / c.rps).toFixed(2)} (information: two reads by key per answer where (c) makes one)`,
            `e non-2xx: ${spread.non2xx} (target 0)`,
          ]
        : []),
      '',
    ].join('\n');
    process.stdout.write(report);
    fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    const file = size ? `read-${size.clients}x${size.days}.txt` : 'read.txt';
    fs.writeFileSync(path.join(__dirname, 'results', file), `${report.trim()}\n`);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await db.destroy();
    await postgres.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
