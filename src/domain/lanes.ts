/**
 * Lanes (README: Scaling): a cycle starts its clients on `k` lanes at once, each lane keeping
 * REFRESH_SPACING between its starts, so a fleet larger than one interval's worth of spacings
 * is still refreshed every interval. Meta's budgets that bind a Page token are per Page and per
 * Instagram account (business-use-case limits), and each client is still called once per
 * cycle whatever the lanes; lanes change only the app-level rate, which `X-App-Usage` reports
 * and which removes lanes above 75 % before any spacing stretches. Pure: the workflow uses it.
 */

/** The share of REFRESH_INTERVAL a cycle's starts should fit in, leaving room for the last refreshes. */
export const LANE_FILL = 0.8;

/** REFRESH_MAX_LANES by default (README argues it). */
export const DEFAULT_MAX_LANES = 32;

/** Above this share of the app-level budget, lanes are removed before the spacing stretches. */
export const LANE_USAGE_THRESHOLD = 75;

export type LaneSetting = 'auto' | number;

/** How long starting `clients` on `lanes` lanes takes: each lane starts one client per spacing. */
export function startsTakeMs(clients: number, spacingMs: number, lanes: number): number {
  return Math.max(0, Math.ceil(clients / Math.max(1, lanes)) - 1) * spacingMs;
}

/**
 * The lanes of a cycle of `clients`: a fixed setting as given; `auto` the fewest whose starts
 * fit in LANE_FILL of the interval, at most `maxLanes`. `fits` is false when even that is not
 * enough, `needsMs` how long the starts will then take.
 */
export function lanesFor(input: {
  clients: number;
  spacingMs: number;
  intervalMs: number;
  setting: LaneSetting;
  maxLanes: number;
}): { lanes: number; needsMs: number; fits: boolean } {
  const { clients, spacingMs, intervalMs, maxLanes } = input;
  const budget = LANE_FILL * intervalMs;
  let lanes: number;
  if (input.setting !== 'auto') lanes = Math.max(1, Math.floor(input.setting));
  else if (spacingMs <= 0 || clients <= 1) lanes = 1;
  else {
    lanes = 1;
    while (lanes < maxLanes && startsTakeMs(clients, spacingMs, lanes) > budget) lanes += 1;
  }
  const needsMs = startsTakeMs(clients, spacingMs, lanes);
  return { lanes, needsMs, fits: needsMs <= budget };
}

/**
 * The lanes in use at an app usage: above LANE_USAGE_THRESHOLD lanes are removed in proportion
 * (80 % keeps 4/5 of them, 95 % 1/5); only with one lane left does the spacing stretch
 * (`stretch`), as a cycle of one lane always did.
 */
export function lanesAtUsage(lanes: number, appPercent: number | undefined): { lanes: number; stretch: boolean } {
  if (lanes <= 1 || appPercent === undefined || appPercent <= LANE_USAGE_THRESHOLD)
    return { lanes, stretch: lanes <= 1 };
  const kept = Math.floor((lanes * (100 - appPercent)) / (100 - LANE_USAGE_THRESHOLD));
  return kept >= 1 ? { lanes: kept, stretch: false } : { lanes: 1, stretch: true };
}

/** A span as people read it: `4 h 10 min`, `25 min`, `40 s`. */
export function formatSpan(ms: number): string {
  if (ms < 59_500) return `${Math.round(ms / 1_000)} s`;
  const minutes = Math.round(ms / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h ? `${h} h${m ? ` ${m} min` : ''}` : `${m} min`;
}

/** What the status says of a cycle that cannot fit: `this cycle needs 4 h 10 min of a 3 h interval`. */
export function overrunText(needsMs: number, intervalMs: number | null): string {
  return `this cycle needs ${formatSpan(needsMs)}${intervalMs ? ` of a ${formatSpan(intervalMs)} interval` : ''} even on REFRESH_MAX_LANES lanes`;
}
