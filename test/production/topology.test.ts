/**
 * The production topology, run for real (issue 13): the Temporal server 1.29.1 on Postgres with
 * 4 history shards, two workers and two APIs from dist/, the Graph sandbox for Meta. One stack
 * for the file (it takes a while to start); each test leaves it whole for the next.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createKeyring } from '../../src/crypto';
import { createDb, Db } from '../../src/db';
import { waitFor } from '../../src/net';
import { CacheStore } from '../../src/stores/cache';
import { ClientStore } from '../../src/stores/clients';
import { dayIn } from '../../src/dates';
import { ProdStack, startProdStack } from '../../src/dev/stack/prod-stack';
import { CLIENT_ID_SEARCH_ATTRIBUTE, REFRESH_SCHEDULE_ID } from '../../workflows/definitions';

const CLIENTS = 200;
const READ_CLIENTS = 20;
const READ_KEY = `read-${randomBytes(12).toString('hex')}`;
const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`;
const TOKEN_KEY = randomBytes(32);
const ROOT = path.resolve(__dirname, '..', '..');
const CYCLE_TIMEOUT_MS = 240_000;

let dir: string;
let stack: ProdStack;
let db: Db;
let connection: Connection;
let temporal: Client;
let clientIds: string[];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-prod-topology-'));
  fs.chmodSync(dir, 0o755);
  stack = await startProdStack({
    repoRoot: ROOT,
    workers: 2,
    apis: 2,
    dataDir: dir,
    keys: { readApiKey: READ_KEY, adminApiKey: ADMIN_KEY, tokenEncryptionKey: TOKEN_KEY.toString('hex') },
    sandboxOptions: {
      appQuota: { calls: 100_000_000, windowMs: 3_600_000 },
      objectQuota: { calls: 1_000_000, windowMs: 3_600_000 },
    },
    env: { REFRESH_SPACING: '10ms', LOG_LEVEL: 'info' },
    log: (line) => process.stderr.write(`${line.slice(0, 400)}\n`),
  });
  db = createDb(stack.databaseUrl);
  connection = await Connection.connect({ address: stack.temporalAddress });
  temporal = new Client({ connection, namespace: 'default' });
  const token = `topology-${randomBytes(4).toString('hex')}`;
  stack.sandbox!.control.setToken({ token });
  const clients = new ClientStore(db, createKeyring(TOKEN_KEY));
  clientIds = [];
  for (let i = 0; i < CLIENTS; i += 1) {
    const n = String(i).padStart(6, '0');
    const created = await clients.create({
      name: `Topology ${n}`,
      facebookPageId: `5200${n}`,
      instagramAccountId: `178500${n}`,
      accessToken: token,
      timezone: 'Europe/Warsaw',
    });
    clientIds.push(created.id);
  }
  // The dashboards read days that are fresh, so their reads start no refresh of their own and
  // each cycle's outcomes stay exact (a read of an empty day would start one: alreadyRunning).
  const cache = new CacheStore(db);
  for (const id of clientIds.slice(0, READ_CLIENTS)) {
    await cache.writeDay(
      id,
      dayIn('Europe/Warsaw'),
      { facebookNewFollowers: 1, instagramFollowers: 100, instagramReach: 10, instagramProfileViews: 1 },
      new Date(),
    );
  }
}, 20 * 60_000);

afterAll(async () => {
  await connection?.close();
  await db?.destroy();
  await stack?.stop();
  // Nothing of the stack may outlive it.
  const leftovers = [
    stack?.temporal.pid,
    ...(stack?.workers ?? []).map((w) => w.pid),
    ...(stack?.apis ?? []).map((a) => a.pid),
  ].filter(
    (pid): pid is number =>
      pid !== undefined &&
      fs.existsSync(`/proc/${pid}`) &&
      !/\(Z\)|\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  expect(leftovers).toEqual([]);
}, 120_000);

async function api(
  index: number,
  method: string,
  url: string,
  key = ADMIN_KEY,
  body?: unknown,
): Promise<{ status: number; body: { data?: { workflowId?: string } } | undefined }> {
  const res = await fetch(`${stack.apiUrls[index]}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return {
    status: res.status,
    body: (await res.json().catch(() => undefined)) as { data?: { workflowId?: string } } | undefined,
  };
}

async function startCycle(apiIndex: number): Promise<string> {
  const res = await api(apiIndex, 'POST', '/api/automated/refresh-social-media-cache');
  expect(res.status).toBe(202);
  return res.body!.data!.workflowId!;
}

async function cycleRow(workflowId: string): Promise<{ id: string; status: string } | undefined> {
  return db('refresh_runs').where({ workflow_id: workflowId }).first();
}

async function resultsOf(workflowId: string): Promise<number> {
  const row = await cycleRow(workflowId);
  if (!row) return 0;
  return Number(
    (await db('refresh_client_results').where({ run_id: row.id }).count<{ count: string }[]>('* as count'))[0].count,
  );
}

/** Waits for the cycle to end, then checks what a user would: one cycle row, every client refreshed once. */
async function expectCompleteCycle(workflowId: string): Promise<void> {
  await waitFor(async () => (await cycleRow(workflowId))?.status === 'completed', {
    timeoutMs: CYCLE_TIMEOUT_MS,
    intervalMs: 500,
    what: `cycle ${workflowId} to complete`,
  });
  // The workflow itself has ended too (its last run), as the next test's cycle needs.
  await temporal.workflow.getHandle(workflowId).result();
  const runs = await db('refresh_runs').where({ workflow_id: workflowId });
  expect(runs).toHaveLength(1);
  const results: { client_id: string; outcome: string }[] = await db('refresh_client_results')
    .where({ run_id: runs[0].id })
    .select('client_id', 'outcome');
  expect(results).toHaveLength(CLIENTS);
  expect(new Set(results.map((r) => r.client_id)).size).toBe(CLIENTS);
  expect(results.filter((r) => r.outcome !== 'refreshed')).toEqual([]);
}

