/**
 * How a platform's metrics become Graph requests: as few as Meta accepts (one per insights
 * `metric_type` and `breakdown`, whatever the number of metrics), split only when Meta refuses a
 * metric, so a retired name costs its own number and never the others'.
 */

import { metricOf, type MetricName } from '../domain/vocabulary';
import { MetaBadRequestError } from './errors';
import { isMetricRefusal } from './refusals';

/**
 * Metrics asked in one insights request: the same `metric_type`, and the `breakdown` one of them
 * needs (the others answer their total beside it, as connectors ask `reach,views,
 * follows_and_unfollows` with `breakdown=follow_type` in one request). `separateBreakdowns`: a
 * breakdown gets a request of its own, for when Meta refused the mix.
 */
export interface InsightsGroup {
  params: { metric_type?: string; breakdown?: string };
  /** Graph metric names, each once (two catalogue metrics may read two dimensions of one). */
  graphMetrics: string[];
}

/** A catalogue metric's Graph name, or undefined for a field of the object itself. */
export function graphMetricOf(name: MetricName): string | undefined {
  const graph = metricOf(name).graph;
  return graph.edge === 'insights' ? graph.metric : undefined;
}

/** The insights requests `names` need, in catalogue order; fields are not among them. */
export function insightsGroups(names: readonly MetricName[], separateBreakdowns = false): InsightsGroup[] {
  const groups = new Map<string, InsightsGroup>();
  // Per metric_type, the first breakdown asked shares the request of the metrics without one.
  const shared = new Map<string, string>();
  for (const name of names) {
    const graph = metricOf(name).graph;
    if (graph.edge !== 'insights' || !('breakdown' in graph) || separateBreakdowns) continue;
    const metricType = 'metricType' in graph ? (graph.metricType ?? '') : '';
    if (!shared.has(metricType)) shared.set(metricType, graph.breakdown);
  }
  for (const name of names) {
    const graph = metricOf(name).graph;
    if (graph.edge !== 'insights') continue;
    const metricType = 'metricType' in graph ? graph.metricType : undefined;
    const own = 'breakdown' in graph ? graph.breakdown : undefined;
    const common = shared.get(metricType ?? '');
    const breakdown = own ?? common;
    const key = `${metricType ?? ''}|${breakdown ?? ''}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        params: { ...(metricType ? { metric_type: metricType } : {}), ...(breakdown ? { breakdown } : {}) },
        graphMetrics: [],
      };
      groups.set(key, group);
    }
    if (!group.graphMetrics.includes(graph.metric)) group.graphMetrics.push(graph.metric);
  }
  return [...groups.values()];
}

/** The catalogue metrics read from Graph metric `metric` among `names`. */
export function namesOf(metric: string, names: readonly MetricName[]): MetricName[] {
  return names.filter((name) => graphMetricOf(name) === metric);
}

/**
 * Meta refused a request for a breakdown it asked beside metrics that have none (not a metric's
 * refusal: no metric is retired for it); the request is asked again in parts.
 */
export function isBreakdownRefusal(err: unknown): err is MetaBadRequestError {
  return err instanceof MetaBadRequestError && err.code === 100 && /breakdown/i.test(err.message);
}

/** A metric Meta refused as invalid, with what Meta said. */
export interface RefusedGraphMetric {
  metric: string;
  error: MetaBadRequestError;
}

/**
 * Asks `metrics` in one request; when Meta refuses the request for a metric, finds which: the one
 * Meta names (`metric[i]` of the request), else by halves, and asks the others without it. Errors
 * not about a metric are thrown as they come.
 */
export async function askSplitting<T>(
  metrics: readonly string[],
  ask: (metrics: string[]) => Promise<T>,
): Promise<{ answers: { metrics: string[]; body: T }[]; refused: RefusedGraphMetric[] }> {
  const answers: { metrics: string[]; body: T }[] = [];
  const refused: RefusedGraphMetric[] = [];
  const queue: string[][] = metrics.length ? [[...metrics]] : [];
  while (queue.length) {
    const batch = queue.shift()!;
    try {
      answers.push({ metrics: batch, body: await ask(batch) });
    } catch (err) {
      if (!isMetricRefusal(err, batch)) throw err;
      if (batch.length === 1) {
        refused.push({ metric: batch[0], error: err });
        continue;
      }
      const named = namedMetric(err.message, batch);
      if (named !== undefined) {
        refused.push({ metric: named, error: err });
        queue.unshift(batch.filter((metric) => metric !== named));
        continue;
      }
      const half = Math.ceil(batch.length / 2);
      queue.unshift(batch.slice(0, half), batch.slice(half));
    }
  }
  return { answers, refused };
}

/**
 * The metric Meta's refusal names: Instagram's "metric[i] must be one of the following values: …"
 * points at the request's i-th metric; a message naming exactly one of them names it. Meta's Page
 * answer ("must be a valid insights metric") names none.
 */
function namedMetric(message: string, batch: readonly string[]): string | undefined {
  const index = /metric\[(\d+)\]/.exec(message);
  if (index && Number(index[1]) < batch.length) return batch[Number(index[1])];
  const words = message.replace(/^.*?: /, '');
  const named = batch.filter((metric) => new RegExp(`(^|[^a-z_])${metric}([^a-z_]|$)`, 'i').test(words));
  return named.length === 1 && !/following values/i.test(message) ? named[0] : undefined;
}
