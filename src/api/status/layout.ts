import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CacheData } from '../../stores/cache';
import type { StatusClient } from '../../stores/status';
import { formatNumber } from './charts';
import { FRESHNESS_TEXT, MetricKey, REASONS } from './copy';
import { html, raw, SafeHtml } from './html';

/** The page frame and the pieces both status pages show: times, numbers, a client's state. */

/**
 * The style sheet, read once at boot and inlined: the pages' CSP allows inline styles only, so
 * there is no stylesheet request to allow.
 */
const STYLE = raw(readFileSync(path.join(__dirname, 'status.css'), 'utf8'));

// No <meta http-equiv="refresh">: a page that reloads itself moves keyboard focus and wipes the
// search box under the operator (WCAG 2.2.1); each page has a reload link instead.
export function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`.toString();
}

export const DEMO_NOTE = html`<p class="demo"><strong>Demo mode:</strong> the numbers come from the built-in Graph API sandbox, not from Meta.</p>`;

/** The Temporal Web UI's list of one client's runs, filtered by the ClientId search attribute. */
export function temporalRunsUrl(uiUrl: string, namespace: string, clientId: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(`ClientId="${clientId}"`)}`;
}

export const clientUrl = (id: string): string => `/status/clients/${encodeURIComponent(id)}`;

export const exactTime = (d: Date): string => `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;

/** "12 min ago" (or "in 5 min"), with the exact time on hover and in `datetime`. */
export function timeAgo(at: Date | string | null | undefined, now: number): SafeHtml {
  if (!at) return html`<span class="muted">never</span>`;
  const date = typeof at === 'string' ? new Date(at) : at;
  const ms = now - date.getTime();
  const future = ms < -30_000;
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  let text: string;
  if (minutes < 1) text = future ? 'in under a minute' : 'just now';
  else {
    const span =
      minutes < 60
        ? `${minutes} min`
        : minutes < 48 * 60
          ? `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`
          : `${Math.floor(minutes / 1440)} days`;
    text = future ? `in ${span}` : `${span} ago`;
  }
  return html`<time datetime="${date.toISOString()}" title="${exactTime(date)}">${text}</time>`;
}

/** A number, or `–` with the reason Meta gave none: never a made-up 0. */
export function metricValue(data: CacheData | null, key: MetricKey): SafeHtml {
  const value = data?.[key];
  if (typeof value === 'number') return html`<span class="num">${formatNumber(value)}</span>`;
  const reason = data && key in data ? (data.unavailable?.[key] ?? 'no_data') : 'not_fetched';
  return html`<span class="num none">–</span> <small class="reason">${REASONS[reason] ?? reason.replace(/_/g, ' ')}</small>`;
}

export function freshnessCell(c: StatusClient, now: number): SafeHtml {
  return html`<span class="badge ${c.freshness}">${FRESHNESS_TEXT[c.freshness]}</span><br><small>${c.today}${c.todayUpdatedAt ? html` · ${timeAgo(c.todayUpdatedAt, now)}` : ''}</small>`;
}

export function outcomeCell(c: StatusClient, now: number): SafeHtml {
  const r = c.lastResult;
  if (!r) return html`<span class="muted">never refreshed</span>`;
  return html`<span class="outcome ${r.outcome}">${r.outcome.replace(/_/g, ' ')}</span>${
    r.errorCode ? html` <code title="${r.errorMessage}">Meta ${r.errorCode}</code>` : ''
  }${c.failingStreak >= 2 ? html` <strong class="streak">${c.failingStreak}× in a row</strong>` : ''}<br><small>${timeAgo(r.at, now)}</small>`;
}

export function tokenCell(c: StatusClient): SafeHtml {
  const token = c.hasToken ? c.tokenStatus : 'none';
  const instagram = c.instagramAccountId ? c.instagramStatus : 'none';
  return html`<span class="token ${token}">token: ${token}</span><br><small class="facebook ${c.facebookStatus}">Page: ${c.facebookStatus.replace(/_/g, ' ')}</small><br><small class="instagram ${instagram}">Instagram: ${instagram.replace(/_/g, ' ')}</small>`;
}
