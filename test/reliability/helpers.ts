import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client as TemporalClient } from '@temporalio/client';
import type { TokenKeyring } from '../../src/crypto';
import type { Db } from '../../src/db';
import { dayIn, lastDays } from '../../src/dates';
import type { RunningGraphSandbox } from '../../src/dev/meta-sandbox';
import { waitFor } from '../../src/net';
import { CacheData, CacheStore } from '../../src/stores/cache';
import { Client, ClientStore } from '../../src/stores/clients';
import { RefreshAllInput } from '../../workflows/definitions';
import { ROOT } from '../helpers/process';

/** Meta's own calendar, so that today always has Page and Instagram numbers (see test/helpers/stack.ts). */
export const TIMEZONE = 'America/Los_Angeles';

/** Numbers no sandbox answers (they end in 7 000 000), so a kept number is recognisable. */
export function knownNumbers(n: number): CacheData {
  return {
    facebookNewFollowers: 7_000_000 + n,
    instagramFollowers: 7_000_100 + n,
    instagramReach: 7_000_200 + n,
    instagramProfileViews: 7_000_300 + n,
  };
}

/** Adds `count` clients the sandbox serves with one valid token; each has numbers for the refreshed days, fetched hours ago. */
export async function addClientsWithNumbers(
  db: Db,
  sandbox: RunningGraphSandbox,
  tokenKeys: TokenKeyring,
  count: number,
  { lookbackDays = 2, numbers = true } = {},
): Promise<Client[]> {
  const token = `reliability-token-${randomBytes(4).toString('hex')}`;
  sandbox.control.setToken({ token });
  const clients = new ClientStore(db, tokenKeys);
  const cache = new CacheStore(db);
  const prefix = String(Math.floor(Math.random() * 9_000) + 1_000);
  const created: Client[] = [];
  for (let i = 0; i < count; i += 1) {
    const n = String(i).padStart(5, '0');
    const client = await clients.create({
      name: `Reliability ${n}`,
      facebookPageId: `61${prefix}${n}`,
      instagramAccountId: `1784${prefix}${n}`,
      accessToken: token,
      timezone: TIMEZONE,
    });
    if (numbers) {
      for (const day of lastDays(TIMEZONE, lookbackDays))
        await cache.writeDay(client.id, day, knownNumbers(i), new Date(Date.now() - 4 * 3_600_000));
    }
    created.push(client);
  }
  return created.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Every cache row's numbers, by `clientId/periodId`. */
export async function snapshotCache(db: Db): Promise<Map<string, CacheData | null>> {
  const rows: { client_id: string; period_id: string; cache_data: CacheData; fetched_at: Date | null }[] = await db(
    'social_media_cache',
  ).select('client_id', 'period_id', 'cache_data', 'fetched_at');
  return new Map(rows.map((r) => [`${r.client_id}/${r.period_id}`, r.fetched_at ? r.cache_data : null]));
}

export const METRICS = [
  'facebookNewFollowers',
  'instagramFollowers',
  'instagramReach',
  'instagramProfileViews',
] as const;

/** Starts a cycle on the task queue; the caller awaits `handle.result()`. */
export async function startCycle(client: TemporalClient, taskQueue: string, input: Partial<RefreshAllInput> = {}) {
  return client.workflow.start('refreshAllClients', {
    workflowId: `reliability-cycle-${randomBytes(5).toString('hex')}`,
    taskQueue,
    args: [{ trigger: 'manual', spacingMs: 0, lookbackDays: 2, ...input } satisfies RefreshAllInput],
    workflowExecutionTimeout: '10m',
  });
}

/** Waits until `count` client results of the cycle are recorded. */
export async function waitForResults(db: Db, workflowId: string, count: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const row = await db('refresh_client_results as r')
        .join('refresh_runs as c', 'c.id', 'r.run_id')
        .where('c.workflow_id', workflowId)
        .count<{ count: string }[]>('* as count')
        .first();
      return Number(row?.count ?? 0) >= count;
    },
    { timeoutMs, what: `${count} client results of ${workflowId}` },
  );
}

/** Today in the test clients' timezone. */
export function today(): string {
  return dayIn(TIMEZONE);
}

/** The test's worker in a child process (test/reliability/worker-process.ts); resolves once it polls. */
export async function spawnWorker(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(__dirname, 'worker-process.ts')],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}: ${output}`);
      return output.includes('worker running');
    },
    { timeoutMs: 60_000, what: 'the worker process to poll' },
  );
  return { child, output: () => output, exited };
}
