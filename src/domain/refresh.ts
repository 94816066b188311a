/**
 * The refresh vocabulary shared by the stores, the activities and the workflows' contract.
 * Plain types only: the workflow bundle imports them, and the stores need nothing of Temporal.
 */

export type RefreshTrigger = 'schedule' | 'manual' | 'on_demand';

/** `skipped_fresh`: a cycle passed the client over, its numbers fetched within REFRESH_SKIP_IF_FRESHER. */
export type ClientOutcome = 'refreshed' | 'failed' | 'skipped_token_invalid' | 'skipped_fresh' | 'already_running';

export interface RefreshTotals {
  total: number;
  refreshed: number;
  failed: number;
  skippedTokenInvalid: number;
  skippedFresh: number;
  alreadyRunning: number;
}

