/**
 * Which metrics a deployment keeps: the seed's four always, and the optional ones METRICS names
 * (README: Metrics). Plain data and rules, shared by the config, the worker and the API.
 */

import { CORE_METRICS, isMetricName, METRICS, type MetricName, REPORT_METRICS } from './vocabulary';

/** Words METRICS takes besides metric names: every metric, the agency report set (the default), the seed's four. */
export const METRIC_SETS = {
  all: METRICS.map((metric) => metric.name) as MetricName[],
  report: REPORT_METRICS as MetricName[],
  core: CORE_METRICS as MetricName[],
} as const;

export const DEFAULT_METRICS_SETTING = 'report';

/**
 * The metrics METRICS switches on, in catalogue order, the seed's four always among them; or the
 * problem with the setting (an unknown name, listed with the names it may take).
 */
export function parseMetricsSetting(text: string): { metrics: MetricName[] } | { problem: string } {
  const wanted = new Set<MetricName>(CORE_METRICS);
  const words = text
    .split(',')
    .map((word) => word.trim())
    .filter(Boolean);
  const unknown: string[] = [];
  for (const word of words.length ? words : [DEFAULT_METRICS_SETTING]) {
    if (word in METRIC_SETS) for (const name of METRIC_SETS[word as keyof typeof METRIC_SETS]) wanted.add(name);
    else if (isMetricName(word)) wanted.add(word);
    else unknown.push(word);
  }
  if (unknown.length)
    return {
      problem: `unknown metric${unknown.length > 1 ? 's' : ''} ${unknown.map((w) => JSON.stringify(w)).join(', ')}; expected a comma-separated list of ${Object.keys(METRIC_SETS).join(', ')} or metric names (${METRICS.map((m) => m.name).join(', ')})`,
    };
  return { metrics: METRICS.map((metric) => metric.name).filter((name) => wanted.has(name)) };
}
