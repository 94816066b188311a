import type { CacheData } from '../../stores/cache';
import type { AppUsage, ClientDetail, ClientSort, CycleBar, FleetSummary, ProblemKind, RefreshResultRow, StatusClient } from '../../stores/status';
import { cycleChart, escapeHtml as e, formatDuration, formatNumber, lineChart, SeriesDay, sparkline, usageGauge } from './charts';

/** The operator's status pages: server-rendered HTML and inline SVG, no script, no external asset. */

/** The Temporal Web UI's list of one client's runs, filtered by the ClientId search attribute. */
export function temporalRunsUrl(uiUrl: string, namespace: string, clientId: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(`ClientId="${clientId}"`)}`;
}

export const METRICS = [
  { key: 'facebookNewFollowers', label: 'Facebook new followers', short: 'FB new followers' },
  { key: 'instagramFollowers', label: 'Instagram followers', short: 'IG followers' },
  { key: 'instagramReach', label: 'Instagram reach', short: 'IG reach' },
  { key: 'instagramProfileViews', label: 'Instagram profile views', short: 'IG profile views' },
] as const;

export type MetricKey = (typeof METRICS)[number]['key'];

/** Why a number is missing, in words. */
const REASONS: Record<string, string> = {
  metric_unsupported: 'Meta does not offer it',
  instagram_not_linked: 'no Instagram linked',
  instagram_permission_missing: 'Instagram permission missing',
  throttled: 'Meta throttled; retried',
  fetch_failed: 'the fetch failed',
  no_data: 'Meta gave no data',
  no_snapshot: 'no snapshot that day',
  beyond_meta_history: 'older than Meta keeps',
  not_fetched: 'not fetched yet',
};

const PROBLEM_TITLES: Record<ProblemKind, string> = {
  token_invalid: 'Token invalid',
  no_token: 'No token',
  failing: 'Failing',
  instagram_permission_missing: 'Instagram permission missing',
  instagram_not_linked: 'Instagram not linked',
  empty_today: 'No numbers today',
};

const CLI = 'npm run cli --';

/** What to do about a problem, citing the CLI command that does it. */
function action(kind: ProblemKind, c: StatusClient, onClientPage = false): string {
  switch (kind) {
    case 'token_invalid':
      return `Meta refused the token${c.tokenError ? ` (${e(c.tokenError)})` : ''}. Ask the client to reconnect the Page, then store the new token: <code>${CLI} clients update ${e(c.id)} --token-stdin</code>`;
    case 'no_token':
      return `No Meta token is stored, so it is never refreshed. Store one: <code>${CLI} clients update ${e(c.id)} --token-stdin</code>`;
    case 'failing':
      return `The last ${c.failingStreak} refreshes failed${c.lastResult?.errorCode ? ` (Meta ${e(c.lastResult.errorCode)})` : ''}. ${
        onClientPage ? 'See Meta’s error codes and the runs in Temporal below' : 'Open the client’s page for Meta’s error codes and its runs in Temporal'
      }; refresh it once the cause is fixed.`;
    case 'instagram_permission_missing':
      return `Grant the token <code>instagram_basic</code> and <code>instagram_manage_insights</code>, then replace it: <code>${CLI} clients update ${e(c.id)} --token-stdin</code>`;
    case 'instagram_not_linked':
      return `Link an Instagram business account to the Page in Meta, or stop asking for it: <code>${CLI} clients update ${e(c.id)} --no-instagram</code>`;
    case 'empty_today':
      return `No numbers for ${e(c.today)} yet. Refresh it${onClientPage ? '' : ' from the client’s page'}, or wait for the next cycle.`;
  }
}

const exactTime = (d: Date) => `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;

