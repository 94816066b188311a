import type { Db } from '../db';
import type { HoldReason, Platform } from '../domain/vocabulary';

/** No call may go to one platform of a client before `until`: Meta's throttle, or a Page that is gone. */
export interface PlatformHold {
  platform: Platform;
  until: Date;
  reason: HoldReason;
  errorCode: string | null;
  message: string | null;
}

interface HoldRow {
  client_id: string;
  platform: Platform;
  held_until: Date;
  reason: HoldReason;
  error_code: string | null;
  error_message: string | null;
}

const toHold = (row: HoldRow): PlatformHold => ({
  platform: row.platform,
  until: row.held_until,
  reason: row.reason,
  errorCode: row.error_code,
  message: row.error_message,
});

/**
 * The `platform_holds` table: per client and platform, the time before which nothing calls that
 * object. Every refresh reads it before it calls Meta, whichever path started it and whichever
 * worker runs it, so a throttle Meta estimated in hours is respected for hours.
 */
export class PlatformHoldStore {
  constructor(private readonly db: Db) {}

  /** The client's holds that have not ended, by platform (ended ones are left for `hold` to replace). */
  async active(clientId: string): Promise<Map<Platform, PlatformHold>> {
    const rows = await this.db<HoldRow>('platform_holds')
      .where({ client_id: clientId })
      .andWhere('held_until', '>', this.db.fn.now());
    return new Map(rows.map((row) => [row.platform, toHold(row)]));
  }

  /** The holds of many clients, for the status pages: one query. */
  async activeFor(clientIds: readonly string[]): Promise<Map<string, PlatformHold[]>> {
    const result = new Map<string, PlatformHold[]>();
    if (clientIds.length === 0) return result;
    const rows = await this.db<HoldRow>('platform_holds')
      .whereIn('client_id', clientIds)
      .andWhere('held_until', '>', this.db.fn.now());
    for (const row of rows) result.set(row.client_id, [...(result.get(row.client_id) ?? []), toHold(row)]);
    return result;
  }

  /**
   * Holds one platform until `until`; a hold already reaching further stays (two workers that met
   * the same throttle keep the longer estimate). Writes nothing for a client that was deleted.
   */
  async hold(
    clientId: string,
    platform: Platform,
    until: Date,
    reason: HoldReason,
    error: { code?: string; message?: string } = {},
  ): Promise<void> {
    await this.db.raw(
      `insert into platform_holds (client_id, platform, held_until, reason, error_code, error_message)
       select c.id, ?, ?, ?, ?, ? from clients c where c.id = ?
       on conflict (client_id, platform) do update
         set held_until = excluded.held_until, reason = excluded.reason,
             error_code = excluded.error_code, error_message = excluded.error_message, created_at = now()
         where platform_holds.held_until <= excluded.held_until or platform_holds.reason <> excluded.reason`,
      [platform, until, reason, error.code ?? null, error.message ?? null, clientId],
    );
  }

  /** Ends holds: a platform answered, or what the hold was about changed (a new Page id, a new token). */
  async release(clientId: string, filter: { platform?: Platform; reason?: HoldReason } = {}): Promise<void> {
    await this.db('platform_holds')
      .where({ client_id: clientId })
      .modify((q) => {
        if (filter.platform) void q.where({ platform: filter.platform });
        if (filter.reason) void q.where({ reason: filter.reason });
      })
      .delete();
  }
}
