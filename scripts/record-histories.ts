/**
 * Records the workflow histories that test/replay.test.ts replays: representative cycles and
 * client refreshes run by today's workflow code on a real stack (embedded Postgres, a Temporal
 * dev server, the Graph sandbox, a worker), written to test/fixtures/histories/.
 *
 * It writes only histories whose file does not exist yet (`npm run record:histories` after adding
 * a scenario); existing ones are never replaced: see test/fixtures/histories/README.md.
 */
import { refreshAllClients } from '../workflows';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { freePort, waitFor } from '../src/net';
import { findTemporalCli } from '../src/dev/temporal-cli';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server';
import { requestRefresh, RefreshRequestDeps } from '../src/temporal/request-refresh';
import { WORKFLOWS_PATH } from '../src/temporal/worker';
import { clientRefreshWorkflowId, RefreshAllInput } from '../workflows/definitions';
import { createRefreshStack, RefreshStack } from '../test/helpers/stack';
import { historyText } from '../test/helpers/temporal';
import { HistoryFixture, historyToPlain } from '../test/replay/history-json';

const FIXTURES_DIR = path.resolve(__dirname, '../test/fixtures/histories');

const log = (line: string) => process.stderr.write(`[record] ${line}\n`);

async function waitForTemporalCli(): Promise<string> {
  for (let waited = 0; ; waited += 10) {
    const binary = findTemporalCli(process.env.TEMPORAL_CLI_PATH);
    if (binary) return binary;
    if (waited >= 1_800)
      throw new Error('no Temporal CLI after 30 minutes: build it (see README) or set TEMPORAL_CLI_PATH');
    if (waited % 60 === 0) log('waiting for the Temporal CLI to be built…');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
}

function currentCommit(): string {
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'workflows'], { encoding: 'utf8' }).trim();
  if (dirty) throw new Error(`workflows/ has uncommitted changes: record histories from committed code only\n${dirty}`);
  return commit;
}

