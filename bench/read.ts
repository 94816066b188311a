/**
 * `npm run bench:read`: autocannon on loopback against (a) a bare Koa handler returning the
 * same JSON, (b) bare Koa + a pg primary-key read of the same row, (c) our fresh-hit
 * `GET /api/social-media-cache`, with the same connections and duration. Prints req/s, p50,
 * p99 and non-2xx for each, and the ratios c/a and c/b.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { dayIn } from '../src/dates';
import { createDb, migrateLatest } from '../src/db';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { CacheStore } from '../src/stores/cache';
import { ClientStore } from '../src/stores/clients';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const KEY = 'bench-read-key-0123456789';

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function startServer(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  // BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof`) profiles the servers.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', pathToFileURL(require.resolve('tsx')).href, path.join(__dirname, 'read-server.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { child, port };
}

async function measure(name: string, url: string, headers: Record<string, string>): Promise<Figures> {
  // Warm up JIT, pools and caches before the measured run.
  await autocannon({ url, connections: CONNECTIONS, duration: 2, headers });
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers });
  return { name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-bench-'));
  fs.chmodSync(dir, 0o755);
  const postgres = await startEmbeddedPostgres({ dir: path.join(dir, 'pg') });
  const db = createDb(postgres.adminUrl);
  const children: ChildProcess[] = [];
  try {
    await migrateLatest(db);
    const client = await new ClientStore(db).create({ name: 'Bench', facebookPageId: '1', timezone: 'Europe/Warsaw' });
    const period = dayIn(client.timezone);
    await new CacheStore(db).writeDay(
      client.id,
      period,
      { facebookNewFollowers: 3, instagramFollowers: 1520, instagramReach: 12275, instagramProfileViews: 41 },
      new Date(),
    );
    const row = await db('social_media_cache').where({ client_id: client.id, period_id: period }).first();
    const args = [postgres.adminUrl, client.id, period, row.id, KEY];
    const figures: Figures[] = [];
    for (const [mode, name] of [['bare', '(a) bare Koa, same JSON'], ['pg', '(b) bare Koa + pg PK read'], ['app', '(c) GET /api/social-media-cache']] as const) {
      const { child, port } = await startServer([mode, ...args]);
      children.push(child);
      const url = `http://127.0.0.1:${port}/api/social-media-cache?clientId=${client.id}&period=${period}`;
      figures.push(await measure(name, url, { authorization: `Bearer ${KEY}` }));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    const [a, b, c] = figures;
    const table = figures.map((f) => `${f.name.padEnd(34)} ${f.rps.toFixed(0).padStart(8)} ${f.p50.toFixed(1).padStart(7)} ${f.p99.toFixed(1).padStart(7)} ${String(f.non2xx).padStart(7)}`);
    process.stdout.write(
      [
        '',
        `read benchmark: ${CONNECTIONS} connections, ${DURATION_S} s each, loopback, ${os.cpus().length} cores`,
        `${'server'.padEnd(34)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'non-2xx'.padStart(7)}`,
        ...table,
        '',
        `c/a req/s: ${(c.rps / a.rps).toFixed(2)} (target >= 0.70)`,
        `c/b req/s: ${(c.rps / b.rps).toFixed(2)} (target >= 1.50)`,
        `c p99 / a p99: ${(c.p99 / Math.max(a.p99, 0.001)).toFixed(2)} (target <= 1.50)`,
        `c non-2xx: ${c.non2xx} (target 0)`,
        '',
      ].join('\n'),
    );
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
