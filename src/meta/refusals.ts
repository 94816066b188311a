/**
 * What a refused insights call means for the numbers, read from Meta's code, subcode and — only
 * where Meta gives nothing else — its message: a permission (one platform's, not the token's), an
 * object that is gone, a metric Meta does not offer, one day Meta will not answer, or a window too
 * large. Each decides how much a refusal costs: the platform, the object, one metric, one day.
 */

import { MetaBadRequestError, MetaPermissionError } from './errors';

/** Meta's "Object does not exist, cannot be loaded…" (100/33): deleted, unpublished, or not readable with this token. */
export function isObjectGone(err: unknown): err is MetaBadRequestError {
  return err instanceof MetaBadRequestError && err.code === 100 && err.subcode === 33;
}

/**
 * A permission is missing: codes 10 and 200–299, or a code 100 without a subcode whose message
 * names a permission (Meta words the same cause both ways: "(#100) … This endpoint requires the
 * 'pages_read_engagement' permission").
 */
export function isPermissionRefusal(err: unknown): boolean {
  if (err instanceof MetaPermissionError) return true;
  return (
    err instanceof MetaBadRequestError &&
    err.code === 100 &&
    err.subcode === undefined &&
    /requires the '[^']+' permission|missing permission or reviewable feature/i.test(err.message)
  );
}

/**
 * Meta refuses a metric itself: only when its message says so — "must be a valid insights metric",
 * "metric[0] must be one of the following values", or a message naming one of the metrics asked.
 * Any other code 100 is about something else (a range, a day, a permission) and must not mark a
 * metric unsupported for every later day.
 */
export function isMetricRefusal(err: unknown, metrics: readonly string[]): err is MetaBadRequestError {
  if (!(err instanceof MetaBadRequestError) || err.code !== 100 || err.subcode !== undefined) return false;
  if (isPermissionRefusal(err)) return false;
  const text = err.message;
  // A breakdown asked beside metrics without one: the mix is refused, not a metric.
  if (/breakdown/i.test(text)) return false;
  if (/valid insights metric/i.test(text) || /metric(\[\d+\])? must be one of the following values/i.test(text))
    return true;
  return metrics.some((metric) => new RegExp(`(^|[^a-z_])${metric}([^a-z_]|$)`, 'i').test(text.replace(/^.*?: /, '')));
}

/**
 * Meta refuses this request for what it asks (its days), not for who asks: a code 100 with a
 * subcode other than 33 (e.g. 2108006, "posted before business account conversion"), or any other
 * bad request Meta answered with a code that is not about a metric, a permission or the object.
 * It costs the days of that request, which are not asked again.
 */
export function isDayRefusal(err: unknown, metrics: readonly string[]): err is MetaBadRequestError {
  return (
    err instanceof MetaBadRequestError &&
    err.code !== undefined &&
    !isObjectGone(err) &&
    !isPermissionRefusal(err) &&
    !isMetricRefusal(err, metrics)
  );
}

export { isReduceDataError } from './classify';
