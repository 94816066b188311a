import { overrunText } from '../../domain/lanes';
import {
  ApiClient,
  ApiError,
  DayResponse,
  isRefreshStatusReport,
  RefreshStatusReport,
  RefreshStatusSummary,
} from '../../client';
import { CommandSpec } from '../args';
import type { CliContext } from '../context';
import { clip, formatAge, formatErrorCode, formatTime, table } from '../output';

type Freshness = 'fresh' | 'stale' | 'empty';

interface ClientToday {
  id: string;
  name: string;
  tokenStatus: ApiClient['tokenStatus'];
  tokenError: string | null;
  period: string | null;
  freshness: Freshness | null;
  cacheAge: number | null;
  lastUpdated: string | null;
  refresh: DayResponse['refresh']['status'] | null;
  /** Set when today's numbers could not be read. */
  error?: string;
}

const FRESHNESS: Record<DayResponse['source'], Freshness> = { cache: 'fresh', 'stale-cache': 'stale', empty: 'empty' };

/** Runs `fn` over `items`, at most `limit` at a time, keeping their order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Today's freshness of every client, read through the read API as a dashboard would. */
async function clientsToday(ctx: CliContext): Promise<{ clients: ClientToday[] | null; note?: string }> {
  let list: ApiClient[];
  try {
    list = (await ctx.api().listClients()).data;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'forbidden')
      return { clients: null, note: 'per-client freshness needs an admin key (the client list is admin only)' };
    throw err;
  }
  const clients = await mapLimit(list, 8, async (client): Promise<ClientToday> => {
    const base = { id: client.id, name: client.name, tokenStatus: client.tokenStatus, tokenError: client.tokenError };
    try {
      const day = await ctx.api().getDay(client.id);
      return {
        ...base,
        period: day.period,
        freshness: FRESHNESS[day.source],
        cacheAge: day.data.cacheAge,
        lastUpdated: day.data.lastUpdated,
        refresh: day.refresh.status,
      };
    } catch (err) {
      if (err instanceof ApiError && err.status === 0) throw err;
      return {
        ...base,
        period: null,
        freshness: null,
        cacheAge: null,
        lastUpdated: null,
        refresh: null,
        error: err instanceof Error ? err.message : String(err),
      };
    }
  });
  return { clients };
}

function refreshLines(status: RefreshStatusReport | RefreshStatusSummary): string[] {
  const report = isRefreshStatusReport(status) ? status : undefined;
  const lines: string[] = [];
  const last = status.lastCycle;
  if (last) {
    const took = last.finishedAt ? `, took ${formatAge(Date.parse(last.finishedAt) - Date.parse(last.startedAt))}` : '';
    lines.push(`  Last cycle   ${last.status} (${last.trigger}), started ${formatTime(last.startedAt)}${took}`);
    lines.push(
      `               ${last.total} clients: ${last.refreshed} refreshed, ${last.failed} failed, ` +
        `${last.skippedTokenInvalid} skipped (invalid token), ${last.skippedFresh ?? 0} skipped (fresh), ${last.alreadyRunning} already running`,
    );
    if (report?.lastCycle) {
      for (const f of report.lastCycle.failures) {
        lines.push(
          `  Failed       ${f.clientName ?? f.clientId}: ${formatErrorCode(f.errorCode)}${f.errorMessage ? ` — ${f.errorMessage}` : ''} (${f.attempts} attempt${f.attempts === 1 ? '' : 's'})`,
        );
      }
    } else if (last.failed > 0) {
      lines.push('  Failed       which clients and why: an admin key shows them');
    }
  } else {
    lines.push('  Last cycle   none yet');
  }
  const running = status.running;
  if (status.temporal === 'unavailable') {
    lines.push('  Running      unknown: the API cannot reach Temporal');
  } else if (running) {
    lines.push(
      `  Running      ${running.done}/${running.total} clients done, ${running.failed} failed${report?.running?.lanes && report.running.lanes > 1 ? `, ${report.running.lanes} lanes` : ''}${report?.running ? ` (${report.running.workflowId})` : ''}`,
    );
    if (report?.running?.fitsInterval === false && report.running.needsMs !== null)
      lines.push(
        `  Too large    ${overrunText(report.running.needsMs, report.running.intervalMs ?? report.schedule?.intervalMs ?? null)}: raise REFRESH_MAX_LANES, lower REFRESH_SPACING or lengthen REFRESH_INTERVAL`,
      );
  } else {
    lines.push('  Running      no cycle');
  }
  const schedule = report?.schedule;
  const next = status.nextRunAt ? formatTime(status.nextRunAt) : status.temporal === 'unavailable' ? 'unknown' : 'none';
  const scheduleNote = !report
    ? ''
    : !schedule
      ? status.temporal === 'ok'
        ? ' (no schedule yet: a worker creates it when it starts)'
        : ''
      : schedule.paused
        ? ' (schedule paused)'
        : '';
  lines.push(`  Next run     ${schedule?.paused ? 'none' : next}${scheduleNote}`);
  return lines;
}

function clientLines(clients: ClientToday[], failures: Map<string, string>): string[] {
  if (!clients.length) return ['  No clients yet.'];
  const rows = clients.map((c) => [
    c.name,
    c.id,
    c.period ?? '-',
    c.freshness ?? 'unknown',
    c.cacheAge === null ? '-' : formatAge(c.cacheAge),
    c.tokenStatus === 'invalid' ? 'invalid' : c.tokenStatus,
    clip(c.error ?? (c.tokenStatus === 'invalid' ? (c.tokenError ?? '') : (failures.get(c.id) ?? ''))),
  ]);
  return table(['CLIENT', 'ID', 'DAY', 'TODAY', 'AGE', 'TOKEN', 'PROBLEM'], rows).map((line) => `  ${line}`);
}

export const statusCommand: CommandSpec = {
  words: ['status'],
  summary: "The refresh status (last cycle, failures, running cycle, next run) and each client's freshness today",
  details: [
    "Freshness is read through the read API as the dashboard reads it: a stale or empty day starts that client's refresh " +
      '(within REFRESH_COOLDOWN). The refresh status needs a read key; the per-client table needs an admin key.',
  ],
  async run(ctx) {
    const [status, today] = await Promise.all([ctx.api().getRefreshStatus(), clientsToday(ctx)]);
    const failures = new Map(
      (isRefreshStatusReport(status.data) ? (status.data.lastCycle?.failures ?? []) : []).map((f) => [
        f.clientId,
        `last cycle: ${formatErrorCode(f.errorCode)}${f.errorMessage ? ` — ${f.errorMessage}` : ''}`,
      ]),
    );
    ctx.out.result(
      { refresh: status.data, clients: today.clients, ...(today.note ? { note: today.note } : {}) },
      () => [
        'Refresh',
        ...refreshLines(status.data),
        ...(status.data.temporal === 'unavailable'
          ? ['  Temporal     unavailable (reads still answer from Postgres)']
          : []),
        '',
        "Clients (today in each client's timezone)",
        ...(today.clients ? clientLines(today.clients, failures) : [`  ${today.note}`]),
      ],
    );
  },
};
