import type { Knex } from 'knex';
import type { Db } from '../db';
import { recordEvent } from './events';
import {
  CLIENT_REFUSAL_RECHECK_MS,
  clientsNeeded,
  DEFAULT_RETIRE_AFTER_CLIENTS,
  REFUSAL_WINDOW_MS,
  replacementOf,
  type Retirement,
} from '../domain/metric-retirement';
import { isMetricName, metricOf, type MetricName } from '../domain/vocabulary';

interface RetirementRow {
  metric: string;
  since: string;
  retired_at: Date;
  replaced_by: string | null;
  clients: number;
  error_code: string | null;
  error_message: string | null;
  restored_at: Date | null;
}

const toRetirement = (row: RetirementRow): Retirement => ({
  metric: row.metric as MetricName,
  since: row.since,
  retiredAt: row.retired_at.toISOString(),
  replacedBy: row.replaced_by && isMetricName(row.replaced_by) ? row.replaced_by : null,
  clients: row.clients,
  errorCode: row.error_code,
  errorMessage: row.error_message,
});

/** A refusal of one metric in one client's fetch, as the watch records it. */
export interface MetricRefusalInput {
  name: MetricName;
  code: string;
  message: string;
}

/** `metric_refusals` and `metric_retirements`: the fleet's watch on metrics Meta retires. */
export class MetricStore {
  constructor(
    private readonly db: Db,
    private readonly retireAfterClients = DEFAULT_RETIRE_AFTER_CLIENTS,
  ) {}

  /** The metrics retired for the fleet (not restored), by name; names the catalogue no longer has are left out. */
  async retired(): Promise<Map<MetricName, Retirement>> {
    const rows = await this.db<RetirementRow>('metric_retirements').whereNull('restored_at').orderBy('retired_at');
    return new Map(
      rows.filter((row) => isMetricName(row.metric)).map((row) => [row.metric as MetricName, toRetirement(row)]),
    );
  }

  /** The metrics Meta refused this client within CLIENT_REFUSAL_RECHECK_MS: not asked of it again before then. */
  async refusedFor(clientId: string): Promise<Set<MetricName>> {
    const rows = await this.db('metric_refusals')
      .where({ client_id: clientId })
      .andWhere('refused_at', '>', new Date(Date.now() - CLIENT_REFUSAL_RECHECK_MS))
      .select<{ metric: string }[]>('metric');
    return new Set(rows.map((row) => row.metric).filter(isMetricName));
  }

  /**
   * Records that Meta refused these metrics for the client on `day`, and retires each one refused
   * by enough distinct clients within REFUSAL_WINDOW_MS (`clientsNeeded`). Returns the metrics this
   * call retired. One transaction per metric, locked on its retirement row, so two workers that
   * see the same refusal retire it once.
   */
  async recordRefusals(clientId: string, day: string, refusals: readonly MetricRefusalInput[]): Promise<Retirement[]> {
    const retiredNow: Retirement[] = [];
    for (const refusal of refusals) {
      const retirement = await this.db.transaction(async (trx) => {
        await trx.raw(
          `insert into metric_refusals (client_id, metric, day, refused_at, error_code, error_message)
           select ?, ?, ?, now(), ?, ? where exists (select 1 from clients where id = ?)
           on conflict (client_id, metric) do update
              set day = excluded.day, refused_at = excluded.refused_at,
                  error_code = excluded.error_code, error_message = excluded.error_message`,
          [clientId, refusal.name, day, refusal.code, refusal.message.slice(0, 500), clientId],
        );
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`metric_retirements:${refusal.name}`]);
        const active = await trx('metric_retirements').where({ metric: refusal.name }).whereNull('restored_at').first();
        if (active) return undefined;
        const counted = await trx('metric_refusals')
          .where({ metric: refusal.name })
          .andWhere('refused_at', '>', new Date(Date.now() - REFUSAL_WINDOW_MS))
          .select<{ clients: string; since: string | null }[]>(
            trx.raw('count(*) as clients'),
            trx.raw('min(day) as since'),
          );
        const clients = Number(counted[0]?.clients ?? 0);
        const fleet = await this.clientsOnPlatform(trx, refusal.name);
        if (clients < clientsNeeded(this.retireAfterClients, fleet)) return undefined;
        const row: RetirementRow = {
          metric: refusal.name,
          since: counted[0]?.since ?? day,
          retired_at: new Date(),
          replaced_by: replacementOf(refusal.name),
          clients,
          error_code: refusal.code,
          error_message: refusal.message.slice(0, 500),
          restored_at: null,
        };
        await trx('metric_retirements').insert(row).onConflict('metric').merge();
        const retirement = toRetirement(row);
        await recordEvent(trx, {
          type: 'metric.retired',
          facts: {
            metric: retirement.metric,
            since: retirement.since,
            replacedBy: retirement.replacedBy,
            clients: retirement.clients,
            metaError: { code: retirement.errorCode, message: retirement.errorMessage },
            action: 'None needed: the metric is no longer asked; if Meta restores it, ask it again',
            command: `npm run cli -- metrics restore ${retirement.metric}`,
          },
        });
        return retirement;
      });
      if (retirement) retiredNow.push(retirement);
    }
    return retiredNow;
  }

  /**
   * An operator's re-enabling (Meta restored the metric): it is asked again from the next refresh;
   * the refusals that retired it are forgotten, so it takes new ones to retire it again.
   */
  async restore(name: MetricName): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const changed = await trx('metric_retirements')
        .where({ metric: name })
        .whereNull('restored_at')
        .update({ restored_at: trx.fn.now() });
      if (changed) await trx('metric_refusals').where({ metric: name }).delete();
      return changed > 0;
    });
  }

  /** Clients a metric's platform has: every client for the Page, those with Instagram linked for Instagram. */
  private async clientsOnPlatform(trx: Knex.Transaction, name: MetricName): Promise<number> {
    const query = trx('clients');
    if (metricOf(name).platform === 'instagram') query.whereNotNull('instagram_account_id');
    const row = await query.count<{ count: string }[]>('* as count').first();
    return Number(row?.count ?? 0);
  }
}
