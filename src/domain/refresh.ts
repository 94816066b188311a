/**
 * The refresh vocabulary shared by the stores, the activities and the workflows' contract.
 * Plain types only: the workflow bundle imports them, and the stores need nothing of Temporal.
 */

export type { ClientOutcome, CycleStatus, CycleTrigger, RefreshTrigger } from './vocabulary';

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
