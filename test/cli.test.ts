import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScheduleNotFoundError } from '@temporalio/client';
import { freePort, waitFor } from '../src/net';
import { ensureRefreshSchedule } from '../src/temporal/schedule';
import { clientRefreshWorkflowId } from '../workflows/definitions';
import { ADMIN_KEY, READ_KEY, startApi, TestApi } from './helpers/api';
import { collect, spawnEntry } from './helpers/process';
import { createRefreshStack, RefreshStack } from './helpers/stack';

const TOKEN = `EAAG-cli-stdin-token-${randomBytes(8).toString('hex')}`;
const ENV_TOKEN = `EAAG-cli-env-token-${randomBytes(8).toString('hex')}`;
const ARGV_TOKEN = `EAAG-cli-argv-token-${randomBytes(8).toString('hex')}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the social-media-cache CLI', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let dataDir: string;
  /** Every output of every command this file ran, checked for secrets at the end. */
  const transcript: string[] = [];

  beforeAll(async () => {
    stack = await createRefreshStack();
    api = await startApi(stack, { env: { REFRESH_SPACING: '100ms' } });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-cli-'));
    for (const token of [TOKEN, ENV_TOKEN, `${ENV_TOKEN}-2`]) stack.sandbox.control.setToken({ token });
  });

  afterAll(async () => {
    await api?.close();
    await stack?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Runs the CLI as `npm run cli` does, against this file's API and Temporal. */
  async function cli(
    args: string[],
    { input, env = {} }: { input?: string; env?: Record<string, string> } = {},
  ): Promise<Run> {
    const child = spawnEntry(
      'cli.ts',
      {
        SMC_API_URL: api.url,
        SMC_API_KEY: ADMIN_KEY,
        TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
        DATA_DIR: dataDir,
        ...env,
      },
      { args, stdin: input === undefined ? 'ignore' : 'pipe' },
    );
    if (input !== undefined) child.stdin!.end(input);
    const run = await collect(child).exited;
    transcript.push(run.stdout, run.stderr);
    return run;
  }

  /** The row of the status table that names the client. */
  function rowOf(text: string, clientId: string): string | undefined {
    return text.split('\n').find((line) => line.includes(clientId));
  }

  it('adds a client with the token from stdin, refreshes it with --wait, and status then shows it fresh', async () => {
    const added = await cli(
      [
        '--json',
        'clients',
        'add',
        '--name',
        'Acme CLI',
        '--page-id',
        '4242000001',
        '--instagram-id',
        '17841400004242',
        '--timezone',
        'America/Los_Angeles',
        '--token-stdin',
      ],
      { input: `${TOKEN}\n` },
    );
    expect(added.code).toBe(0);
    const client = JSON.parse(added.stdout);
    expect(client).toMatchObject({
      name: 'Acme CLI',
      facebookPageId: '4242000001',
      hasToken: true,
      tokenStatus: 'unknown',
    });

    const refreshed = await cli(['refresh', '--client', client.id, '--wait']);
    expect(refreshed.stderr).toContain('Waiting for it to finish');
    expect(refreshed.stdout).toContain(`Refreshed Acme CLI (${client.id}) in`);
    expect(refreshed.stdout).toMatch(/Today \(\d{4}-\d{2}-\d{2}\) is fresh: Facebook new followers \d+/);
    expect(refreshed.code).toBe(0);

    const status = await cli(['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Refresh\n  Last cycle');
    expect(rowOf(status.stdout, client.id)).toMatch(
      /^\s+Acme CLI\s+\S+\s+\d{4}-\d{2}-\d{2}\s+fresh\s+\d+s\s+valid\s*$/,
    );

    const json = await cli(['status', '--json']);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.refresh).toMatchObject({ temporal: 'ok' });
    expect(parsed.clients.find((c: { id: string }) => c.id === client.id)).toMatchObject({
      freshness: 'fresh',
      tokenStatus: 'valid',
      refresh: 'not_needed',
    });
  });

  it('says when to try again when a forced refresh comes inside the cooldown', async () => {
    const client = await stack.addClient({ name: 'Cooldown Ltd' });
    const first = await cli(['refresh', '--client', client.id]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Started a refresh of Cooldown Ltd (${client.id}).`);
    await stack.client.workflow.getHandle(clientRefreshWorkflowId(client.id)).result();

    const second = await cli(['refresh', '--client', client.id]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /^error: this client was refreshed less than 300 s ago; try again later\nhint: try again in \d+ s\n$/,
    );

    const json = await cli(['--json', 'refresh', '--client', client.id]);
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: 'refresh_cooldown',
        message: expect.any(String),
        hint: expect.any(String),
        status: 429,
        retryAfterSeconds: expect.any(Number),
      },
    });
  });

  it('answers an unknown client with "no client with id …" and exit code 1', async () => {
    const id = randomUUID();
    const runs = await Promise.all([
      cli(['refresh', '--client', id, '--wait']),
      cli(['clients', 'show', id]),
      cli(['clients', 'update', id, '--name', 'Nobody']),
      cli(['clients', 'remove', id]),
    ]);
    for (const run of runs) {
      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(run.stderr).toBe(`error: no client with id ${id}\n`);
    }
  });

  it('refuses a client id that is not a UUID before asking the API, with exit code 2', async () => {
    // An API URL nothing listens on: the answer must come from the CLI itself.
    const env = { SMC_API_URL: `http://127.0.0.1:${await freePort()}` };
    const runs = await Promise.all([
      cli(['refresh', '--client', '42'], { env }),
      cli(['clients', 'remove', 'acme'], { env }),
    ]);
    expect(runs[0]).toMatchObject({ code: 2, stdout: '' });
    expect(runs[0].stderr).toContain('error: --client is not a UUID (client ids look like');
    expect(runs[1]).toMatchObject({ code: 2, stdout: '' });
    expect(runs[1].stderr).toContain('error: the client id is not a UUID');
  });

  it('prints one JSON document on stdout with --json, for results and errors alike', async () => {
    const client = await stack.addClient({ name: 'Json Inc' });
    const unknown = randomUUID();
    const [list, shown, missing, badId, unreachable] = await Promise.all([
      cli(['clients', 'list', '--json']),
      cli(['--json', 'clients', 'show', client.id]),
      cli(['--json', 'refresh', '--client', unknown]),
      cli(['--json', 'clients', 'remove', 'not-an-id']),
      cli(['--json', 'status'], { env: { SMC_API_URL: `http://127.0.0.1:${await freePort()}` } }),
    ]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: client.id, name: 'Json Inc', hasToken: true })]),
    );
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: client.id, name: 'Json Inc' });
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toEqual({
      error: { code: 'client_not_found', message: `no client with id ${unknown}`, status: 404 },
    });
    expect(badId.code).toBe(2);
    expect(JSON.parse(badId.stdout).error).toMatchObject({
      code: 'usage',
      message: expect.stringContaining('is not a UUID'),
    });
    expect(unreachable.code).toBe(3);
    expect(JSON.parse(unreachable.stdout).error).toMatchObject({
      code: 'unreachable',
      message: expect.stringContaining('could not reach the API'),
    });
    for (const run of [list, shown, missing, badId, unreachable]) expect(run.stderr).toBe('');
  });

  it('refuses a token on the command line and reads one from a named env variable', async () => {
    const refused = await cli(['clients', 'add', '--name', 'Argv', '--page-id', '4242000002', `--token=${ARGV_TOKEN}`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('error: the Meta token is never taken from the command line');

    const added = await cli(
      ['--json', 'clients', 'add', '--name', 'Env Co', '--page-id', '4242000003', '--token-env', 'ACME_TOKEN'],
      {
        env: { ACME_TOKEN: ENV_TOKEN },
      },
    );
    expect(added.code).toBe(0);
    const client = JSON.parse(added.stdout);
    expect(client).toMatchObject({ name: 'Env Co', instagramAccountId: null, hasToken: true });

    const updated = await cli(['clients', 'update', client.id, '--name', 'Env Company', '--token-env', 'NEW_TOKEN'], {
      env: { NEW_TOKEN: `${ENV_TOKEN}-2` },
    });
    expect(updated.code).toBe(0);
    expect(updated.stdout).toContain(`Updated client Env Company (${client.id}).`);
    expect(updated.stdout).toContain('Its new token is stored encrypted');

    const [unset, empty] = await Promise.all([
      cli(['clients', 'update', client.id, '--token-env', 'NOT_SET']),
      cli(['clients', 'update', client.id, '--token-stdin'], { input: '' }),
    ]);
    expect(unset).toMatchObject({
      code: 2,
      stderr: 'error: the env variable NOT_SET (from --token-env) is not set or empty\n',
    });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('error: --token-stdin: stdin held no token');
  });

  it('rejects bad flags with the command to ask for help, exit code 2, and shows help with exit code 0', async () => {
    const [unknownFlag, missing, invalid, nothing, help, overview] = await Promise.all([
      cli(['clients', 'add', '--nme', 'Typo']),
      cli(['clients', 'add', '--page-id', '1', '--token-env', 'T'], { env: { T: ENV_TOKEN } }),
      cli(['clients', 'add', '--name', 'Bad Page', '--page-id', 'acme', '--token-env', 'T'], { env: { T: ENV_TOKEN } }),
      cli(['clients', 'update', randomUUID()]),
      cli(['refresh', '--help']),
      cli([]),
    ]);
    expect(unknownFlag).toMatchObject({
      code: 2,
      stderr: "error: Unknown option '--nme'\nhint: run `social-media-cache clients add --help`\n",
    });
    expect(missing).toMatchObject({
      code: 2,
      stderr: 'error: --name is required\nhint: run `social-media-cache clients add --help`\n',
    });
    expect(invalid).toMatchObject({ code: 2, stderr: 'error: --page-id: must be a numeric Meta id\n' });
    expect(nothing).toMatchObject({ code: 2 });
    expect(nothing.stderr).toContain('error: nothing to change');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: social-media-cache refresh [--client ID] [--wait] [options]');
    expect(help.stdout).toContain('--api-key KEY');
    expect(overview.code).toBe(2);
    expect(overview.stderr).toContain('error: no command given');
  });

  it('exits 3 when the API or Temporal cannot be reached', async () => {
    const [api404, temporal] = await Promise.all([
      cli(['status'], { env: { SMC_API_URL: `http://127.0.0.1:${await freePort()}` } }),
      cli(['schedule', 'pause'], { env: { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` } }),
    ]);
    expect(api404.code).toBe(3);
    expect(api404.stderr).toMatch(
      /^error: could not reach the API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\nhint: is the API running/,
    );
    expect(temporal.code).toBe(3);
    expect(temporal.stderr).toMatch(/^error: Temporal is not reachable at 127\.0\.0\.1:\d+/);
  });

  it("starts a cycle with refresh --wait, prints its progress as plain lines, and ends with the summary and Meta's error code of a failure", async () => {
    const good = await stack.addClient({ name: 'Cycle Good' });
    const expired = await stack.addClient({ name: 'Cycle Expired' });
    stack.sandbox.control.setToken({ token: expired.token, status: 'expired' });

    const run = await cli(['refresh', '--wait']);
    expect(run.stderr).toMatch(/^Started refresh cycle \S+; waiting for it to finish\.\n$/);
    expect(run.stdout).toMatch(/^progress: \d+\/\d+ clients done, \d+ failed$/m);
    expect(run.stdout).not.toContain('\u2588');
    const summary =
      /^Cycle (\S+) finished: (\d+) clients, (\d+) refreshed, 1 failed, 0 skipped \(invalid token\), 0 skipped \(fresh\), 0 already running\.$/m.exec(
        run.stdout,
      );
    expect(summary).not.toBeNull();
    expect(Number(summary![3])).toBe(Number(summary![2]) - 1);
    expect(run.stdout).toMatch(
      new RegExp(`^  failed: Cycle Expired \\(${expired.id}\\): Meta error 190 — .+ \\(1 attempt\\)$`, 'm'),
    );
    expect(run.code).toBe(1);

    const status = await cli(['status']);
    expect(status.stdout).toContain(`  Failed       Cycle Expired: Meta error 190`);
    expect(rowOf(status.stdout, good.id)).toMatch(/\bfresh\b/);
    expect(rowOf(status.stdout, expired.id)).toMatch(/\binvalid\b/);

    // A read key sees the counts, and is told where the names are.
    const asReader = await cli(['status'], { env: { SMC_API_KEY: READ_KEY } });
    expect(asReader.code).toBe(0);
    expect(asReader.stdout).toMatch(/^ {15}\d+ clients: \d+ refreshed, 1 failed, /m);
    expect(asReader.stdout).toContain('  Failed       which clients and why: an admin key shows them');
    for (const hidden of ['Cycle Expired', expired.id, 'Meta error 190']) expect(asReader.stdout).not.toContain(hidden);
  });

  it('pauses, resumes and triggers the refresh Schedule', async () => {
    const scheduleId = `test-cli-schedule-${randomBytes(4).toString('hex')}`;
    await ensureRefreshSchedule(stack.client, {
      scheduleId,
      taskQueue: stack.taskQueue,
      intervalMs: 3 * 3_600_000,
      spacingMs: 0,
      lookbackDays: 2,
    });
    const handle = stack.client.schedule.getHandle(scheduleId);
    try {
      const paused = await cli(['schedule', 'pause', '--schedule-id', scheduleId, '--note', 'maintenance']);
      expect(paused).toMatchObject({
        code: 0,
        stdout: `Paused Schedule ${scheduleId}; no cycle starts until \`social-media-cache schedule resume\`.\n`,
      });
      expect((await handle.describe()).state).toMatchObject({ paused: true, note: 'maintenance' });

      const resumed = await cli(['--json', 'schedule', 'resume', '--schedule-id', scheduleId]);
      expect(resumed.code).toBe(0);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ scheduleId, paused: false, nextRunAt: expect.any(String) });
      expect((await handle.describe()).state.paused).toBe(false);

      const triggered = await cli(['schedule', 'trigger', '--schedule-id', scheduleId]);
      expect(triggered.code).toBe(0);
      expect(triggered.stdout).toContain(`Triggered Schedule ${scheduleId}: a cycle starts now unless one is running.`);
      await waitFor(async () => (await handle.describe()).info.recentActions.length > 0, {
        timeoutMs: 20_000,
        what: 'the triggered cycle',
      });
      const action = (await handle.describe()).info.recentActions[0].action;
      // The triggered cycle runs on this file's worker; it ends before the stack closes.
      await stack.client.workflow.getHandle(action.workflow.workflowId).result();

      const unknown = await cli(['schedule', 'trigger', '--schedule-id', `${scheduleId}-nope`]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain(`error: no Schedule ${scheduleId}-nope in namespace default`);
    } finally {
      await handle.delete().catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      });
    }
  });

  it('prints a client name with control characters escaped, and takes an upper-case id as the client it names', async () => {
    const client = await stack.addClient({ name: 'Evil\u001b[31m Red\r\nerror: fake\u202eoc' });
    // Refreshed first: `status` reads today, which asks for a refresh and starts the cooldown.
    const refreshed = await cli(['refresh', '--client', client.id.toUpperCase(), '--wait']);
    const shown = await cli(['clients', 'show', client.id.toUpperCase()]);
    const listed = await cli(['clients', 'list']);
    const status = await cli(['status']);
    for (const run of [shown, listed, status, refreshed]) {
      expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
      for (const raw of ['\u001b', '\r', '\u202e']) expect(run.stdout + run.stderr).not.toContain(raw);
      expect(run.stdout).toContain('Evil\\x1b[31m Red\\x0d\\x0aerror: fake\\u{202e}oc');
      expect(run.stdout).not.toMatch(/^error: fake/m);
    }
    expect(shown.stdout).toContain(client.id);
    expect(refreshed.stdout).toContain(`(${client.id}) in`);
    expect(refreshed.stdout).not.toContain(client.id.toUpperCase());
  });

  it('adds, lists, tests and removes a webhook, and lists events', async () => {
    const added = await cli([
      'webhooks',
      'add',
      'https://hooks.example.com/smc',
      '--events',
      'token.invalid,client.failing',
    ]);
    expect(added.code).toBe(0);
    const secret = /Signing secret .*: (whsec_\S+)/.exec(added.stdout)?.[1];
    expect(secret).toMatch(/^whsec_/);
    const id = /Added webhook ([0-9a-f-]{36})/.exec(added.stdout)![1];
    const listed = await cli(['webhooks', 'list']);
    expect(listed.stdout).toContain(
      `${id}  enabled   json   https://hooks.example.com/smc  [token.invalid, client.failing]`,
    );
    expect(listed.stdout).not.toContain(secret);
    // The name does not resolve here: the ping is not delivered, and the exit code says so.
    const tested = await cli(['webhooks', 'test', id]);
    expect(tested.code).toBe(1);
    expect(tested.stdout).toMatch(/^Not delivered: /);
    const wrong = await cli(['webhooks', 'add', 'http://hooks.example.com/smc']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('https');
    expect((await cli(['webhooks', 'remove', id])).stdout).toContain(`Removed webhook ${id}.`);
    const events = await cli(['events', 'list', '--json']);
    expect(events.code).toBe(0);
    expect(JSON.parse(events.stdout)).toMatchObject({ success: true, data: expect.any(Array) });
  });

  it('never printed a Meta token or the API key in any output', () => {
    expect(transcript.length).toBeGreaterThan(30);
    const all = transcript.join('\n');
    for (const secret of [TOKEN, ENV_TOKEN, `${ENV_TOKEN}-2`, ARGV_TOKEN, ADMIN_KEY]) expect(all).not.toContain(secret);
  });
});
