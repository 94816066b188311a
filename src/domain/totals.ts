/**
 * A range's totals, by how each metric adds up over days (its kind, README: Range totals). A
 * total is never a guess: a flow with a day missing says so instead of summing what it has.
 */

import { metricOf, type MetricKind, type MetricName } from './vocabulary';

/** Why a total has no value: a unique count cannot be summed, a day lacks its number, or no day has one. */
export const TOTAL_REASONS = ['not_summable', 'incomplete', 'no_data'] as const;
export type TotalReason = (typeof TOTAL_REASONS)[number];

/**
 * One metric's total over a range. `flow`: the sum of its days (`days` counted). `stock`: the
 * last day's level (`day`). `unique`: `null`, `not_summable`. A flow missing a day is `null`,
 * `incomplete`, with the sum of the days it has (`partial`) and how many (`days`).
 */
export type MetricTotal =
  | { kind: MetricKind; value: number; days?: number; day?: string }
  | { kind: MetricKind; value: null; reason: TotalReason; partial?: number; days?: number };

/** The day's number of `name`, or null. */
type DayValues = { period: string } & Partial<Record<MetricName, number | null>>;

/**
 * The totals of `metrics` over `days` (sorted). `through`: the last day that can have numbers
 * (the client's today); days after it are not expected and do not make a flow incomplete.
 */
export function rangeTotals(
  days: readonly DayValues[],
  metrics: readonly MetricName[],
  through: string,
): Partial<Record<MetricName, MetricTotal>> {
  const totals: Partial<Record<MetricName, MetricTotal>> = {};
  const expected = days.filter((day) => day.period <= through);
  for (const name of metrics) {
    const kind = metricOf(name).kind;
    const known = expected.filter((day) => typeof day[name] === 'number');
    if (kind === 'unique') totals[name] = { kind, value: null, reason: 'not_summable' };
    else if (known.length === 0) totals[name] = { kind, value: null, reason: 'no_data' };
    else if (kind === 'stock') {
      const last = known[known.length - 1];
      totals[name] = { kind, value: last[name] as number, day: last.period };
    } else {
      const sum = known.reduce((total, day) => total + (day[name] as number), 0);
      totals[name] =
        known.length === expected.length
          ? { kind, value: sum, days: known.length }
          : { kind, value: null, reason: 'incomplete', partial: sum, days: known.length };
    }
  }
  return totals;
}

/** A CSV field: quoted when it holds a separator, a quote or a line break (RFC 4180). */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * A range as CSV for spreadsheets: a header row (`period`, then each metric by its API name), one
 * row per day, a missing number an empty cell (never 0). Lines end in CRLF, as RFC 4180 says.
 */
export function rangeCsv(days: readonly DayValues[], metrics: readonly MetricName[]): string {
  const lines = [['period', ...metrics].map(field).join(',')];
  for (const day of days)
    lines.push(
      [day.period, ...metrics.map((name) => (typeof day[name] === 'number' ? String(day[name]) : ''))].join(','),
    );
  return `${lines.join('\r\n')}\r\n`;
}