async function main(): Promise<void> {
  const recordedFrom = currentCommit();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-record-'));
  fs.chmodSync(tmp, 0o755);
  const stops: (() => Promise<void>)[] = [];
  try {
    const binary = await waitForTemporalCli();
    const [postgres, temporal, bundle] = await Promise.all([
      startEmbeddedPostgres({ dir: path.join(tmp, 'postgres') }),
      freePort().then((port) =>
        startTemporalDevServer({ binary, port, dbFile: path.join(tmp, 'temporal.db'), namespace: 'default' }),
      ),
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH }),
    ]);
    stops.push(
      () => postgres.stop(),
      () => temporal.stop(),
    );
    const bundleFile = path.join(tmp, 'workflow-bundle.js');
    fs.writeFileSync(bundleFile, bundle.code);
    process.env.TEST_DATABASE_URL = postgres.adminUrl;
    process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
    process.env.TEST_WORKFLOW_BUNDLE = bundleFile;

    // A throttle without Meta's estimate is retried after 1 s instead of 2 minutes.
    const stack = await createRefreshStack({ activityOptions: { throttleBackoffMs: 1_000 } });
    stops.push(() => stack.close());
    const fixtures = await recordAll(stack, recordedFrom);

    const tokens = stack.sandbox.control.snapshot().tokens.map((t) => t.token);
    fs.mkdirSync(FIXTURES_DIR, { recursive: true });
    for (const [name, fixture] of fixtures) {
      const file = path.join(FIXTURES_DIR, `${name}.json`);
      // A recorded history stands for executions already running: it is never replaced.
      if (fs.existsSync(file)) {
        log(`${name}.json exists: kept as it is`);
        continue;
      }
      const text = `${JSON.stringify(fixture, null, 1)}\n`;
      const decoded = historyText(fixture.history);
      if (/test-token-|access_token|EAA[A-Za-z0-9]{10,}/.test(decoded) || tokens.some((t) => decoded.includes(t))) {
        throw new Error(`${name}: the history holds a token; fix the code that put it there before recording`);
      }
      fs.writeFileSync(file, text);
      const events = fixture.history.events.length;
      log(`${name}.json: ${events} events${fixture.complete ? '' : ' (running)'}`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`stopping: ${String(err)}`));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function recordAll(stack: RefreshStack, recordedFrom: string): Promise<Map<string, HistoryFixture>> {
  const fixtures = new Map<string, HistoryFixture>();
  const deps: RefreshRequestDeps = {
    temporal: stack.client,
    clients: stack.clients,
    cooldownMs: 0,
    lookbackDays: 2,
    taskQueue: stack.taskQueue,
  };
  let cycles = 0;

  async function save(name: string, scenario: string, handle: WorkflowHandle, runId?: string): Promise<void> {
    const described = await stack.client.workflow.getHandle(handle.workflowId, runId).describe();
    const history = await stack.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    fixtures.set(name, {
      scenario,
      workflowType: described.type as HistoryFixture['workflowType'],
      workflowId: handle.workflowId,
      complete: described.status.name !== 'RUNNING',
      recordedFrom,
      history: historyToPlain(history),
    });
  }

  /** A history cut mid-run: one that has ended would stand for nothing running during an upgrade. */
  async function saveCut(name: string, scenario: string, handle: WorkflowHandle): Promise<void> {
    await save(name, scenario, handle);
    if (fixtures.get(name)!.complete) throw new Error(`${name}: the execution ended before it was cut`);
  }

  async function runIds(workflowId: string): Promise<string[]> {
    const runs: { runId: string; startTime: Date }[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(run);
    return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime()).map((r) => r.runId);
  }

  function startCycle(input: Omit<RefreshAllInput, 'trigger' | 'lookbackDays'>) {
    cycles += 1;
    return stack.client.workflow.start(refreshAllClients, {
      workflowId: `replay-cycle-${cycles}-${Date.now()}`,
      taskQueue: stack.taskQueue,
      args: [{ trigger: 'manual', lookbackDays: 1, ...input } satisfies RefreshAllInput],
      workflowExecutionTimeout: '5m',
    });
  }

  async function freshClients(n: number, overrides?: Parameters<RefreshStack['addClient']>[0]) {
    await stack.database.db('clients').delete();
    const added = [];
    for (let i = 0; i < n; i += 1) added.push(await stack.addClient(overrides));
    return added;
  }

  async function historyHas(
    handle: WorkflowHandle,
    runId: string | undefined,
    predicate: (e: Record<string, unknown>) => boolean,
  ) {
    const history = await stack.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    return (history.events ?? []).some((e) => predicate(e as Record<string, unknown>));
  }

  // (a) spacing ≥ 1 s: one timer per child; a page of 2 continues as new after two clients.
  {
    log('cycle at 1 s spacing, page of 2');
    const clients = await freshClients(3);
    const handle = await startCycle({ spacingMs: 1_000, pageSize: 2 });
    await handle.result();
    const [first, second] = await runIds(handle.workflowId);
    await save(
      'refresh-all-spacing-1s-page-1-continued',
      'cycle of 3 clients at 1 s spacing, page size 2: first run, continues as new',
      handle,
      first,
    );
    await save(
      'refresh-all-spacing-1s-page-2-completed',
      'the same cycle: second run, carries the cursor and totals, completes',
      handle,
      second,
    );
    // (b) one of its children, which refreshed.
    const child = stack.client.workflow.getHandle(clientRefreshWorkflowId(clients[0].id));
    // Its row is written by its step, a moment before the run completes.
    await child.result();
    await save(
      'refresh-client-refreshed',
      'scheduled-style child of a cycle that refreshed at the first attempt',
      child,
    );
  }

  // (a) sub-second spacing: 300 ms starts groups of 4 with one 1.2 s timer per group. Pages of 3
  // (one client skipped for its invalid token) carry a group over continue-as-new, so the
  // second run's timer counts the time spent since the group started in the first.
  {
    log('cycle at 300 ms spacing, page of 3');
    const clients = await freshClients(7);
    await stack.clients.markToken(clients[1].id, 'invalid', '190: expired');
    const handle = await startCycle({ spacingMs: 300, pageSize: 3 });
    await handle.result();
    const runs = await runIds(handle.workflowId);
    if (runs.length !== 3) throw new Error(`300 ms cycle: ${runs.length} runs`);
    const scenario = 'cycle of 7 clients (one with an invalid token, skipped) at 300 ms spacing, page size 3';
    await save('refresh-all-spacing-300ms-page-1-continued', `${scenario}: first run, starts a group`, handle, runs[0]);
    await save(
      'refresh-all-spacing-300ms-page-2-continued',
      `${scenario}: second run, fills the group, waits its timer`,
      handle,
      runs[1],
    );
    await save('refresh-all-spacing-300ms-page-3-completed', `${scenario}: last run, completes`, handle, runs[2]);
  }

  // (c) nothing could be fetched (a client without Instagram, its Page throttled by Meta with
  // 80001 and no estimate): the step hands the wait back, the workflow sleeps it on a durable
  // timer and runs the step again, which refreshes and records.
  {
    log('client refresh throttled once, nothing fetched');
    const [client] = await freshClients(1, { instagram: false });
    stack.sandbox.control.inject({ objectId: client.facebookPageId, code: 80001, httpStatus: 400, times: 1 });
    await requestRefresh(deps, client.id);
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    const result = await handle.result();
    if (result.outcome !== 'refreshed' || result.attempts !== 2)
      throw new Error(`throttled refresh: ${JSON.stringify(result)}`);
    if (!(await historyHas(handle, undefined, (e) => !!e.timerStartedEventAttributes)))
      throw new Error('throttled refresh: no timer');
    await save(
      'refresh-client-throttled-then-refreshed',
      'on-demand refresh of a Page without Instagram throttled (80001) once: a durable timer, then the step refreshed and recorded',
      handle,
    );
  }

  // (d) a refresh whose token Meta calls invalid (190): not retried, marks the token.
  {
    log('client refresh with an invalid token');
    const [client] = await freshClients(1);
    stack.sandbox.control.setToken({ token: client.token, status: 'expired' });
    await requestRefresh(deps, client.id);
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    const result = await handle.result();
    if (result.outcome !== 'failed' || result.errorCode !== '190')
      throw new Error(`invalid token refresh: ${JSON.stringify(result)}`);
    await save(
      'refresh-client-token-invalid',
      'on-demand refresh failed on an invalid token (190), not retried',
      handle,
    );
  }

  // (e) on-demand requests arriving while a refresh runs are signals folded into it. The server
  // holds signals back while the workflow task with the local step is in flight, so they enter
  // the history only as the refresh ends: a history cut mid-run is recorded in (m).
  {
    log('client refresh with coalesced requests');
    const [client] = await freshClients(1);
    stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 3_000, times: 1 });
    await requestRefresh(deps, client.id);
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    await waitFor(async () => stack.sandbox.control.requests().some((r) => r.objectId === client.facebookPageId), {
      timeoutMs: 20_000,
      what: 'the slow call',
    });
    // A read never signals a running refresh (it answers in_progress); an admin's request joins it.
    await requestRefresh(deps, client.id, { force: true });
    await requestRefresh(deps, client.id, { force: true });
    await waitFor(
      async () =>
        (await stack.client.workflow.getHandle(handle.workflowId).fetchHistory()).events!.filter(
          (e) => e.workflowExecutionSignaledEventAttributes,
        ).length >= 2,
      {
        timeoutMs: 20_000,
        what: 'two signals in the history',
      },
    );
    const result = await handle.result();
    if (result.coalescedRequests < 2) throw new Error(`coalesced refresh: ${JSON.stringify(result)}`);
    await save(
      'refresh-client-coalesced',
      'on-demand refresh that folded two admin requests (signals) into itself',
      handle,
    );
  }

  // (f) a cycle meeting an on-demand refresh of the same client: counted as already running.
  {
    log('cycle meeting a running refresh');
    const [busy] = await freshClients(2);
    stack.sandbox.control.inject({ objectId: busy.facebookPageId, latencyMs: 3_000, times: 1 });
    await requestRefresh(deps, busy.id);
    const handle = await startCycle({ spacingMs: 0 });
    const totals = await handle.result();
    if (totals.alreadyRunning !== 1) throw new Error(`already running cycle: ${JSON.stringify(totals)}`);
    await save(
      'refresh-all-already-running',
      'cycle of 2 clients at spacing 0 whose first client was being refreshed on demand',
      handle,
    );
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(busy.id)).result();
  }

  // A cycle cut mid-way: one child done, the spacing timer running before the next.
  {
    log('cycle cut mid-way');
    await freshClients(3);
    const handle = await startCycle({ spacingMs: 2_000 });
    await waitFor(
      async () => historyHas(handle, undefined, (e) => !!e.childWorkflowExecutionCompletedEventAttributes),
      {
        timeoutMs: 20_000,
        what: 'the first child to complete',
      },
    );
    await saveCut(
      'refresh-all-running',
      'cycle of 3 clients at 2 s spacing, cut after its first child completed',
      handle,
    );
    await handle.result();
  }

  // (g) spacing 0, page of 2, 3 clients: a whole page starts at once, the run continues as new
  // once its starts are acknowledged; the last run waits for its child and Postgres's count.
  {
    log('cycle at spacing 0, page of 2');
    await freshClients(3);
    const handle = await startCycle({ spacingMs: 0, pageSize: 2 });
    await handle.result();
    const runs = await runIds(handle.workflowId);
    if (runs.length !== 2) throw new Error(`spacing 0 cycle: ${runs.length} runs`);
    const scenario = 'cycle of 3 clients at spacing 0, page size 2';
    await save(
      'refresh-all-spacing-0-page-1-continued',
      `${scenario}: first run, continues as new once its starts are acknowledged`,
      handle,
      runs[0],
    );
    await save(
      'refresh-all-spacing-0-page-2-completed',
      `${scenario}: last run, waits for its child and Postgres, completes`,
      handle,
      runs[1],
    );
  }

  // (h) a cycle cut while its last page's child is held back by a slow Meta.
  {
    log('cycle cut at its end');
    const [slow] = await freshClients(1);
    stack.sandbox.control.inject({ objectId: slow.facebookPageId, latencyMs: 4_000, times: 1 });
    const handle = await startCycle({ spacingMs: 0 });
    // The end-wait's first timer runs beside the wait for the last page's child.
    await waitFor(async () => historyHas(handle, undefined, (e) => !!e.timerStartedEventAttributes), {
      timeoutMs: 20_000,
      what: 'the cycle to wait for its results',
    });
    await saveCut(
      'refresh-all-waiting-for-results-running',
      'cycle of 1 client at spacing 0, cut while it waits for its slow child to report',
      handle,
    );
    await handle.result();
  }

  // (i) an on-demand refresh (signal-with-start): one local step fetches and records.
  {
    log('on-demand refresh');
    const [client] = await freshClients(1);
    await requestRefresh(deps, client.id);
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    const result = await handle.result();
    if (result.outcome !== 'refreshed') throw new Error(`on-demand refresh: ${JSON.stringify(result)}`);
    await save(
      'refresh-client-on-demand',
      'on-demand refresh (signal-with-start): one local step fetches and records',
      handle,
    );
  }

  // (j) per platform: the Page throttled alone (80001), Instagram written, Facebook fetched after a
  // timer by a step that records.
  {
    log('refresh with the Page throttled alone');
    const [client] = await freshClients(1);
    stack.sandbox.control.inject({ objectId: client.facebookPageId, code: 80001, httpStatus: 400, times: 1 });
    await requestRefresh(deps, client.id);
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    const result = await handle.result();
    if (result.outcome !== 'refreshed' || result.attempts !== 2)
      throw new Error(`Page retried alone: ${JSON.stringify(result)}`);
    await save(
      'refresh-client-page-retried-alone',
      'on-demand refresh: the Page throttled (80001) alone, Instagram written, Facebook fetched after a timer',
      handle,
    );
  }

  // (k) per platform: Instagram throttled alone, Facebook written, Instagram fetched after a timer.
  {
    log('refresh with Instagram throttled alone');
    const [client] = await freshClients(1);
    stack.sandbox.control.setInstagramMode({
      igId: client.instagramAccountId!,
      mode: 'throttled',
      estimatedTimeToRegainAccess: 0.02,
      times: 1,
    });
    await requestRefresh(deps, client.id);
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    const result = await handle.result();
    if (result.outcome !== 'refreshed' || result.attempts !== 2)
      throw new Error(`per-platform refresh: ${JSON.stringify(result)}`);
    await save(
      'refresh-client-instagram-retried-alone',
      'on-demand refresh: Instagram throttled (80002) alone, Facebook written, Instagram fetched after a timer',
      handle,
    );
  }

  // (l) requested days: a start with days, then more days signalled while Meta answers slowly;
  // the server holds the signals back until the task ends and runs it again with them, so the
  // step fetches every day at once (its first run's writes are not taken for this run's).
  {
    log('refresh with requested days');
    const [client] = await freshClients(1);
    const pastDays = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => new Date(Date.now() - (from + i) * 86_400_000).toISOString().slice(0, 10));
    stack.sandbox.control.inject({ objectId: client.facebookPageId, latencyMs: 3_000, times: 1 });
    await requestRefresh(deps, client.id, { days: pastDays(5, 2), force: true });
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    await waitFor(async () => stack.sandbox.control.requests().some((r) => r.objectId === client.facebookPageId), {
      timeoutMs: 20_000,
      what: 'the slow call',
    });
    await requestRefresh(deps, client.id, { days: pastDays(9, 2), force: true });
    await waitFor(
      async () =>
        (await handle.fetchHistory()).events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length >= 2,
      {
        timeoutMs: 20_000,
        what: 'two signals in the history',
      },
    );
    const result = await handle.result();
    if (result.outcome !== 'refreshed') throw new Error(`requested days refresh: ${JSON.stringify(result)}`);
    await save(
      'refresh-client-requested-days',
      'refresh started with two past days; two more days signalled while Meta answered slowly, fetched with them',
      handle,
    );
  }

  // (m) a refresh cut while it sleeps out Meta's wait for Instagram (6 s) on a durable timer, after
  // a request with two past days was signalled; finished, it retries Instagram, then fetches the
  // signalled days in an extra round.
  {
    log('refresh cut in a platform retry timer, with days signalled');
    const [client] = await freshClients(1);
    const pastDays = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => new Date(Date.now() - (from + i) * 86_400_000).toISOString().slice(0, 10));
    stack.sandbox.control.setInstagramMode({
      igId: client.instagramAccountId!,
      mode: 'throttled',
      estimatedTimeToRegainAccess: 0.1,
      times: 1,
    });
    await requestRefresh(deps, client.id, { force: true });
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    await waitFor(async () => historyHas(handle, undefined, (e) => !!e.timerStartedEventAttributes), {
      timeoutMs: 20_000,
      what: 'the retry timer',
    });
    await requestRefresh(deps, client.id, { days: pastDays(6, 2), force: true });
    await waitFor(
      async () => {
        const events = (await handle.fetchHistory()).events ?? [];
        // The signal after the timer started and the workflow task it woke, completed.
        const timer = events.findIndex((e) => e.timerStartedEventAttributes);
        const signalled = events.findIndex((e, i) => i > timer && e.workflowExecutionSignaledEventAttributes);
        return signalled > 0 && events.slice(signalled).some((e) => e.workflowTaskCompletedEventAttributes);
      },
      { timeoutMs: 5_000, what: 'the signal handled during the timer' },
    );
    await saveCut(
      'refresh-client-retry-timer-running',
      "on-demand refresh cut while it waits out Meta's wait for Instagram on a durable timer, after a request for two past days",
      handle,
    );
    const result = await handle.result();
    if (result.outcome !== 'refreshed' || result.coalescedRequests !== 2)
      throw new Error(`retry timer refresh: ${JSON.stringify(result)}`);
    await save(
      'refresh-client-retry-timer-with-days',
      'the same refresh finished: Instagram fetched after the timer, then the two signalled days in an extra round',
      handle,
    );
  }

  // (n) per platform, midway: Instagram throttled on its third day with no usage headers (Meta sends
  // none until enough calls were made); the two days answered are written, and after the backoff
  // only the third day is asked again.
  {
    log('refresh with Instagram stopped midway');
    const [client] = await freshClients(1);
    const pastDays = Array.from({ length: 3 }, (_, i) =>
      new Date(Date.now() - (3 + i) * 86_400_000).toISOString().slice(0, 10),
    );
    stack.sandbox.control.configure({ usageHeaders: false });
    stack.sandbox.control.setQuota({ objectId: client.instagramAccountId!, calls: 2, windowMs: 500 });
    await requestRefresh(deps, client.id, { days: pastDays, force: true });
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    const result = await handle.result();
    stack.sandbox.control.configure({ usageHeaders: true });
    if (result.outcome !== 'refreshed') throw new Error(`stopped midway refresh: ${JSON.stringify(result)}`);
    await save(
      'refresh-client-instagram-stopped-midway',
      'refresh of three past days: Instagram throttled on the third without headers, the two answered written, the third alone asked after a timer',
      handle,
    );
  }

  // (o) held: both platforms held in Postgres for 2 s (a throttle another refresh met); the refresh
  // calls nothing, sleeps the hold out on a durable timer, then fetches once.
  {
    log('refresh of a held client');
    const [client] = await freshClients(1);
    for (const platform of ['facebook', 'instagram'])
      await stack.database.db('platform_holds').insert({
        client_id: client.id,
        platform,
        held_until: new Date(Date.now() + 2_000),
        reason: 'throttled',
        error_code: platform === 'facebook' ? '80001' : '80002',
      });
    await requestRefresh(deps, client.id);
    const handle = stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id));
    const result = await handle.result();
    if (result.outcome !== 'refreshed') throw new Error(`held refresh: ${JSON.stringify(result)}`);
    await save(
      'refresh-client-held-then-refreshed',
      'refresh of a client whose platforms are held for 2 s: nothing called, the hold slept out on a timer, then one fetch',
      handle,
    );
  }

  // (p) lanes: 6 clients 1 s apart in a 4 s interval take two lanes (starts in pairs); the first
  // run plans the lanes and records them, a page of 4 continues as new carrying them.
  {
    log('cycle on two lanes, page of 4');
    await freshClients(6);
    const handle = await startCycle({ spacingMs: 1_000, pageSize: 4, lanes: 'auto', maxLanes: 32, intervalMs: 4_000 });
    await handle.result();
    const runs = await runIds(handle.workflowId);
    if (runs.length !== 2) throw new Error(`laned cycle: ${runs.length} runs`);
    const scenario = 'cycle of 6 clients at 1 s spacing on two lanes (REFRESH_LANES=auto, a 4 s interval), page size 4';
    await save(
      'refresh-all-lanes-page-1-continued',
      `${scenario}: first run, plans the lanes, starts in pairs`,
      handle,
      runs[0],
    );
    await save(
      'refresh-all-lanes-page-2-completed',
      `${scenario}: last run, carries the lanes, completes`,
      handle,
      runs[1],
    );
  }
  return fixtures;
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
