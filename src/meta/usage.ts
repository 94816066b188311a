import type { MetaUsage } from './types';

/** Usage before any header was seen. */
export function emptyUsage(): MetaUsage {
  return { business: {}, maxPercent: 0 };
}

interface HeaderSource {
  get(name: string): string | null;
}

/**
 * Reads `X-App-Usage`, `X-Business-Use-Case-Usage` and `X-Page-Usage` (JSON strings of percentages). Meta
 * leaves them out until enough calls were made; an absent or unreadable header adds nothing.
 */
export function parseUsageHeaders(headers: HeaderSource): MetaUsage {
  const app = readJson(headers.get('x-app-usage'));
  const appPercent = isRecord(app) ? largestPercent(app) : undefined;

  const business: MetaUsage['business'] = {};
  const buc = readJson(headers.get('x-business-use-case-usage'));
  if (isRecord(buc)) {
    for (const [objectId, value] of Object.entries(buc)) {
      const entries = (Array.isArray(value) ? value : [value]).filter(isRecord);
      let best: MetaUsage['business'][string] | undefined;
      for (const entry of entries) {
        const percent = largestPercent(entry) ?? 0;
        const estimate = finite(entry.estimated_time_to_regain_access) ?? 0;
        const type = typeof entry.type === 'string' ? entry.type : 'unknown';
        if (!best || percent > best.percent) {
          best = {
            type,
            percent,
            estimatedTimeToRegainAccessMinutes: Math.max(estimate, best?.estimatedTimeToRegainAccessMinutes ?? 0),
          };
        } else {
          best.estimatedTimeToRegainAccessMinutes = Math.max(best.estimatedTimeToRegainAccessMinutes, estimate);
        }
      }
      if (best) business[objectId] = best;
    }
  }
  const pageHeader = readJson(headers.get('x-page-usage'));
  const page = isRecord(pageHeader)
    ? {
        percent: largestPercent(pageHeader) ?? 0,
        estimatedTimeToRegainAccessMinutes: finite(pageHeader.estimated_time_to_regain_access) ?? 0,
      }
    : undefined;
  return withMax({ appPercent, business, page, maxPercent: 0 });
}

/** Folds a later response's usage into what was known: newer numbers replace older ones. */
export function mergeUsage(known: MetaUsage, later: MetaUsage): MetaUsage {
  return withMax({
    appPercent: later.appPercent ?? known.appPercent,
    business: { ...known.business, ...later.business },
    page: later.page ?? known.page,
    maxPercent: 0,
  });
}

/** Meta's longest `estimated_time_to_regain_access` in milliseconds, when it gave one above 0. */
export function retryAfterMsFromUsage(usage: MetaUsage | undefined): number | undefined {
  if (!usage) return undefined;
  const minutes = Math.max(
    0,
    ...Object.values(usage.business).map((entry) => entry.estimatedTimeToRegainAccessMinutes),
    usage.page?.estimatedTimeToRegainAccessMinutes ?? 0,
  );
  return minutes > 0 ? minutes * 60_000 : undefined;
}

function withMax(usage: MetaUsage): MetaUsage {
  const percents = [
    usage.appPercent ?? 0,
    usage.page?.percent ?? 0,
    ...Object.values(usage.business).map((entry) => entry.percent),
  ];
  const result: MetaUsage = { business: usage.business, maxPercent: Math.max(0, ...percents) };
  if (usage.appPercent !== undefined) result.appPercent = usage.appPercent;
  if (usage.page !== undefined) result.page = usage.page;
  return result;
}

function largestPercent(entry: Record<string, unknown>): number | undefined {
  const values = [entry.call_count, entry.total_time, entry.total_cputime].map(finite).filter((n) => n !== undefined);
  return values.length > 0 ? Math.max(...values) : undefined;
}

function finite(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function readJson(text: string | null): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
