import type { Knex } from 'knex';
import type { Db } from '../db';
import type { ClientOutcome, EventType } from '../domain/vocabulary';

/** Outcomes that end a failing streak (as the status pages count it). */
const STREAK_BREAKERS = `(${(['refreshed', 'skipped_fresh', 'skipped_token_invalid'] satisfies ClientOutcome[]).map((o) => `'${o}'`).join(', ')})`;

/** An event as the API and the CLI show it. */
export interface ServiceEvent {
  id: string;
  type: EventType;
  occurredAt: string;
  clientId: string | null;
  clientName: string | null;
  /** What happened and what to do: Meta's code and words, the action, the CLI command. Never a secret. */
  facts: Record<string, unknown>;
}

interface EventRow {
  id: string;
  seq: string;
  type: EventType;
  occurred_at: Date;
  client_id: string | null;
  client_name: string | null;
  facts: Record<string, unknown>;
}

const toEvent = (row: EventRow): ServiceEvent => ({
  id: row.id,
  type: row.type,
  occurredAt: row.occurred_at.toISOString(),
  clientId: row.client_id,
  clientName: row.client_name,
  facts: row.facts,
});

/** Records an event in `db` (or a transaction), returning it. */
export async function recordEvent(
  db: Db | Knex.Transaction,
  event: { type: EventType; clientId?: string | null; clientName?: string | null; facts: Record<string, unknown> },
): Promise<ServiceEvent> {
  const [row] = await db<EventRow>('events')
    .insert({
      type: event.type,
      client_id: event.clientId ?? null,
      client_name: event.clientName ?? null,
      facts: event.facts,
    })
    .returning('*');
  return toEvent(row);
}

/** The `events` table: listed newest first with a cursor, pruned past the retention. */
export class EventStore {
  constructor(private readonly db: Db) {}

  /**
   * Newest first, at most `limit`; `before`: the cursor of the previous page's last event (its
   * `next`). Optionally one type or one client.
   */
  async list(options: {
    limit: number;
    before?: string;
    type?: EventType;
    clientId?: string;
  }): Promise<{ events: ServiceEvent[]; next: string | null }> {
    const rows = await this.db<EventRow>('events')
      .modify((q) => {
        if (options.before) void q.where('seq', '<', options.before);
        if (options.type) void q.where({ type: options.type });
        if (options.clientId) void q.where({ client_id: options.clientId });
      })
      .orderBy('seq', 'desc')
      .limit(options.limit + 1);
    const page = rows.slice(0, options.limit);
    return {
      events: page.map(toEvent),
      next: rows.length > options.limit ? String(page[page.length - 1].seq) : null,
    };
  }

  /**
   * After refreshes reported: a client whose consecutive failed refreshes reached `failingAfter`
   * is `client.failing` (once, until it recovers), and a failing client refreshed again is
   * `client.recovered`. Per client in a transaction locked on it, so a result recorded twice (an
   * activity's retry) or two workers never record the change twice.
   */
  async recordStreaks(clientIds: readonly string[], failingAfter: number): Promise<ServiceEvent[]> {
    const recorded: ServiceEvent[] = [];
    for (const clientId of new Set(clientIds)) {
      const event = await this.db.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`client-streak:${clientId}`]);
        const { rows } = await trx.raw<{
          rows: { streak: number; name: string | null; code: string | null; message: string | null }[];
        }>(
          `select (select count(*)::int from refresh_client_results r
                    where r.client_id = c.id and r.outcome = 'failed'
                      and r.started_at > coalesce((select max(ok.started_at) from refresh_client_results ok
                                                    where ok.client_id = c.id and ok.outcome in ${STREAK_BREAKERS}), '-infinity')) as streak,
                  c.name,
                  (select error_code from refresh_client_results r where r.client_id = c.id and r.outcome = 'failed'
                    order by started_at desc limit 1) as code,
                  (select error_message from refresh_client_results r where r.client_id = c.id and r.outcome = 'failed'
                    order by started_at desc limit 1) as message
             from clients c where c.id = ?`,
          [clientId],
        );
        const state = rows[0];
        if (!state) return undefined;
        const last = await trx('events')
          .where({ client_id: clientId })
          .whereIn('type', ['client.failing', 'client.recovered'])
          .orderBy('seq', 'desc')
          .first<{ type: string } | undefined>('type');
        const failing = last?.type === 'client.failing';
        if (state.streak >= failingAfter && !failing)
          return recordEvent(trx, {
            type: 'client.failing',
            clientId,
            clientName: state.name,
            facts: {
              consecutiveFailures: state.streak,
              metaError: state.code ? { code: state.code, message: state.message } : null,
              action:
                "See the client status page for each failure and Meta's code; a token or permission problem says what to do",
              command: `npm run cli -- clients show ${clientId}`,
            },
          });
        if (state.streak === 0 && failing)
          return recordEvent(trx, {
            type: 'client.recovered',
            clientId,
            clientName: state.name,
            facts: { action: 'None: the client was refreshed again' },
          });
        return undefined;
      });
      if (event) recorded.push(event);
    }
    return recorded;
  }

  /** Deletes the events older than `retentionMs`; how many. */
  async prune(retentionMs: number): Promise<number> {
    return this.db('events')
      .where('occurred_at', '<', new Date(Date.now() - retentionMs))
      .delete();
  }
}
