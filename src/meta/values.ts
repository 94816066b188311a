/** A metric's value as the client returns it: Meta's number, or null with the reason. */
import type { MetricValue } from './types';

/** A missing number with its reason. */
export const unavailable = (reason: Extract<MetricValue, { value: null }>['reason']): MetricValue => ({
  value: null,
  reason,
});

/** Meta's number, or the reason it is missing: an empty answer for a day beyond Meta's history is that, not a lack of data. */
export function toMetric(value: unknown, missing: 'no_data' | 'beyond_meta_history' = 'no_data'): MetricValue {
  return typeof value === 'number' && Number.isFinite(value) ? { value } : unavailable(missing);
}
