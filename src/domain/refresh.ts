/**
 * The refresh vocabulary shared by the stores, the activities and the workflows' contract.
 * Plain types only: the workflow bundle imports them, and the stores need nothing of Temporal.
 */

export type RefreshTrigger = 'schedule' | 'manual' | 'on_demand';

/**
 * `skipped_fresh`: a cycle passed the client over, its numbers fetched within
 * REFRESH_SKIP_IF_FRESHER. `running`: the cycle started the client's refresh, which has not
 * reported yet. `pending`: the refresh waits on Meta (a throttle's estimate) past its cycle's
 * end. Both are replaced by the outcome when the refresh ends.
 */
export type ClientOutcome = 'refreshed' | 'failed' | 'skipped_token_invalid' | 'skipped_fresh' | 'already_running' | 'running' | 'pending';

/** How a cycle ended; `running` until it does (or until reconciliation finds its workflow gone). */
export type CycleStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out';

export interface RefreshTotals {
  total: number;
  refreshed: number;
  failed: number;
  skippedTokenInvalid: number;
  skippedFresh: number;
  alreadyRunning: number;
  /** Clients still waiting on Meta when the cycle ended; their outcomes land later. */
  pending: number;
}

