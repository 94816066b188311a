import { createStores } from '../../stores';
import { TokenDecryptError } from '../../crypto';
import { CommandSpec, PROGRAM } from '../args';
import { EXIT } from '../errors';

const PAGE_SIZE = 200;

/** What `tokens reencrypt` did; no token or ciphertext is ever part of it. */
export interface ReencryptSummary {
  /** Id of the key every token is now stored under (TOKEN_ENCRYPTION_KEY). */
  keyId: string;
  reencrypted: number;
  alreadyCurrent: number;
  failed: { clientId: string; reason: string }[];
}

const reencrypt: CommandSpec = {
  words: ['tokens', 'reencrypt'],
  summary: 'Re-encrypt every stored Meta token with TOKEN_ENCRYPTION_KEY (after a key rotation)',
  details: [
    'Talks to Postgres directly, not to the API (which never hands out tokens): it needs DATABASE_URL, ' +
      'TOKEN_ENCRYPTION_KEY and, for tokens stored under the old key, TOKEN_ENCRYPTION_KEY_PREVIOUS.',
    'Safe while the service runs: each token is rewritten only if it is still the value that was read. ' +
      'A token neither key can decrypt is reported by client id and the command exits 1; set it again with ' +
      `\`${PROGRAM} clients update ID --token-stdin\`.`,
  ],
  async run(ctx) {
    const keys = ctx.tokenKeys();
    const { clients } = createStores(await ctx.database(), keys);
    const summary: ReencryptSummary = { keyId: keys.current.id, reencrypted: 0, alreadyCurrent: 0, failed: [] };
    let afterId: string | null = null;
    for (;;) {
      const page = await clients.pageWithToken(afterId, PAGE_SIZE);
      for (const { id } of page) {
        try {
          const outcome = await clients.reencryptToken(id);
          if (outcome === 'reencrypted') summary.reencrypted += 1;
          if (outcome === 'current') summary.alreadyCurrent += 1;
        } catch (err) {
          if (!(err instanceof TokenDecryptError)) throw err;
          summary.failed.push({ clientId: id, reason: err.message });
        }
      }
      if (page.length < PAGE_SIZE) break;
      afterId = page[page.length - 1].id;
    }
    ctx.out.result(summary, [
      `Re-encrypted ${summary.reencrypted} token${summary.reencrypted === 1 ? '' : 's'} with key ${summary.keyId}; ` +
        `${summary.alreadyCurrent} already current; ${summary.failed.length} failed.`,
      ...summary.failed.map((f) => `  failed: client ${f.clientId}: ${f.reason}`),
      ...(summary.failed.length
        ? [
            `Set those tokens again with \`${PROGRAM} clients update ID --token-stdin\`, or add the key they were stored under as TOKEN_ENCRYPTION_KEY_PREVIOUS.`,
          ]
        : []),
    ]);
    return summary.failed.length ? EXIT.failure : EXIT.ok;
  },
};

export const tokenCommands = [reencrypt];
