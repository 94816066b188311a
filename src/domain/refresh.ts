/**
 * The refresh vocabulary shared by the stores, the activities and the workflows' contract.
 * Plain types only: the workflow bundle imports them, and the stores need nothing of Temporal.
 */

export type RefreshTrigger = 'schedule' | 'manual' | 'on_demand';

export type ClientOutcome = 'refreshed' | 'failed' | 'skipped_token_invalid' | 'already_running';

export interface RefreshTotals {
  total: number;
  refreshed: number;
  failed: number;
  skippedTokenInvalid: number;
  alreadyRunning: number;
}
