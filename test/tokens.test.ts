import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createKeyring, decryptToken, encryptToken, keyId, TokenDecryptError } from '../src/crypto';
import { createLogger } from '../src/boot/logger';
import { waitFor } from '../src/net';
import { ClientStore } from '../src/stores/clients';
import { clientRefreshWorkflowId, RefreshClientInput, RefreshClientResult } from '../workflows/definitions';
import { createRefreshStack, RefreshStack } from './helpers/stack';
import { historyText } from './helpers/temporal';
import { encryptV1 } from './helpers/tokens';

describe('Meta tokens at rest', () => {
  let stack: RefreshStack;
  const logs: string[] = [];

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    stack = await createRefreshStack({ logger: createLogger('debug', destination) });
  });

  afterAll(async () => {
    await stack?.close();
  });

  async function stored(clientId: string): Promise<string> {
    const row: { meta_access_token_encrypted: string } = await stack.database
      .db('clients')
      .where({ id: clientId })
      .first();
    return row.meta_access_token_encrypted;
  }

  async function store(clientId: string, value: string): Promise<void> {
    await stack.database.db('clients').where({ id: clientId }).update({ meta_access_token_encrypted: value });
  }

  function refresh(clientId: string): Promise<RefreshClientResult> {
    return stack.client.workflow.execute('refreshClient', {
      workflowId: clientRefreshWorkflowId(clientId),
      taskQueue: stack.taskQueue,
      args: [{ clientId, trigger: 'manual', lookbackDays: 1 } satisfies RefreshClientInput],
    });
  }

  it('binds a token to its client: copied onto another client it fails there, the refresh fails once, and nothing shows the token', async () => {
    const a = await stack.addClient();
    const b = await stack.addClient();
    const [aValue, bValue] = [await stored(a.id), await stored(b.id)];
    await store(a.id, bValue);
    await store(b.id, aValue);

    await expect(stack.clients.credentials(b.id)).rejects.toThrow(TokenDecryptError);
    const result = await refresh(b.id);
    expect(result).toMatchObject({
      outcome: 'failed',
      errorCode: 'token_undecryptable',
      errorType: 'TokenUndecryptable',
      attempts: 1,
    });
    expect(result.message).toMatch(/copied from another client, or altered/);
    expect(stack.sandbox.control.calls().byObject[b.facebookPageId]).toBeUndefined();
    // Not judged invalid: the token may be fine and the keys misconfigured.
    expect((await stack.clients.get(b.id))?.tokenStatus).toBe('unknown');
    expect(logs.join('')).toContain('the stored token cannot be decrypted');

    const history = historyText(await stack.client.workflow.getHandle(clientRefreshWorkflowId(b.id)).fetchHistory());
    const seen = [history, JSON.stringify(result), ...logs].join('\n');
    for (const secret of [a.token, b.token, aValue, bValue]) expect(seen).not.toContain(secret);

    await store(a.id, aValue);
    await store(b.id, bValue);
    expect((await refresh(b.id)).outcome).toBe('refreshed');
  });

  it('refuses a token whose authentication tag was cut short', () => {
    const keys = createKeyring(randomBytes(32));
    const clientId = randomUUID();
    const v2 = encryptToken(keys, clientId, 'a-token').split(':');
    v2[3] = Buffer.from(v2[3], 'base64url').subarray(0, 12).toString('base64url');
    expect(() => decryptToken(keys, clientId, v2.join(':'))).toThrow(/authentication tag is not 16 bytes/);

    const v1 = encryptV1(keys.current.key, 'a-token').split(':');
    v1[2] = Buffer.from(v1[2], 'base64url').subarray(0, 4).toString('base64url');
    expect(() => decryptToken(keys, clientId, v1.join(':'))).toThrow(/authentication tag is not 16 bytes/);
  });

  it('still reads v1 tokens under the current or the previous key and stores them as v2 under the current key once read', async () => {
    const current = stack.tokenKeys.current.key;
    const old = randomBytes(32);
    const v2Prefix = `v2:${keyId(current)}:`;

    const underCurrent = await stack.addClient();
    await store(underCurrent.id, encryptV1(current, underCurrent.token));
    expect((await refresh(underCurrent.id)).outcome).toBe('refreshed');
    expect(await stored(underCurrent.id)).toMatch(new RegExp(`^${v2Prefix}`));
    // The refresh marked the upgraded value valid: it judged the token it had read.
    expect((await stack.clients.get(underCurrent.id))?.tokenStatus).toBe('valid');

    const rotating = new ClientStore(stack.database.db, createKeyring(current, old));
    const v1UnderOld = await stack.addClient();
    await store(v1UnderOld.id, encryptV1(old, v1UnderOld.token));
    const v2UnderOld = await stack.addClient();
    await store(v2UnderOld.id, encryptToken(createKeyring(old), v2UnderOld.id, v2UnderOld.token));
    for (const client of [v1UnderOld, v2UnderOld]) {
      await expect(stack.clients.credentials(client.id)).rejects.toThrow(TokenDecryptError);
      expect((await rotating.credentials(client.id))?.accessToken).toBe(client.token);
      expect(await stored(client.id)).toMatch(new RegExp(`^${v2Prefix}`));
      expect((await stack.clients.credentials(client.id))?.accessToken).toBe(client.token);
    }
  });

  it('never overwrites a token replaced while the old one was being re-encrypted', async () => {
    const { db } = stack.database;
    const client = await stack.addClient();
    const upgrades = [
      { name: 'a refresh reading the token', run: () => stack.clients.credentials(client.id) },
      { name: 'tokens reencrypt', run: () => stack.clients.reencryptToken(client.id) },
    ];
    for (const [i, upgrade] of upgrades.entries()) {
      const old = encryptV1(stack.tokenKeys.current.key, client.token);
      await store(client.id, old);
      const replacement = encryptToken(stack.tokenKeys, client.id, `replacement-token-${i}`);
      const admin = await db.transaction();
      await admin('clients').where({ id: client.id }).update({ meta_access_token_encrypted: replacement });
      const upgrading = upgrade.run();
      // The upgrade has read the old value and now waits for the admin's row lock.
      await waitFor(
        async () => {
          const { rows } = await db.raw<{ rows: { n: number }[] }>(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
          );
          return rows[0].n > 0;
        },
        { timeoutMs: 10_000, what: `${upgrade.name} to wait for the row lock` },
      );
      await admin.commit();
      await upgrading;
      expect(await stored(client.id)).toBe(replacement);
    }
    expect((await stack.clients.credentials(client.id))?.accessToken).toBe('replacement-token-1');
  });
});
