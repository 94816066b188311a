import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { Presets, SingleBar } from 'cli-progress';
import {
  ApiError,
  CycleFailure,
  DayResponse,
  isRefreshStatusReport,
  RefreshTotals,
  RunningCycle,
  SocialMediaCacheClient,
} from '../../client';
import { clientRefreshWorkflowId, RefreshClientResult } from '../../../workflows/definitions';
import { CommandSpec, PROGRAM, stringOption } from '../args';
import { CliContext, requireUuid } from '../context';
import { CliError, EXIT } from '../errors';
import { formatErrorCode, printable } from '../output';

/** How often a waiting `refresh` asks the cycle for its progress. */
const POLL_MS = 500;

function numbers(day: DayResponse): string {
  const n = (value: number | null) => (value === null ? '–' : value.toLocaleString('en-US'));
  const d = day.data;
  return `Facebook new followers ${n(d.facebookNewFollowers)}, Instagram followers ${n(d.instagramFollowers)}, reach ${n(d.instagramReach)}, profile views ${n(d.instagramProfileViews)}`;
}

function freshness(day: DayResponse): string {
  return day.source === 'cache' ? 'fresh' : day.source === 'stale-cache' ? 'stale' : 'empty';
}

async function refreshOneClient(ctx: CliContext, clientId: string, wait: boolean): Promise<number> {
  const api = ctx.api();
  const { data: client } = await api.getClient(clientId);
  const started = await api.forceRefresh(clientId).catch((err: unknown) => {
    if (err instanceof ApiError && err.code === 'token_invalid') {
      const why = client.tokenError ? ` (${client.tokenError})` : '';
      throw new CliError(
        `${printable(client.name)} has no valid Meta token${why}`,
        EXIT.failure,
        'token_invalid',
        `replace it: ${PROGRAM} clients update ${clientId} --token-stdin`,
      );
    }
    throw err;
  });
  const joined = started.refresh.status === 'in_progress';
  const what = joined
    ? `A refresh of ${printable(client.name)} was already running; the request joined it.`
    : `Started a refresh of ${printable(client.name)} (${clientId}).`;
  if (!wait) {
    ctx.out.result({ clientId, refresh: started.refresh }, [
      what,
      `Wait for it with: ${PROGRAM} refresh --client ${clientId} --wait`,
    ]);
    return EXIT.ok;
  }
  ctx.out.note(`${what} Waiting for it to finish…`);
  const temporal = await ctx.temporal();
  let result: RefreshClientResult;
  try {
    result = (await temporal.workflow.getHandle(clientRefreshWorkflowId(clientId)).result()) as RefreshClientResult;
  } catch (err) {
    if (err instanceof WorkflowFailedError)
      throw new CliError(
        `the refresh of ${printable(client.name)} did not finish: ${err.cause?.message ?? err.message}`,
        EXIT.failure,
        'refresh_failed',
      );
    throw err;
  }
  const today = result.outcome === 'refreshed' ? await api.getDay(clientId) : undefined;
  const took = `${(result.durationMs / 1000).toFixed(1)} s, ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}`;
  const lines =
    result.outcome === 'refreshed'
      ? [
          `Refreshed ${printable(client.name)} (${clientId}) in ${took}.`,
          ...(today ? [`Today (${today.period}) is ${freshness(today)}: ${numbers(today)}.`] : []),
        ]
      : result.outcome === 'skipped_token_invalid'
        ? [
            `Did not refresh ${printable(client.name)}: its Meta token is invalid.`,
            `Replace it: ${PROGRAM} clients update ${clientId} --token-stdin`,
          ]
        : [
            `The refresh of ${printable(client.name)} (${clientId}) failed after ${took}: ${formatErrorCode(result.errorCode)}${result.message ? ` — ${result.message}` : ''}.`,
          ];
  ctx.out.result(
    {
      clientId,
      refresh: started.refresh,
      result,
      ...(today
        ? { today: { period: today.period, freshness: freshness(today), source: today.source, data: today.data } }
        : {}),
    },
    lines,
  );
  return result.outcome === 'refreshed' ? EXIT.ok : EXIT.failure;
}

/** Shows a cycle's progress: a bar on a terminal, a line per change otherwise, nothing with --json. */
function progressView(ctx: CliContext, names: Map<string, string>) {
  const useBar = !ctx.out.json && !!ctx.io.stderr.isTTY;
  const bar = useBar
    ? new SingleBar(
        {
          format: 'Refreshing |{bar}| {value}/{total} clients · {failed} failed{lanes} {current}',
          stream: ctx.io.stderr as NodeJS.WritableStream,
          hideCursor: true,
          barsize: 30,
        },
        Presets.shades_classic,
      )
    : undefined;
  let started = false;
  let last = '';
  return {
    update(p: Pick<RunningCycle, 'total' | 'done' | 'failed' | 'currentClientId'> & { lanes?: number | null }) {
      const current = p.currentClientId ? `· ${printable(names.get(p.currentClientId) ?? p.currentClientId)}` : '';
      const lanes = p.lanes && p.lanes > 1 ? ` · ${p.lanes} lanes` : '';
      if (bar) {
        if (!started) bar.start(Math.max(p.total, 1), p.done, { failed: p.failed, current, lanes });
        started = true;
        bar.setTotal(Math.max(p.total, 1));
        bar.update(p.done, { failed: p.failed, current, lanes });
        return;
      }
      const line = `progress: ${p.done}/${p.total} clients done, ${p.failed} failed${lanes ? `, ${p.lanes} lanes` : ''}`;
      if (line !== last) ctx.out.line(line);
      last = line;
    },
    stop() {
      if (bar && started) bar.stop();
    },
  };
}

