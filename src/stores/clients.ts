import type { Knex } from 'knex';
import { recordEvent } from './events';
import { TOKEN_EXPIRING_WITHIN_MS } from '../domain/token-lifecycle';
import type { EventType } from '../domain/vocabulary';
import { randomUUID } from 'node:crypto';
import { decryptToken, encryptToken, TokenKeyring } from '../crypto';
import type { Db } from '../db';
import { PlatformHoldStore } from './holds';

export type { TokenStatus } from '../domain/vocabulary';
import type { FacebookStatus, InstagramStatus, TokenStatus } from '../domain/vocabulary';

/** Instagram's state apart from the token (see the `instagram_status` migration). */
export type { InstagramStatus } from '../domain/vocabulary';

/** The Page's state apart from the token (see the `facebook_status` migration). */
export type { FacebookStatus } from '../domain/vocabulary';

/** A client as the service shows it: never its token, only whether it has one. */
export interface Client {
  id: string;
  name: string;
  facebookPageId: string;
  instagramAccountId: string | null;
  timezone: string;
  tokenStatus: TokenStatus;
  tokenError: string | null;
  hasToken: boolean;
  instagramStatus: InstagramStatus;
  facebookStatus: FacebookStatus;
  /** What debug_token last said (null: never expires, or not asked: no app credentials, or not yet). */
  tokenExpiresAt: Date | null;
  dataAccessExpiresAt: Date | null;
  tokenScopes: string[] | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What a refresh needs to call Meta for a client; exists only inside activities. */
export interface ClientCredentials {
  accessToken: string;
  facebookPageId: string;
  instagramAccountId: string | null;
  timezone: string;
  tokenStatus: TokenStatus;
  /** What the last refresh learnt of the client's Instagram (a refresh compares its own answer with it). */
  instagramStatus: InstagramStatus;
  /** What the last refresh learnt of the client's Page. */
  facebookStatus: FacebookStatus;
  /** The stored ciphertext: marks the status of exactly this token, not one swapped in since. */
  tokenVersion: string;
  /** When debug_token was last asked about this token; null: not yet. */
  tokenCheckedAt: Date | null;
}

export interface NewClient {
  name: string;
  facebookPageId: string;
  instagramAccountId?: string | null;
  accessToken?: string | null;
  timezone?: string;
}

export type ClientPatch = Partial<NewClient>;

/** What re-encrypting one client's stored token did. */
export type ReencryptOutcome = 'reencrypted' | 'current' | 'no_token';

interface ClientRow {
  id: string;
  name: string;
  facebook_page_id: string;
  instagram_account_id: string | null;
  meta_access_token_encrypted: string | null;
  token_status: TokenStatus;
  token_error: string | null;
  instagram_status: InstagramStatus;
  facebook_status: FacebookStatus;
  timezone: string;
  created_at: Date;
  updated_at: Date;
  refresh_requested_at: Date | null;
  days_requested_at: Date | null;
  token_expires_at: Date | null;
  data_access_expires_at: Date | null;
  token_scopes: string[] | null;
  token_checked_at: Date | null;
}

/** The two lines of a client's read budget, each claimed at most once per REFRESH_COOLDOWN. */
export type RefreshSlot = 'refresh' | 'days';

const SLOT_COLUMNS: Record<RefreshSlot, 'refresh_requested_at' | 'days_requested_at'> = {
  refresh: 'refresh_requested_at',
  days: 'days_requested_at',
};

function toClient(row: ClientRow): Client {
  return {
    id: row.id,
    name: row.name,
    facebookPageId: row.facebook_page_id,
    instagramAccountId: row.instagram_account_id,
    timezone: row.timezone,
    tokenStatus: row.token_status,
    tokenError: row.token_error,
    hasToken: row.meta_access_token_encrypted !== null,
    instagramStatus: row.instagram_status,
    facebookStatus: row.facebook_status,
    tokenExpiresAt: row.token_expires_at,
    dataAccessExpiresAt: row.data_access_expires_at,
    tokenScopes: row.token_scopes,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The `clients` table; tokens are encrypted on the way in, bound to their client's id, and
 * decrypted only by `credentials`.
 */
export class ClientStore {
  constructor(
    private readonly db: Db,
    private readonly tokenKeys?: TokenKeyring,
  ) {}

  private keys(purpose: 'stored' | 'read'): TokenKeyring {
    if (!this.tokenKeys) throw new Error(`TOKEN_ENCRYPTION_KEY is not set: tokens cannot be ${purpose}`);
    return this.tokenKeys;
  }

  /** The zone names Postgres knows, read once: they change only with its own upgrade. */
  private postgresZones?: Promise<Set<string>>;

  /**
   * True when Postgres knows the zone by this name: the status pages compute each client's day
   * in SQL, where a zone Node knows and Postgres does not (e.g. `SystemV/PST8`) would fail the
   * query for every client.
   */
  async timeZoneKnown(name: string): Promise<boolean> {
    this.postgresZones ??= this.db
      .raw<{ rows: { name: string }[] }>('select name from pg_timezone_names')
      .then(({ rows }) => new Set(rows.map((r) => r.name)))
      .catch((err: unknown) => {
        this.postgresZones = undefined;
        throw err;
      });
    return (await this.postgresZones).has(name);
  }

  private encrypt(clientId: string, token: string): string {
    return encryptToken(this.keys('stored'), clientId, token);
  }

  async create(input: NewClient): Promise<Client> {
    // The id is made here, not by Postgres: the token's ciphertext is bound to it.
    const id = randomUUID();
    const [row] = await this.db<ClientRow>('clients')
      .insert({
        id,
        name: input.name,
        facebook_page_id: input.facebookPageId,
        instagram_account_id: input.instagramAccountId ?? null,
        meta_access_token_encrypted: input.accessToken ? this.encrypt(id, input.accessToken) : null,
        ...(input.timezone ? { timezone: input.timezone } : {}),
      })
      .returning('*');
    return toClient(row as ClientRow);
  }

  async get(id: string): Promise<Client | undefined> {
    const row = await this.db<ClientRow>('clients').where({ id }).first();
    return row ? toClient(row) : undefined;
  }

  async list(): Promise<Client[]> {
    const rows = await this.db<ClientRow>('clients').orderBy([{ column: 'name' }, { column: 'id' }]);
    return rows.map(toClient);
  }

  /**
   * Applies a patch; a new token resets the token status to `unknown`. What Meta said of an object
   * ends when the object or the token changes: a new Page id, Instagram id or token is asked at
   * once, even while a Page that was gone or a throttle held the old one back.
   */
  async update(id: string, patch: ClientPatch): Promise<Client | undefined> {
    const changes: Partial<ClientRow> = {};
    const released: { platform?: 'facebook' | 'instagram'; reason?: 'not_accessible' }[] = [];
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.facebookPageId !== undefined) {
      changes.facebook_page_id = patch.facebookPageId;
      changes.facebook_status = 'unknown';
      released.push({ platform: 'facebook' });
    }
    if (patch.instagramAccountId !== undefined) {
      changes.instagram_account_id = patch.instagramAccountId;
      changes.instagram_status = 'unknown';
      released.push({ platform: 'instagram' });
    }
    if (patch.timezone !== undefined) changes.timezone = patch.timezone;
    if (patch.accessToken !== undefined) {
      changes.meta_access_token_encrypted = patch.accessToken ? this.encrypt(id, patch.accessToken) : null;
      changes.token_status = 'unknown';
      changes.token_error = null;
      // A new token may carry the permissions the old one lacked, or reach a Page the old one lost.
      changes.instagram_status = 'unknown';
      changes.facebook_status = 'unknown';
      released.push({ reason: 'not_accessible' });
      // What was known of the old token says nothing of the new one, which is checked at its first refresh.
      changes.token_expires_at = null;
      changes.data_access_expires_at = null;
      changes.token_scopes = null;
      changes.token_checked_at = null;
    }
    const [row] = await this.db<ClientRow>('clients')
      .where({ id })
      .update({ ...changes, updated_at: this.db.fn.now() as unknown as Date })
      .returning('*');
    if (row) for (const filter of released) await new PlatformHoldStore(this.db).release(id, filter);
    return row ? toClient(row as ClientRow) : undefined;
  }

  async remove(id: string): Promise<boolean> {
    return (await this.db('clients').where({ id }).delete()) > 0;
  }

  /** Clients with a token, in id order after `afterId` (keyset pagination for the refresh cycle). */
  /**
   * One page of clients with a token, by id after `afterId`, with when their numbers were last
   * fetched from Meta (any day's row), so a cycle can pass over clients refreshed moments before.
   */
  async pageWithToken(
    afterId: string | null,
    limit: number,
  ): Promise<{ id: string; tokenStatus: TokenStatus; lastFetchedAt: Date | null }[]> {
    const rows = await this.db<ClientRow>('clients')
      .whereNotNull('meta_access_token_encrypted')
      .modify((q) => {
        if (afterId) void q.where('id', '>', afterId);
      })
      .orderBy('id')
      .limit(limit)
      .select(
        'id',
        'token_status',
        this.db.raw(
          '(select max(fetched_at) from social_media_cache c where c.client_id = clients.id) as last_fetched_at',
        ),
      );
    return rows.map((r: Pick<ClientRow, 'id' | 'token_status'> & { last_fetched_at: Date | null }) => ({
      id: r.id,
      tokenStatus: r.token_status,
      lastFetchedAt: r.last_fetched_at,
    }));
  }

  async countWithToken(): Promise<number> {
    const row = await this.db('clients')
      .whereNotNull('meta_access_token_encrypted')
      .count<{ n: string }[]>('* as n')
      .first();
    return Number(row?.n ?? 0);
  }

  /**
   * The client's token and what a refresh needs besides. A token stored in the old format or
   * under the previous key is re-encrypted under the current key on the way (read-time upgrade).
   * Throws `TokenDecryptError` when no key opens it.
   */
  async credentials(id: string): Promise<ClientCredentials | undefined> {
    const row = await this.db<ClientRow>('clients').where({ id }).first();
    if (!row?.meta_access_token_encrypted) return undefined;
    const stored = row.meta_access_token_encrypted;
    const { token, current } = decryptToken(this.keys('read'), id, stored);
    let tokenVersion = stored;
    if (!current) {
      const upgraded = this.encrypt(id, token);
      if (await this.replaceCiphertext(id, stored, upgraded)) tokenVersion = upgraded;
    }
    return {
      accessToken: token,
      facebookPageId: row.facebook_page_id,
      instagramAccountId: row.instagram_account_id,
      timezone: row.timezone,
      tokenStatus: row.token_status,
      instagramStatus: row.instagram_status,
      facebookStatus: row.facebook_status,
      tokenVersion,
      tokenCheckedAt: row.token_checked_at,
    };
  }

  /**
   * Re-encrypts the client's stored token under the current key unless it already is. Safe
   * beside running services: the write only lands on the value that was read, and a token
   * changed meanwhile is read again. Throws `TokenDecryptError` when no key opens it.
   */
  async reencryptToken(id: string): Promise<ReencryptOutcome> {
    for (;;) {
      const row = await this.db<ClientRow>('clients').where({ id }).first('meta_access_token_encrypted');
      const stored = row?.meta_access_token_encrypted;
      if (!stored) return 'no_token';
      const { token, current } = decryptToken(this.keys('read'), id, stored);
      if (current) return 'current';
      if (await this.replaceCiphertext(id, stored, this.encrypt(id, token))) return 'reencrypted';
    }
  }

  /** Swaps one ciphertext of the same token for another, only while the row still holds `from`. */
  private async replaceCiphertext(id: string, from: string, to: string): Promise<boolean> {
    // updated_at stays: the client did not change, only how its token is stored.
    return (
      (await this.db('clients')
        .where({ id, meta_access_token_encrypted: from })
        .update({ meta_access_token_encrypted: to })) > 0
    );
  }

  /**
   * Sets the token status. With `tokenVersion`, only while the client still has that token: a
   * refresh that used the old token must not judge a new one an admin put in meanwhile.
   */
  async markToken(id: string, status: TokenStatus, error: string | null = null, tokenVersion?: string): Promise<void> {
    await this.markState(id, 'token_status', status, tokenVersion, { token_error: error }, async (before, trx) => {
      if (status === 'invalid')
        return {
          type: 'token.invalid',
          facts: {
            metaError: error,
            action: 'Replace the token (a long-lived Page token with read_insights and pages_read_engagement)',
            command: `npm run cli -- clients update ${id} --token-stdin`,
          },
        };
      // Restored: Meta accepts a token again after the client's last token event said invalid (a
      // replaced token starts `unknown`, so the state before is not enough).
      if (status !== 'valid' || before === 'valid') return undefined;
      const last = await trx('events')
        .where({ client_id: id })
        .whereIn('type', ['token.invalid', 'token.restored'])
        .orderBy('seq', 'desc')
        .first<{ type: string } | undefined>('type');
      return last?.type === 'token.invalid'
        ? { type: 'token.restored', facts: { action: 'None: Meta accepts the token again' } }
        : undefined;
    });
  }

  /**
   * Sets one state column of the client (with `tokenVersion`, only while it has that token) and,
   * in the same transaction, records the event `eventFor` says the change is: once per change,
   * whatever the number of refreshes that see the same state.
   */
  private async markState(
    id: string,
    column: 'token_status' | 'instagram_status' | 'facebook_status',
    status: string,
    tokenVersion: string | undefined,
    extra: Record<string, unknown>,
    eventFor: (
      before: string,
      trx: Knex.Transaction,
    ) =>
      | { type: EventType; facts: Record<string, unknown> }
      | undefined
      | Promise<{ type: EventType; facts: Record<string, unknown> } | undefined>,
  ): Promise<void> {
    await this.db.transaction(async (trx) => {
      const row = await trx('clients')
        .where({ id })
        .modify((q) => {
          if (tokenVersion !== undefined) void q.where({ meta_access_token_encrypted: tokenVersion });
        })
        .forUpdate()
        .first<{ name: string; [column: string]: string } | undefined>('name', column);
      if (!row) return;
      const before = row[column];
      if (before === status && Object.keys(extra).length === 0) return;
      await trx('clients')
        .where({ id })
        .update({ [column]: status, ...extra, updated_at: trx.fn.now() });
      const event = before === status ? undefined : await eventFor(before, trx);
      if (event) await recordEvent(trx, { ...event, clientId: id, clientName: row.name });
    });
  }

  /**
   * Stores what debug_token said of the token (`info` undefined: the check failed, and is not
   * made again before a day has passed). Like `markToken`, only for the token that was checked.
   */
  async markTokenChecked(
    id: string,
    tokenVersion: string,
    info?: { expiresAt: Date | null; dataAccessExpiresAt: Date | null; scopes: string[] },
  ): Promise<void> {
    // updated_at stays: the client did not change, only what is known of its token.
    await this.db.transaction(async (trx) => {
      const [row] = await trx('clients')
        .where({ id, meta_access_token_encrypted: tokenVersion })
        .update({
          token_checked_at: trx.fn.now(),
          ...(info
            ? {
                token_expires_at: info.expiresAt,
                data_access_expires_at: info.dataAccessExpiresAt,
                token_scopes: info.scopes,
              }
            : {}),
        })
        .returning<{ name: string }[]>(['name']);
      if (!row || !info) return;
      const ends = tokenEndsSoon(info);
      if (!ends) return;
      // Once per end date: a daily check that sees the same date again says nothing new.
      const already = await trx('events')
        .where({ client_id: id, type: 'token.expiring' })
        .whereRaw("facts->>'endsAt' = ?", [ends.at.toISOString()])
        .first('id');
      if (already) return;
      await recordEvent(trx, {
        type: 'token.expiring',
        clientId: id,
        clientName: row.name,
        facts: {
          what: ends.what,
          endsAt: ends.at.toISOString(),
          daysLeft: Math.max(0, Math.floor((ends.at.getTime() - Date.now()) / 86_400_000)),
          action:
            ends.what === 'token'
              ? 'Log in to the Facebook app again for a new long-lived token, then store it'
              : "The person who granted access must consent again (Meta's data access expires every 90 days)",
          command: `npm run cli -- clients update ${id} --token-stdin`,
        },
      });
    });
  }

  /** Sets what Meta said about the client's Instagram; like `markToken`, only for the token that was used. */
  async markInstagram(id: string, status: InstagramStatus, tokenVersion?: string): Promise<void> {
    await this.markState(id, 'instagram_status', status, tokenVersion, {}, () =>
      status === 'permission_missing'
        ? {
            type: 'instagram.permission_missing',
            facts: {
              action: 'Grant instagram_manage_insights to the app and replace the token',
              command: `npm run cli -- clients update ${id} --token-stdin`,
            },
          }
        : status === 'not_linked'
          ? {
              type: 'instagram.not_linked',
              facts: {
                action: "Link the Instagram business account to the Page, or fix the client's Instagram id",
                command: `npm run cli -- clients update ${id} --instagram-id <id>`,
              },
            }
          : undefined,
    );
  }

  /** Sets what Meta said about the client's Page; like `markToken`, only for the token that was used. */
  async markFacebook(id: string, status: FacebookStatus, tokenVersion?: string): Promise<void> {
    await this.markState(id, 'facebook_status', status, tokenVersion, {}, () =>
      status === 'permission_missing'
        ? {
            type: 'facebook.permission_missing',
            facts: {
              action: 'Grant pages_read_engagement and read_insights to the app and replace the token',
              command: `npm run cli -- clients update ${id} --token-stdin`,
            },
          }
        : status === 'not_accessible'
          ? {
              type: 'page.not_accessible',
              facts: {
                action:
                  "Fix the client's Page id, or store a token that reaches the Page (it is asked again once a day)",
                command: `npm run cli -- clients update ${id} --page-id <id>`,
              },
            }
          : undefined,
    );
  }

  /**
   * Claims one of the client's read-budget slots unless it was claimed within `cooldownMs`: one
   * conditional UPDATE, so concurrent API processes let exactly one request through. `refresh`
   * is the on-demand refresh of the lookback (reads and admins); `days` is a read's fetch of
   * missing days older than the lookback.
   */
  async claimRefreshSlot(
    id: string,
    cooldownMs: number,
    slot: RefreshSlot = 'refresh',
  ): Promise<{ claimed: true; previous: Date | null } | { claimed: false; retryAfterMs: number }> {
    const column = SLOT_COLUMNS[slot];
    const claimed = await this.db.raw<{ rows: { previous: Date | null }[] }>(
      // clock_timestamp, not now(): requests queued on the row lock must compare against the time the winner wrote.
      `update clients c set ${column} = clock_timestamp()
         from (select id, ${column} as previous from clients where id = ? for update) p
        where c.id = p.id
          and (p.previous is null or p.previous <= clock_timestamp() - (? * interval '1 millisecond'))
        returning p.previous`,
      [id, cooldownMs],
    );
    if (claimed.rows.length) return { claimed: true, previous: claimed.rows[0].previous };
    const row = await this.db.raw<{ rows: { wait_ms: string | null }[] }>(
      `select ceil(extract(epoch from (${column} + (? * interval '1 millisecond') - clock_timestamp())) * 1000) as wait_ms
         from clients where id = ?`,
      [cooldownMs, id],
    );
    return { claimed: false, retryAfterMs: Math.max(0, Number(row.rows[0]?.wait_ms ?? 0)) };
  }

  /** Gives a claimed slot back (the refresh could not be started), restoring the previous time. */
  async releaseRefreshSlot(id: string, previous: Date | null, slot: RefreshSlot = 'refresh'): Promise<void> {
    await this.db('clients')
      .where({ id })
      .update({ [SLOT_COLUMNS[slot]]: previous });
  }
}

/** The earlier of the token's expiry and its data access's end, when it is within TOKEN_EXPIRING_WITHIN_MS. */
function tokenEndsSoon(info: {
  expiresAt: Date | null;
  dataAccessExpiresAt: Date | null;
}): { what: 'token' | 'data_access'; at: Date } | undefined {
  const candidates = [
    info.expiresAt ? { what: 'token' as const, at: info.expiresAt } : undefined,
    info.dataAccessExpiresAt ? { what: 'data_access' as const, at: info.dataAccessExpiresAt } : undefined,
  ]
    .filter((c): c is { what: 'token' | 'data_access'; at: Date } => c !== undefined)
    .filter((c) => c.at.getTime() - Date.now() <= TOKEN_EXPIRING_WITHIN_MS)
    .sort((a, b) => a.at.getTime() - b.at.getTime());
  return candidates[0];
}
