/**
 * The fleet's watch on Meta retiring metrics (README: Retired metrics). Meta retires metrics for
 * every version at once, and one retired name fails the whole request: the first clients refused
 * tell the fleet, which stops asking it. One client's refusal is that client's quirk.
 */

import { metricOf, type MetricName } from './vocabulary';

/** Distinct clients refused a metric as invalid within REFUSAL_WINDOW_MS before it is retired for the fleet. */
export const DEFAULT_RETIRE_AFTER_CLIENTS = 3;

/** Refusals older than this no longer count toward a retirement. */
export const REFUSAL_WINDOW_MS = 7 * 86_400_000;

/** A metric Meta refused for one client is not asked of that client again for this long. */
export const CLIENT_REFUSAL_RECHECK_MS = 86_400_000;

/**
 * How many distinct clients must have been refused: the setting, or every client on the platform
 * when the fleet is smaller, but never one alone (that is a client's quirk, not Meta's change).
 */
export function clientsNeeded(threshold: number, clientsOnPlatform: number): number {
  return Math.max(2, Math.min(threshold, clientsOnPlatform));
}

/** A metric retired for the fleet: from which day its numbers are gone, and what Meta named instead. */
export interface Retirement {
  metric: MetricName;
  /** The first day Meta refused it (in the refused client's timezone), `YYYY-MM-DD`. */
  since: string;
  retiredAt: string;
  replacedBy: MetricName | null;
  clients: number;
  errorCode: string | null;
  errorMessage: string | null;
}

/** Meta's documented successor of `name` in the catalogue, if any. */
export function replacementOf(name: MetricName): MetricName | null {
  const entry = metricOf(name) as { replacedBy?: MetricName };
  return entry.replacedBy ?? null;
}

/**
 * The metrics a refresh keeps (written, shown): METRICS's choice and the successors of the retired
 * ones among them. `ask`: those it requests of Meta — without the retired ones, and without those
 * Meta refused this client lately.
 */
export function metricPlan(
  enabled: readonly MetricName[],
  retired: ReadonlyMap<MetricName, Retirement>,
  refusedForClient: ReadonlySet<MetricName> = new Set(),
): { keep: MetricName[]; ask: MetricName[] } {
  const keep = [...enabled];
  for (const name of enabled) {
    const next = retired.get(name)?.replacedBy;
    if (next && !keep.includes(next)) keep.push(next);
  }
  return { keep, ask: keep.filter((name) => !retired.has(name) && !refusedForClient.has(name)) };
}