/** Dashboards reading through every API until stopped; resolves to the statuses seen. */
function startReaders(apiIndexes: number[]) {
  const statuses: Record<string, number> = {};
  let stopped = false;
  let n = 0;
  const lane = async (apiIndex: number) => {
    while (!stopped) {
      n += 1;
      const url =
        n % 10 === 0
          ? '/api/automated/refresh-social-media-cache'
          : `/api/social-media-cache?clientId=${clientIds[n % READ_CLIENTS]}`;
      const status = await api(apiIndex, 'GET', url, READ_KEY).then(
        (r) => String(r.status),
        () => 'error',
      );
      statuses[status] = (statuses[status] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const lanes = apiIndexes.map(lane);
  return {
    async stop() {
      stopped = true;
      await Promise.all(lanes);
      return statuses;
    },
  };
}

function logLines(name: string, message: string): number {
  return fs
    .readFileSync(path.join(dir, 'logs', `${name}.log`), 'utf8')
    .split('\n')
    .filter((line) => line.includes(`"msg":"${message}"`)).length;
}

describe('the production topology (Temporal server on Postgres, 2 workers, 2 APIs)', () => {
  it('has the namespace, the ClientId search attribute and the Schedule made by one of two workers started together', async () => {
    expect(stack.workers.map((w) => w.running)).toEqual([true, true]);
    const { namespaceInfo } = await temporal.workflowService.describeNamespace({ namespace: 'default' });
    expect(namespaceInfo?.name).toBe('default');
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(customAttributes ?? {})).toContain(CLIENT_ID_SEARCH_ATTRIBUTE.name);
    const schedule = await temporal.schedule.getHandle(REFRESH_SCHEDULE_ID).describe();
    expect(schedule.action.type).toBe('startWorkflow');
    // Exactly one worker registered the namespace and created the Schedule; the other found them.
    expect(
      logLines('worker-1', 'registered the Temporal namespace') +
        logLines('worker-2', 'registered the Temporal namespace'),
    ).toBe(1);
    expect(logLines('worker-1', 'refresh schedule created') + logLines('worker-2', 'refresh schedule created')).toBe(1);
    // A scheduled cycle must not start in the middle of the tests' own.
    await temporal.schedule.getHandle(REFRESH_SCHEDULE_ID).pause('topology test');
  });

  it('refreshes every one of 200 clients once in a cycle while dashboards read through both APIs', async () => {
    const readers = startReaders([0, 1, 0, 1]);
    const workflowId = await startCycle(0);
    await expectCompleteCycle(workflowId);
    const statuses = await readers.stop();
    expect(Object.keys(statuses)).toEqual(['200']);
    expect(statuses['200']).toBeGreaterThan(10);
  });

  it('finishes the cycle on the other worker when one is SIGKILLed mid-cycle, recording nothing twice', async () => {
    const workflowId = await startCycle(1);
    await waitFor(async () => (await resultsOf(workflowId)) >= 30, {
      timeoutMs: 120_000,
      what: '30 clients refreshed',
    });
    expect(await resultsOf(workflowId)).toBeLessThan(CLIENTS);
    await stack.workers[0].kill();
    await expectCompleteCycle(workflowId);
    await stack.workers[0].start();
  });

  it('coalesces on-demand refreshes of one client from both APIs into one run, and answers through one API when the other is killed', async () => {
    const clientId = clientIds[150];
    // The cycles before ran this client under the same workflow id: count only runs from now on.
    const since = new Date(Date.now() - 1_000).toISOString();
    const answers = await Promise.all(
      [0, 1, 0, 1].map((i) => api(i, 'POST', '/api/social-media-cache?forceRefresh=true', ADMIN_KEY, { clientId })),
    );
    expect(answers.map((a) => a.status).filter((s) => s !== 202 && s !== 429)).toEqual([]);
    expect(answers.some((a) => a.status === 202)).toBe(true);
    const workflowId = `social-media-cache-refresh-${clientId}`;
    await waitFor(
      async () =>
        (
          await temporal.workflow.count(
            `WorkflowId = '${workflowId}' AND ExecutionStatus != 'Running' AND StartTime > '${since}'`,
          )
        ).count >= 1,
      {
        timeoutMs: 60_000,
        what: 'the on-demand refresh to finish',
      },
    );
    expect((await temporal.workflow.count(`WorkflowId = '${workflowId}' AND StartTime > '${since}'`)).count).toBe(1);

    await stack.apis[0].kill();
    for (let i = 0; i < 20; i += 1) {
      expect((await api(1, 'GET', `/api/social-media-cache?clientId=${clientIds[i]}`, READ_KEY)).status).toBe(200);
    }
    expect((await api(1, 'GET', '/api/automated/refresh-social-media-cache', READ_KEY)).status).toBe(200);
    await stack.apis[0].start();
  });

  it('completes a cycle when the Temporal server restarts in the middle of it', async () => {
    const workflowId = await startCycle(0);
    await waitFor(async () => (await resultsOf(workflowId)) >= 30, {
      timeoutMs: 120_000,
      what: '30 clients refreshed',
    });
    expect(await resultsOf(workflowId)).toBeLessThan(CLIENTS);
    await stack.temporal.stop();
    await stack.temporal.start();
    await expectCompleteCycle(workflowId);
  });
});
