/** The activities of a refresh cycle (refreshAllClients): its row, its progress and its pages of clients. */

import type { Db } from '../src/db';
import type { CycleProgressUpdate } from '../src/stores/refresh';
import type { CycleTrigger, RefreshTotals } from '../workflows/definitions';
import type { ActivityStores } from './stores';

/** How old a reported app usage may be and still stretch a cycle's spacing. */
const USAGE_FRESH_FOR_MS = 10 * 60_000;

/**
 * A page of clients for the cycle, with what its starts are paced by: Meta's app usage (the
 * spacing stretches above 75 %) and an app-level throttle's end (no start before it).
 */
export interface ClientsPage {
  clients: { id: string; tokenStatus: string; lastFetchedAt?: string }[];
  appPercent?: number;
  throttledUntil?: string;
}

export function cycleActivities(db: Db, { clients, refresh, appThrottle }: ActivityStores) {
  return {
    /** The database clock, as an ISO string. */
    async databaseTime(): Promise<string> {
      const { rows } = await db.raw<{ rows: { now: Date }[] }>('select now() as now');
      return rows[0].now.toISOString();
    },

    /** Records the start of a cycle (once per workflow id) and counts the clients it will visit. */
    async startCycle(input: {
      workflowId: string;
      trigger: CycleTrigger;
    }): Promise<{ cycleId: string; total: number }> {
      const total = await clients.countWithToken();
      const cycleId = await refresh.startCycle(input.workflowId, input.trigger, total);
      return { cycleId, total };
    },

    /** Closes a cycle with totals counted from its results; refreshes not reported yet count as pending. */
    async finishCycle(input: {
      cycleId: string;
      status: 'completed' | 'failed' | 'cancelled';
      error?: string;
      totals?: RefreshTotals;
    }): Promise<RefreshTotals> {
      return refresh.finishCycle(input.cycleId, input.status, { error: input.error });
    },

    /**
     * The parent's page, for the status read from Postgres: each client it started is `running`
     * until its refresh reports (which may have happened already: then its row stays), and what
     * the parent knows of its progress.
     */
    async recordCycleProgress(
      input: CycleProgressUpdate & {
        cycleId: string;
        trigger: CycleTrigger;
        startedClients: { clientId: string; workflowId: string; startedAt: string }[];
      },
    ): Promise<void> {
      await refresh.recordResults(
        input.startedClients.map((c) => ({
          cycleId: input.cycleId,
          clientId: c.clientId,
          workflowId: c.workflowId,
          trigger: input.trigger,
          outcome: 'running' as const,
          errorCode: null,
          errorMessage: null,
          attempts: 0,
          startedAt: new Date(c.startedAt),
          durationMs: null,
        })),
      );
      await refresh.recordCycleProgress(input.cycleId, input);
    },

    /** How many of a cycle's started refreshes have not reported yet. */
    async countCycleResults(input: { cycleId: string }): Promise<{ running: number }> {
      const { running } = await refresh.countResults(input.cycleId);
      return { running };
    },

    /** One page of clients with a Meta token, by id after `afterId`: ids, token status and last fetch (ISO). */
    async listClientsPage(input: { afterId: string | null; limit: number }): Promise<ClientsPage> {
      const [page, pacing] = await Promise.all([
        clients.pageWithToken(input.afterId, input.limit),
        appThrottle.pacing(USAGE_FRESH_FOR_MS),
      ]);
      return {
        clients: page.map(({ id, tokenStatus, lastFetchedAt }) =>
          lastFetchedAt ? { id, tokenStatus, lastFetchedAt: lastFetchedAt.toISOString() } : { id, tokenStatus },
        ),
        ...(pacing.appPercent !== undefined ? { appPercent: pacing.appPercent } : {}),
        ...(pacing.throttledUntil ? { throttledUntil: pacing.throttledUntil.toISOString() } : {}),
      };
    },
  };
}