/**
 * The failures of a cycle that has ended, from the API's status: the API reuses its answer for
 * about a second, so the cycle may show as ended a moment after its workflow does.
 */
async function failuresOf(api: SocialMediaCacheClient, workflowId: string): Promise<CycleFailure[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { data } = await api.getRefreshStatus();
    if (!isRefreshStatusReport(data)) return [];
    if (data.lastCycle?.workflowId === workflowId) return data.lastCycle.failures;
    if (Date.now() > deadline) return [];
    await sleep(POLL_MS);
  }
}

async function waitForCycle(ctx: CliContext, workflowId: string): Promise<number> {
  const api = ctx.api();
  const temporal = await ctx.temporal();
  const handle = temporal.workflow.getHandle(workflowId);
  const names = new Map((await api.listClients().catch(() => ({ data: [] }))).data.map((c) => [c.id, c.name]));
  const view = progressView(ctx, names);

  const finished = new AbortController();
  const outcome = handle.result().then(
    (totals) => ({ totals: totals as RefreshTotals }),
    (error: unknown) => ({ error }),
  );
  void outcome.finally(() => finished.abort());
  try {
    while (!finished.signal.aborted) {
      try {
        // From the API, which reads Postgres: a busy worker never holds the bar.
        const { data } = await api.getRefreshStatus();
        if (isRefreshStatusReport(data) && data.running?.workflowId === workflowId) view.update(data.running);
      } catch {
        // The API did not answer this time: ask again.
      }
      await sleep(POLL_MS, undefined, { signal: finished.signal }).catch(() => undefined);
    }
    const end = await outcome;
    if ('error' in end) {
      const err = end.error;
      const reason =
        err instanceof WorkflowFailedError
          ? (err.cause?.message ?? err.message)
          : err instanceof Error
            ? err.message
            : String(err);
      throw new CliError(`the cycle ${workflowId} did not finish: ${reason}`, EXIT.failure, 'cycle_failed');
    }
    view.update({ ...end.totals, done: end.totals.total, currentClientId: null });
    view.stop();
    const { totals } = end;
    const failures = await failuresOf(api, workflowId);
    ctx.out.result({ workflowId, totals, failures }, [
      `Cycle ${workflowId} finished: ${totals.total} client${totals.total === 1 ? '' : 's'}, ${totals.refreshed} refreshed, ${totals.failed} failed, ` +
        `${totals.skippedTokenInvalid} skipped (invalid token), ${totals.skippedFresh ?? 0} skipped (fresh), ${totals.alreadyRunning} already running.`,
      ...failures.map(
        (f) =>
          `  failed: ${f.clientName ?? f.clientId} (${f.clientId}): ${formatErrorCode(f.errorCode)}${f.errorMessage ? ` — ${f.errorMessage}` : ''} (${f.attempts} attempt${f.attempts === 1 ? '' : 's'})`,
      ),
    ]);
    return totals.failed > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    view.stop();
  }
}

async function refreshCycle(ctx: CliContext, wait: boolean): Promise<number> {
  let workflowId: string;
  let alreadyRunning = false;
  try {
    ({ workflowId } = (await ctx.api().startCycle()).data);
  } catch (err) {
    const running =
      err instanceof ApiError && err.code === 'cycle_running'
        ? (err.details as { workflowId?: string } | undefined)?.workflowId
        : undefined;
    if (!wait || !running) throw err;
    workflowId = running;
    alreadyRunning = true;
  }
  if (!wait) {
    ctx.out.result({ workflowId, status: 'started' }, [
      `Started refresh cycle ${workflowId}.`,
      `Follow it with: ${PROGRAM} status`,
    ]);
    return EXIT.ok;
  }
  ctx.out.note(
    alreadyRunning
      ? `A cycle was already running (${workflowId}); following it.`
      : `Started refresh cycle ${workflowId}; waiting for it to finish.`,
  );
  return waitForCycle(ctx, workflowId);
}

export const refreshCommand: CommandSpec = {
  words: ['refresh'],
  synopsis: '[--client ID] [--wait]',
  summary: 'Refresh one client now, or start a full refresh cycle',
  details: [
    'With --client, asks the API to refresh that client now (refused inside REFRESH_COOLDOWN); --wait waits for the ' +
      'refresh to finish and prints its outcome (exit 1 when it failed).',
    'Without --client, starts a cycle of every client; --wait shows its progress (a bar on a terminal) and its summary ' +
      '(exit 1 when a client failed). Waiting needs Temporal: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE.',
  ],
  options: {
    client: { type: 'string', value: 'ID', description: 'the client to refresh (a UUID); all clients when left out' },
    wait: { type: 'boolean', description: 'wait until the refresh is done and print its outcome' },
  },
  async run(ctx, { values }) {
    const client = stringOption(values, 'client');
    const wait = values.wait === true;
    if (client !== undefined) return refreshOneClient(ctx, requireUuid(client, '--client'), wait);
    return refreshCycle(ctx, wait);
  },
};
