import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { z } from 'zod';
import { createSocialMediaCacheClient, SocialMediaCacheClient } from '../client';
import { Config, loadConfig } from '../config';
import type { TokenKeyring } from '../crypto';
import { createDb, Db, describeDatabaseUrl } from '../db';
import { CliError, EXIT, usageError } from './errors';
import type { Output } from './output';

export interface GlobalOptions {
  apiUrl?: string;
  apiKey?: string;
}

const uuid = z.uuid();

/**
 * Checks a client id before anything is sent, so a typo is a usage error that says so; returns
 * it in lower case, the spelling the API and the workflow ids use (`refresh --wait` waits on it).
 */
export function requireUuid(value: string, what = 'the client id'): string {
  // Not echoed: what was typed may be a token pasted in the wrong place.
  if (!uuid.safeParse(value).success)
    throw usageError(
      `${what} is not a UUID (client ids look like 3f1c2a4e-8b7d-4c1e-9a2f-5d6e7f8a9b0c)`,
      'list the ids with `social-media-cache clients list`',
    );
  return value.toLowerCase();
}

/**
 * What a command needs, made on first use: the configuration, the API client, the Temporal
 * client and, for the commands that handle tokens, the database. `close` releases whatever was opened.
 */
export class CliContext {
  private loadedConfig?: Config;
  private apiClient?: SocialMediaCacheClient;
  private temporalClient?: Promise<Client>;
  private db?: Promise<Db>;

  constructor(
    readonly out: Output,
    private readonly globals: GlobalOptions,
  ) {}

  get io() {
    return this.out.io;
  }

  config(): Config {
    this.loadedConfig ??= loadConfig(this.io.env);
    return this.loadedConfig;
  }

  apiUrl(): string {
    const url =
      this.globals.apiUrl ?? (this.io.env.SMC_API_URL || undefined) ?? `http://127.0.0.1:${this.config().port}`;
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol))
      throw usageError(`the API URL must be an http(s) URL such as http://127.0.0.1:3000`);
    return url;
  }

  /** The key from --api-key, SMC_API_KEY, or the admin key `npm start` keeps in DATA_DIR. */
  private apiKey(): string {
    const key = this.globals.apiKey ?? (this.io.env.SMC_API_KEY || undefined) ?? this.localAdminKey();
    if (!key)
      throw usageError(
        'no API key: pass --api-key or set SMC_API_KEY',
        'npm start prints an admin key on its first start',
      );
    return key;
  }

  private localAdminKey(): string | undefined {
    const file = path.join(this.config().dataDir, 'local-secrets.json');
    try {
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { adminApiKey?: string }).adminApiKey;
    } catch {
      return undefined;
    }
  }

  api(): SocialMediaCacheClient {
    this.apiClient ??= createSocialMediaCacheClient({
      baseUrl: this.apiUrl(),
      apiKey: this.apiKey(),
      timeoutMs: 15_000,
    });
    return this.apiClient;
  }

  temporalAddress(): string {
    const { address, port } = this.config().temporal;
    return address ?? `127.0.0.1:${port}`;
  }

  /** A connected Temporal client (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE); exit 3 when it does not answer. */
  temporal(): Promise<Client> {
    this.temporalClient ??= (async () => {
      const address = this.temporalAddress();
      let connection: Connection;
      try {
        connection = await Connection.connect({ address, tls: this.config().temporal.tls, connectTimeout: '5s' });
      } catch (err) {
        throw new CliError(
          `Temporal is not reachable at ${address}: ${err instanceof Error ? err.message : String(err)}`,
          EXIT.unreachable,
          'temporal_unreachable',
          'set TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE) to the Temporal frontend the worker uses',
        );
      }
      return new Client({ connection, namespace: this.config().temporal.namespace });
    })();
    return this.temporalClient;
  }

  /** TOKEN_ENCRYPTION_KEY and TOKEN_ENCRYPTION_KEY_PREVIOUS, for commands that read tokens themselves. */
  tokenKeys(): TokenKeyring {
    const keys = this.config().tokenKeys;
    if (!keys)
      throw usageError(
        'TOKEN_ENCRYPTION_KEY is not set',
        'set it (and TOKEN_ENCRYPTION_KEY_PREVIOUS while rotating) as the worker has them',
      );
    return keys;
  }

  /**
   * Postgres at DATABASE_URL, for commands that must not go through the API (it never hands out
   * tokens); exit 3 when it does not answer.
   */
  database(): Promise<Db> {
    this.db ??= (async () => {
      const url = this.config().databaseUrl;
      if (!url)
        throw usageError(
          'DATABASE_URL is not set',
          'set it to the database the API and worker use (npm start prints its URL)',
        );
      const db = createDb(url, { poolMax: 2 });
      try {
        await db.raw('select 1');
      } catch (err) {
        await db.destroy();
        throw new CliError(
          `Postgres is not reachable at ${describeDatabaseUrl(url)}: ${err instanceof Error ? err.message : String(err)}`,
          EXIT.unreachable,
          'database_unreachable',
          'check DATABASE_URL',
        );
      }
      return db;
    })();
    return this.db;
  }

  async close(): Promise<void> {
    const temporal = await this.temporalClient?.catch(() => undefined);
    await temporal?.connection.close();
    const db = await this.db?.catch(() => undefined);
    await db?.destroy();
  }
}
