import { randomBytes } from 'node:crypto';
import { createKeyring, encryptToken, keyId } from '../src/crypto';
import { freePort } from '../src/net';
import { clientRefreshWorkflowId, RefreshClientInput, RefreshClientResult } from '../workflows/definitions';
import { collect, spawnEntry } from './helpers/process';
import { createRefreshStack, RefreshStack } from './helpers/stack';
import { encryptV1 } from './helpers/tokens';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('rotating the token encryption key', () => {
  let stack: RefreshStack;
  let keyA: Buffer;
  const keyB = randomBytes(32);
  /** The environment of the rotation: B is the new key, A the one being rotated out. */
  let keys: Record<string, string>;
  const ids: string[] = [];
  const secrets: string[] = [];
  /** Every output of every command this file ran, checked for secrets at the end. */
  const transcript: string[] = [];

  beforeAll(async () => {
    stack = await createRefreshStack();
    keyA = stack.tokenKeys.current.key;
    keys = { TOKEN_ENCRYPTION_KEY: keyB.toString('hex'), TOKEN_ENCRYPTION_KEY_PREVIOUS: keyA.toString('base64') };
    secrets.push(keyA.toString('hex'), keyB.toString('hex'));
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** Runs `npm run cli -- tokens reencrypt` against this file's database with the given keys. */
  async function reencrypt(env: Record<string, string>, args: string[] = []): Promise<Run> {
    const child = spawnEntry(
      'cli.ts',
      { DATABASE_URL: stack.database.url, ...env },
      { args: ['tokens', 'reencrypt', ...args] },
    );
    const run = await collect(child).exited;
    transcript.push(run.stdout, run.stderr);
    return run;
  }

  function refresh(clientId: string): Promise<RefreshClientResult> {
    return stack.client.workflow.execute('refreshClient', {
      workflowId: clientRefreshWorkflowId(clientId),
      taskQueue: stack.taskQueue,
      args: [{ clientId, trigger: 'manual', lookbackDays: 1 } satisfies RefreshClientInput],
    });
  }

  async function outcomes(clientIds: string[]): Promise<string[]> {
    return (await Promise.all(clientIds.map(refresh))).map((r) => r.outcome);
  }

  async function stored(clientId: string): Promise<string> {
    const row: { meta_access_token_encrypted: string } = await stack.database
      .db('clients')
      .where({ id: clientId })
      .first();
    return row.meta_access_token_encrypted;
  }

  const storedValues = () => Promise.all(ids.map(stored));

  it('keeps every client refreshing through a rotation, and the command leaves every token under the new key', async () => {
    const clients = [];
    for (let i = 0; i < 4; i += 1) clients.push(await stack.addClient());
    ids.push(...clients.map((c) => c.id));
    secrets.push(...clients.map((c) => c.token));
    expect(await outcomes(ids)).toEqual(Array(4).fill('refreshed'));
    // One client still in the format written before key ids.
    await stack.database
      .db('clients')
      .where({ id: ids[3] })
      .update({ meta_access_token_encrypted: encryptV1(keyA, clients[3].token) });
    secrets.push(...(await storedValues()));

    await stack.restartWorker(createKeyring(keyB, keyA));
    // A refresh re-encrypts the token it reads; the clients not refreshed yet keep the old key.
    expect(await outcomes(ids.slice(0, 2))).toEqual(['refreshed', 'refreshed']);
    expect(await storedValues()).toEqual([
      expect.stringMatching(`^v2:${keyId(keyB)}:`),
      expect.stringMatching(`^v2:${keyId(keyB)}:`),
      expect.stringMatching(`^v2:${keyId(keyA)}:`),
      expect.stringMatching(/^v1:/),
    ]);

    const run = await reencrypt(keys, ['--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ keyId: keyId(keyB), reencrypted: 2, alreadyCurrent: 2, failed: [] });
    expect(await storedValues()).toEqual(Array(4).fill(expect.stringMatching(`^v2:${keyId(keyB)}:`)));

    const again = await reencrypt(keys);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(`Re-encrypted 0 tokens with key ${keyId(keyB)}; 4 already current; 0 failed.`);

    await stack.restartWorker(createKeyring(keyB));
    expect(await outcomes(ids)).toEqual(Array(4).fill('refreshed'));
    for (const id of ids) expect((await stack.clients.get(id))?.tokenStatus).toBe('valid');
  }, 120_000);

  it('reports a token neither key can decrypt by its client id, never printing it, and exits 1', async () => {
    const lost = await stack.addClient();
    const underUnknownKey = encryptToken(createKeyring(randomBytes(32)), lost.id, lost.token);
    await stack.database.db('clients').where({ id: lost.id }).update({ meta_access_token_encrypted: underUnknownKey });
    secrets.push(lost.token, underUnknownKey);

    const run = await reencrypt(keys, ['--json']);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout) as {
      reencrypted: number;
      alreadyCurrent: number;
      failed: { clientId: string; reason: string }[];
    };
    expect(summary).toMatchObject({ reencrypted: 0, alreadyCurrent: 4 });
    expect(summary.failed).toEqual([
      {
        clientId: lost.id,
        reason: expect.stringMatching(/neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS/),
      },
    ]);

    const text = await reencrypt(keys);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('4 already current; 1 failed.');
    expect(text.stdout).toContain(`failed: client ${lost.id}:`);
    expect(await stored(lost.id)).toBe(underUnknownKey);
  });

  it('exits 2 without DATABASE_URL or TOKEN_ENCRYPTION_KEY, and 3 when Postgres cannot be reached', async () => {
    const noDatabase = await reencrypt({ ...keys, DATABASE_URL: '' });
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr).toContain('error: DATABASE_URL is not set');

    const noKey = await reencrypt({});
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('error: TOKEN_ENCRYPTION_KEY is not set');

    const unreachable = await reencrypt(
      {
        ...keys,
        DATABASE_URL: `postgres://postgres:db-password-${randomBytes(4).toString('hex')}@127.0.0.1:${await freePort()}/nowhere`,
      },
      ['--json'],
    );
    expect(unreachable.code).toBe(3);
    expect(JSON.parse(unreachable.stdout)).toMatchObject({ error: { code: 'database_unreachable' } });
    expect(unreachable.stdout).not.toContain('db-password');
  });

  it('never printed a key, a token or a stored ciphertext', () => {
    const output = transcript.join('\n');
    for (const secret of [...secrets, keyA.toString('base64'), keyB.toString('base64')])
      expect(output).not.toContain(secret);
  });
});