/** "12 min ago" (or "in 5 min"), with the exact time on hover and in `datetime`. */
export function timeAgo(at: Date | string | null | undefined, now: number): string {
  if (!at) return '<span class="muted">never</span>';
  const date = typeof at === 'string' ? new Date(at) : at;
  const ms = now - date.getTime();
  const future = ms < -30_000;
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  let text: string;
  if (minutes < 1) text = future ? 'in under a minute' : 'just now';
  else {
    const span =
      minutes < 60 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}` : `${Math.floor(minutes / 1440)} days`;
    text = future ? `in ${span}` : `${span} ago`;
  }
  return `<time datetime="${date.toISOString()}" title="${exactTime(date)}">${text}</time>`;
}

/** A number, or `–` with the reason Meta gave none: never a made-up 0. */
function metricValue(data: CacheData | null, key: MetricKey): string {
  const value = data?.[key];
  if (typeof value === 'number') return `<span class="num">${formatNumber(value)}</span>`;
  const reason = data ? (data.unavailable?.[key] ?? 'no_data') : 'not_fetched';
  return `<span class="num none">–</span> <small class="reason">${e(REASONS[reason] ?? reason.replace(/_/g, ' '))}</small>`;
}

const FRESHNESS_TEXT = { fresh: 'fresh', stale: 'stale', empty: 'empty' } as const;

function freshnessCell(c: StatusClient, now: number): string {
  return `<span class="badge ${c.freshness}">${FRESHNESS_TEXT[c.freshness]}</span><br><small>${e(c.today)}${c.todayUpdatedAt ? ` · ${timeAgo(c.todayUpdatedAt, now)}` : ''}</small>`;
}

function outcomeCell(c: StatusClient, now: number): string {
  const r = c.lastResult;
  if (!r) return '<span class="muted">never refreshed</span>';
  return `<span class="outcome ${e(r.outcome)}">${e(r.outcome.replace(/_/g, ' '))}</span>${
    r.errorCode ? ` <code title="${e(r.errorMessage)}">Meta ${e(r.errorCode)}</code>` : ''
  }${c.failingStreak >= 2 ? ` <strong class="streak">${c.failingStreak}× in a row</strong>` : ''}<br><small>${timeAgo(r.at, now)}</small>`;
}

function tokenCell(c: StatusClient): string {
  const token = c.hasToken ? c.tokenStatus : 'none';
  const instagram = c.instagramAccountId ? c.instagramStatus : 'none';
  return `<span class="token ${e(token)}">token: ${e(token)}</span><br><small class="instagram ${e(instagram)}">Instagram: ${e(instagram.replace(/_/g, ' '))}</small>`;
}

const PAGE_STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem 2rem; color: #1f2328; max-width: 1500px; }
h1 { margin: 0 0 .25rem; font-size: 1.5rem; } h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; } h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
a { color: #0550ae; } a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, circle:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; } caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; } thead th { background: #f6f8fa; font-size: .85rem; }
th[scope=row] { font-weight: 600; }
.badge { display: inline-block; padding: 0 .55rem; border-radius: 1rem; font-weight: 600; border: 1px solid transparent; }
.badge.fresh { background: #dafbe1; color: #116329; } .badge.stale { background: #fff8c5; color: #6c4400; border-color: #d4a72c; } .badge.empty { background: #ffebe9; color: #a40e26; border-style: dashed; border-color: #a40e26; }
.outcome.refreshed { color: #116329; } .outcome.failed { color: #a40e26; font-weight: 600; } .token.invalid, .token.none { color: #a40e26; font-weight: 600; }
.streak { color: #a40e26; }
.muted, .reason { color: #59636e; } .num { font-variant-numeric: tabular-nums; font-weight: 600; } .num.none { color: #59636e; }
.demo { background: #ddf4ff; border: 1px solid #54aeff; padding: .5rem 1rem; border-radius: .4rem; }
.summary { display: flex; gap: 1.5rem; flex-wrap: wrap; margin: .5rem 0; padding: 0; list-style: none; } .summary li strong { font-size: 1.2rem; }
.problems tbody tr { background: #fff8f8; } .problem-kind { font-weight: 600; color: #a40e26; }
.cycles { display: flex; gap: 2rem; flex-wrap: wrap; align-items: flex-start; }
progress { width: 18rem; height: 1rem; vertical-align: middle; }
svg text { font: 10px system-ui, sans-serif; fill: #424a53; }
svg.spark path, svg.chart path { fill: none; stroke: #0969da; stroke-width: 1.5; } svg.spark circle { fill: #0969da; } svg.chart circle { fill: #0969da; stroke: #fff; stroke-width: 1; }
svg.spark .none { stroke: #d0d7de; stroke-dasharray: 2 3; } svg .axis { stroke: #8c959f; }
#cycle-chart .refreshed { fill: #2da44e; } #cycle-chart .failed { fill: url(#hatch); stroke: #a40e26; } #cycle-chart .skipped { fill: #d0d7de; }
.gauge .track { fill: #eaeef2; } .gauge .fill.ok { fill: #2da44e; } .gauge .fill.warn { fill: #bf8700; } .gauge .fill.high { fill: #cf222e; } .gauge .stretch { stroke: #1f2328; stroke-width: 2; stroke-dasharray: 3 2; }
form.search { display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; margin: .5rem 0; } form.search label { display: block; font-size: .85rem; }
input, select, button { font: inherit; padding: .3rem .5rem; } button { cursor: pointer; border: 1px solid #1f883d; background: #1f883d; color: #fff; border-radius: .35rem; font-weight: 600; }
nav.pages ul { list-style: none; display: flex; gap: .25rem; padding: 0; flex-wrap: wrap; } nav.pages a, nav.pages span { display: inline-block; padding: .2rem .55rem; border: 1px solid #d0d7de; border-radius: .3rem; }
nav.pages [aria-current] { background: #0969da; color: #fff; border-color: #0969da; font-weight: 600; }
.message { padding: .6rem 1rem; border-radius: .4rem; font-weight: 600; } .message.ok { background: #dafbe1; color: #116329; } .message.wait { background: #fff8c5; color: #6c4400; } .message.error { background: #ffebe9; color: #a40e26; }
figure { margin: 0; } figcaption h3 { margin: 0 0 .25rem; } .top { display: flex; gap: 1rem 3rem; flex-wrap: wrap; } .top section h2 { margin-top: 1rem; } #cooldown { max-width: 22rem; }
.metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1rem 2rem; }
.today { display: flex; gap: 2rem; flex-wrap: wrap; margin: 0; } .today div { min-width: 10rem; } .today dt { font-size: .85rem; color: #59636e; } .today dd { margin: 0; font-size: 1.2rem; }
details summary { cursor: pointer; color: #0550ae; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .25rem .5rem; }
`;

// No <meta http-equiv="refresh">: a page that reloads itself moves keyboard focus and wipes the
// search box under the operator (WCAG 2.2.1); each page has a reload link instead.
function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

export interface OverviewQuery {
  q: string;
  sort: ClientSort;
  page: number;
  problems: boolean;
}

export interface OverviewModel {
  now: number;
  demo: boolean;
  temporalUiUrl: string;
  namespace: string;
  temporal: 'ok' | 'unavailable';
  nextRunAt: string | null;
  schedulePaused: boolean | null;
  summary: FleetSummary;
  problems: { total: number; clients: StatusClient[] };
  list: { total: number; clients: StatusClient[] };
  /** Per listed client, per metric, the last 30 days oldest first (null: no number that day). */
  series: Map<string, Record<MetricKey, SeriesDay[]>>;
  query: OverviewQuery;
  pageSize: number;
  cycles: CycleBar[];
  usage: AppUsage;
}

export const SORTS: Record<ClientSort, string> = { name: 'name', freshness: 'least fresh first', recent: 'most recently updated first' };

/** The overview's URL for a query (defaults left out, so links stay short). */
export function overviewUrl(query: OverviewQuery, changes: Partial<OverviewQuery> = {}): string {
  const q = { ...query, ...changes };
  const params = new URLSearchParams();
  if (q.q) params.set('q', q.q);
  if (q.sort !== 'name') params.set('sort', q.sort);
  if (q.problems) params.set('problems', '1');
  if (q.page > 1) params.set('page', String(q.page));
  const text = params.toString();
  return `/status${text ? `?${text}` : ''}`;
}

const clientUrl = (id: string) => `/status/clients/${encodeURIComponent(id)}`;

function problemsSection(m: OverviewModel): string {
  const { total, clients } = m.problems;
  if (!total) return `<section id="problems" aria-labelledby="problems-title"><h2 id="problems-title">Needs action</h2><p>No client needs action.</p></section>`;
  const counts = (Object.entries(m.summary.byProblem) as [ProblemKind, number][])
    .filter(([, n]) => n)
    .map(([kind, n]) => `${PROBLEM_TITLES[kind].toLowerCase()}: ${n}`)
    .join(' · ');
  const rows = clients
    .map((c) => {
      const [first, ...others] = c.problems;
      return `<tr data-client-id="${e(c.id)}" data-problem="${first}">
<th scope="row"><a href="${clientUrl(c.id)}">${e(c.name)}</a><br><small class="muted">${e(c.id)}</small></th>
<td><span class="problem-kind">${PROBLEM_TITLES[first]}</span>${others.length ? `<br><small>also: ${others.map((k) => PROBLEM_TITLES[k].toLowerCase()).join(', ')}</small>` : ''}</td>
<td>${others.length ? `<ul>${c.problems.map((kind) => `<li>${action(kind, c)}</li>`).join('')}</ul>` : action(first, c)}</td>
<td>${outcomeCell(c, m.now)}</td>
<td>${freshnessCell(c, m.now)}</td>
</tr>`;
    })
    .join('\n');
  const more =
    total > clients.length
      ? `<p>${clients.length} of ${total} shown, most urgent first. <a href="${overviewUrl({ q: '', sort: 'name', page: 1, problems: true })}">Page through all ${total} clients needing action</a>.</p>`
      : '';
  return `<section id="problems" aria-labelledby="problems-title">
<h2 id="problems-title">Needs action (${total})</h2>
<p class="muted">${counts}</p>
<table class="problems">
<caption>Clients needing action, most urgent first, with what to do</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Problem</th><th scope="col">What to do</th><th scope="col">Last refresh</th><th scope="col">Today</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${more}
</section>`;
}

function cyclesSection(m: OverviewModel): string {
  const running = m.cycles.find((c) => c.status === 'running');
  const last = m.cycles.find((c) => c.status !== 'running');
  const runningHtml = running
    ? `<div id="running"><h3>Refresh cycle running</h3>
<p><progress max="${running.total}" value="${running.done}" aria-label="Clients done in the running cycle">${running.done} / ${running.total}</progress>
<strong>${running.done} / ${running.total}</strong> clients done, ${running.failed} failed${running.pending ? `, ${running.pending} waiting on Meta` : ''}${
        running.currentClientId ? `, now <code>${e(running.currentClientId)}</code>` : ''
      }</p><p><small>${e(running.workflowId)} · started ${timeAgo(running.startedAt, m.now)}${
        running.spacingMs !== null ? ` · spacing ${formatDuration(running.spacingMs)}` : ''
      }</small></p></div>`
    : '<div id="running"><h3>No refresh cycle running</h3></div>';
  const lastHtml = last
    ? `<p>Last cycle: <strong>${e(last.status)}</strong>, ${last.refreshed} refreshed, ${last.failed} failed, ${last.skipped} skipped of ${last.total}; started ${timeAgo(
        last.startedAt,
        m.now,
      )}, took ${formatDuration(last.finishedAt ? last.finishedAt.getTime() - last.startedAt.getTime() : null)}.</p>`
    : '<p>No cycle has run yet.</p>';
  const chronological = [...m.cycles].reverse();
  const chart = cycleChart(
    chronological.map((c) => ({
      label: `${exactTime(c.startedAt)} ${c.trigger}`,
      refreshed: c.refreshed,
      failed: c.failed,
      skipped: c.skipped,
      durationMs: c.finishedAt ? c.finishedAt.getTime() - c.startedAt.getTime() : m.now - c.startedAt.getTime(),
      running: c.status === 'running',
    })),
  );
  const table = `<details><summary>The last ${m.cycles.length} cycles as a table</summary>
<table id="cycle-table"><caption>Last ${m.cycles.length} refresh cycles, newest first</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Refreshed</th><th scope="col">Failed</th><th scope="col">Skipped</th><th scope="col">Spacing used</th></tr></thead>
<tbody>${m.cycles
    .map(
      (c) =>
        `<tr><td>${timeAgo(c.startedAt, m.now)}</td><td>${e(c.trigger)}</td><td>${e(c.status)}</td><td>${formatDuration(
          c.finishedAt ? c.finishedAt.getTime() - c.startedAt.getTime() : null,
        )}</td><td>${c.refreshed}</td><td>${c.failed}</td><td>${c.skipped}</td><td>${c.spacingMs === null ? '–' : formatDuration(c.spacingMs)}</td></tr>`,
    )
    .join('')}</tbody></table></details>`;
  const usage = m.usage;
  const usageHtml = `<div id="usage"><h3>Meta app usage</h3>${usageGauge(usage.appPercent)}
<p>${usage.appPercent === null ? 'Not reported yet.' : `<strong>${Math.round(usage.appPercent)} %</strong> of the app’s budget, reported ${timeAgo(usage.reportedAt, m.now)}.`}${
    usage.throttledUntil ? ` <strong>Meta throttles the app</strong> until ${timeAgo(usage.throttledUntil, m.now)}${usage.throttleReason ? ` (${e(usage.throttleReason)})` : ''}.` : ''
  }</p></div>`;
  return `<section id="cycles" aria-labelledby="cycles-title">
<h2 id="cycles-title">Refresh cycles</h2>
<p>Next cycle: <strong>${m.nextRunAt ? timeAgo(m.nextRunAt, m.now) : '—'}</strong>${m.schedulePaused ? ' <strong>(schedule paused)</strong>' : ''} · Temporal: ${e(m.temporal)} · <a href="${e(
    m.temporalUiUrl,
  )}">Temporal Web UI</a></p>
${lastHtml}
<div class="cycles">
<div>${chart}${table}</div>
<div>${runningHtml}${usageHtml}</div>
</div>
</section>`;
}

function pagination(m: OverviewModel): string {
  const pages = Math.max(1, Math.ceil(m.list.total / m.pageSize));
  const current = m.query.page;
  if (pages <= 1) return '';
  const wanted = new Set([1, pages, current - 2, current - 1, current, current + 1, current + 2].filter((n) => n >= 1 && n <= pages));
  const items: string[] = [];
  let previous = 0;
  if (current > 1) items.push(`<li><a href="${e(overviewUrl(m.query, { page: current - 1 }))}" rel="prev">Previous</a></li>`);
  for (const n of [...wanted].sort((a, b) => a - b)) {
    if (n > previous + 1) items.push('<li><span aria-hidden="true">…</span></li>');
    items.push(
      n === current
        ? `<li><a href="${e(overviewUrl(m.query, { page: n }))}" aria-current="page" aria-label="Page ${n}, current">${n}</a></li>`
        : `<li><a href="${e(overviewUrl(m.query, { page: n }))}" aria-label="Page ${n}">${n}</a></li>`,
    );
    previous = n;
  }
  if (current < pages) items.push(`<li><a href="${e(overviewUrl(m.query, { page: current + 1 }))}" rel="next">Next</a></li>`);
  return `<nav class="pages" aria-label="Pages of clients"><ul>${items.join('')}</ul></nav>`;
}

function clientsSection(m: OverviewModel): string {
  const { query } = m;
  const first = (query.page - 1) * m.pageSize + 1;
  const last = Math.min(m.list.total, query.page * m.pageSize);
  const rows = m.list.clients
    .map((c) => {
      const series = m.series.get(c.id);
      const metrics = METRICS.map(
        (metric) => `<td class="metric" data-metric="${metric.key}">${metricValue(c.todayData, metric.key)}<br>${series ? sparkline(`${metric.label} of ${c.name}`, series[metric.key]) : ''}</td>`,
      ).join('');
      return `<tr data-client-id="${e(c.id)}" data-freshness="${c.freshness}"${c.problems.length ? ` data-problems="${c.problems.join(' ')}"` : ''}>
<th scope="row"><a href="${clientUrl(c.id)}">${e(c.name)}</a><br><small class="muted">${e(c.id)}</small>${
        c.problems.length ? `<br><small class="problem-kind">needs action: ${PROBLEM_TITLES[c.problems[0]].toLowerCase()}</small>` : ''
      }</th>
<td>${freshnessCell(c, m.now)}</td>${metrics}
<td>${outcomeCell(c, m.now)}</td>
<td>${tokenCell(c)}<br><a href="${e(temporalRunsUrl(m.temporalUiUrl, m.namespace, c.id))}">runs in Temporal<span class="skip"> for ${e(c.name)}</span></a></td>
</tr>`;
    })
    .join('\n');
  const sortOptions = (Object.entries(SORTS) as [ClientSort, string][])
    .map(([value, text]) => `<option value="${value}"${value === query.sort ? ' selected' : ''}>${text}</option>`)
    .join('');
  const heading = query.problems ? 'Clients needing action' : query.q ? `Clients matching “${e(query.q)}”` : 'Clients';
  const range = m.list.total ? `${first}–${last} of ${m.list.total}` : 'none';
  return `<section id="clients" aria-labelledby="clients-title">
<h2 id="clients-title">${heading} (${m.list.total})</h2>
<form class="search" method="get" action="/status" role="search" aria-label="Clients">
<div><label for="q">Name or id</label><input id="q" name="q" type="search" value="${e(query.q)}" maxlength="200"></div>
<div><label for="sort">Sort by</label><select id="sort" name="sort">${sortOptions}</select></div>
${query.problems ? '<input type="hidden" name="problems" value="1">' : ''}
<div><button type="submit">Show</button></div>
${query.q || query.problems || query.sort !== 'name' ? `<div><a href="/status">Clear</a></div>` : ''}
</form>
<p id="range">${range}${query.sort !== 'name' ? `, ${SORTS[query.sort]}` : ''}. <a href="${e(overviewUrl(query, { sort: 'freshness', page: 1 }))}">Least fresh first</a> · <a href="${e(
    overviewUrl(query, { sort: 'name', page: 1 }),
  )}">By name</a></p>
<table id="client-table">
<caption>Clients: today’s numbers with their last 30 days, freshness, last refresh and token (page ${query.page})</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Today</th>${METRICS.map((metric) => `<th scope="col">${metric.label}</th>`).join('')}<th scope="col">Last refresh</th><th scope="col">Token and Instagram</th></tr></thead>
<tbody>
${rows || `<tr><td colspan="${METRICS.length + 4}">No client on this page. <a href="${e(overviewUrl(query, { page: 1 }))}">First page</a></td></tr>`}
</tbody>
</table>
${pagination(m)}
</section>`;
}

export function renderOverview(m: OverviewModel): string {
  const s = m.summary;
  const body = `<a class="skip" href="#clients">Skip to the client list</a>
<header>
<h1>social-media-cache</h1>
${m.demo ? '<p class="demo"><strong>Demo mode:</strong> the numbers come from the built-in Graph API sandbox, not from Meta.</p>' : ''}
<ul class="summary" aria-label="Fleet today">
<li><strong>${formatNumber(s.total)}</strong> clients</li>
<li><strong>${formatNumber(s.fresh)}</strong> fresh</li>
<li><strong>${formatNumber(s.stale)}</strong> stale</li>
<li><strong>${formatNumber(s.empty)}</strong> empty today</li>
<li><strong>${formatNumber(s.problems)}</strong> need action</li>
</ul>
</header>
<main>
${problemsSection(m)}
${clientsSection(m)}
${cyclesSection(m)}
</main>
<footer><p><small class="muted">Generated ${exactTime(new Date(m.now))}. <a href="${e(overviewUrl(m.query))}">Reload</a>. Times are UTC on hover.</small></p></footer>`;
  return layout('social-media-cache status', body);
}

export type RefreshMessage =
  | { status: 'started' | 'in_progress' }
  | { status: 'cooldown'; retryAfterSeconds: number }
  | { status: 'token_invalid' | 'unavailable' };

export interface ClientPageModel {
  now: number;
  demo: boolean;
  temporalUiUrl: string;
  namespace: string;
  client: ClientDetail;
  /** Per metric, the last 90 days oldest first. */
  series: Record<MetricKey, SeriesDay[]>;
  results: RefreshResultRow[];
  cooldownMs: number;
  csrfToken: string;
  message?: RefreshMessage;
}

function messageHtml(message: RefreshMessage | undefined): string {
  if (!message) return '';
  switch (message.status) {
    case 'started':
      return '<p class="message ok" role="status" id="refresh-message">Refresh started. The numbers update here when Meta has answered.</p>';
    case 'in_progress':
      return '<p class="message ok" role="status" id="refresh-message">Refresh started: one was already running and takes this request along.</p>';
    case 'cooldown':
      return `<p class="message wait" role="status" id="refresh-message">Refreshed recently, try again in ${message.retryAfterSeconds} s.</p>`;
    case 'token_invalid':
      return '<p class="message error" role="alert" id="refresh-message">Not refreshed: the client has no valid Meta token. Store a new one first.</p>';
    case 'unavailable':
      return '<p class="message error" role="alert" id="refresh-message">Not refreshed: Temporal is not reachable; try again shortly.</p>';
  }
}

function workflowUrl(m: ClientPageModel, r: RefreshResultRow): string {
  const base = `${m.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(m.namespace)}/workflows`;
  return r.temporalRunId ? `${base}/${encodeURIComponent(r.workflowId)}/${encodeURIComponent(r.temporalRunId)}/history` : `${base}?query=${encodeURIComponent(`WorkflowId="${r.workflowId}"`)}`;
}

export function renderClientPage(m: ClientPageModel): string {
  const c = m.client;
  const cooldownSeconds = Math.ceil(c.cooldownLeftMs / 1000);
  const cooldown =
    cooldownSeconds > 0
      ? `Next refresh possible in ${cooldownSeconds} s (one on-demand refresh per ${formatDuration(m.cooldownMs)}).`
      : `A refresh can be asked now (one on-demand refresh per ${formatDuration(m.cooldownMs)}).`;
  const problems = c.problems.length
    ? `<section aria-labelledby="problems-title"><h2 id="problems-title">Needs action</h2><ul>${c.problems
        .map((kind) => `<li><strong class="problem-kind">${PROBLEM_TITLES[kind]}</strong>: ${action(kind, c, true)}</li>`)
        .join('')}</ul></section>`
    : '';
  const today = METRICS.map((metric) => `<div><dt>${metric.label}</dt><dd data-metric="${metric.key}">${metricValue(c.todayData, metric.key)}</dd></div>`).join('');
  const charts = METRICS.map(
    (metric) => `<figure><figcaption><h3>${metric.label}</h3></figcaption>${lineChart(`chart-${metric.key}`, `${metric.label}, last 90 days`, m.series[metric.key])}</figure>`,
  ).join('');
  const results = m.results
    .map(
      (r) => `<tr data-outcome="${e(r.outcome)}"><td>${timeAgo(r.startedAt, m.now)}</td><td>${e(r.trigger.replace(/_/g, ' '))}</td><td><span class="outcome ${e(r.outcome)}">${e(
        r.outcome.replace(/_/g, ' '),
      )}</span></td><td>${r.errorCode ? `<code>Meta ${e(r.errorCode)}</code>` : '–'}</td><td>${r.errorMessage ? e(r.errorMessage) : ''}</td><td>${r.attempts}</td><td>${formatDuration(
        r.durationMs,
      )}</td><td><a href="${e(workflowUrl(m, r))}">run in Temporal<span class="skip"> started ${e(exactTime(r.startedAt))}</span></a></td></tr>`,
    )
    .join('');
  const body = `<nav aria-label="Breadcrumb"><a href="/status">← All clients</a></nav>
<header>
<h1>${e(c.name)}</h1>
<p class="muted"><code>${e(c.id)}</code> · Page ${e(c.facebookPageId)} · ${e(c.timezone)}</p>
${m.demo ? '<p class="demo"><strong>Demo mode:</strong> the numbers come from the built-in Graph API sandbox, not from Meta.</p>' : ''}
</header>
<main>
${messageHtml(m.message)}
${problems}
<div class="top">
<section id="today" aria-labelledby="today-title">
<h2 id="today-title">Today (${e(c.today)})</h2>
<p><span class="badge ${c.freshness}">${c.freshness}</span> ${c.todayUpdatedAt ? `updated ${timeAgo(c.todayUpdatedAt, m.now)}` : 'no numbers for today yet'}</p>
<dl class="today">${today}</dl>
</section>
<section id="refresh" aria-labelledby="refresh-title">
<h2 id="refresh-title">Refresh</h2>
<form method="post" action="${clientUrl(c.id)}/refresh">
<input type="hidden" name="csrf" value="${e(m.csrfToken)}">
<button type="submit" id="refresh-now">Refresh now</button>
</form>
<p id="cooldown">${cooldown}</p>
</section>
<section id="state" aria-labelledby="state-title">
<h2 id="state-title">Token and Instagram</h2>
<p>${tokenCell(c)}${c.tokenError ? `<br><small>${e(c.tokenError)}</small>` : ''}</p>
<p><a href="${e(temporalRunsUrl(m.temporalUiUrl, m.namespace, c.id))}">All of this client’s runs in the Temporal Web UI</a></p>
</section>
</div>
<section id="charts" aria-labelledby="charts-title">
<h2 id="charts-title">Last 90 days</h2>
<p class="muted">A break in a line is a day without numbers. Each point shows its day and value on hover or focus (Tab).</p>
<div class="metrics">${charts}</div>
</section>
<section id="results" aria-labelledby="results-title">
<h2 id="results-title">Last ${m.results.length} refreshes</h2>
<table id="result-table"><caption>Refreshes of ${e(c.name)}, newest first, with Meta’s error codes</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Outcome</th><th scope="col">Meta error</th><th scope="col">Message</th><th scope="col">Attempts</th><th scope="col">Took</th><th scope="col">Run</th></tr></thead>
<tbody>${results || `<tr><td colspan="8">No refresh yet.</td></tr>`}</tbody></table>
</section>
</main>
<footer><p><small class="muted">Generated ${exactTime(new Date(m.now))}. <a href="${clientUrl(c.id)}">Reload</a>. Times are UTC on hover.</small></p></footer>`;
  return layout(`${c.name} · social-media-cache status`, body);
}
