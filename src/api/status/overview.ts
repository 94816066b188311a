import type { AppUsage, ClientSort, CycleBar, FleetSummary, ProblemKind, StatusClient } from '../../stores/status';
import { cycleChart, formatDuration, formatNumber, SeriesDay, sparkline, usageGauge } from './charts';
import type { Retirement } from '../../domain/metric-retirement';
import { redactUrl, type WebhookEndpoint } from '../../stores/alerts';
import type { ServiceEvent } from '../../stores/events';
import { metricOf, type MetricName } from '../../domain/vocabulary';
import { action, CLI, METRICS, MetricKey, PROBLEM_TITLES, SORTS } from './copy';
import { html, SafeHtml } from './html';
import { formatSpan, overrunText } from '../../domain/lanes';
import {
  clientUrl,
  DEMO_NOTE,
  exactTime,
  freshnessCell,
  layout,
  metricValue,
  outcomeCell,
  temporalRunsUrl,
  timeAgo,
  tokenCell,
} from './layout';

/** The fleet's page, `/status`: what needs action, the clients with today's numbers, the cycles. */

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
  /** Metrics Meta retired for the fleet (not restored). */
  retired: Retirement[];
  /** The latest events, newest first. */
  events: ServiceEvent[];
  /** Webhook endpoints failing or disabled for failing. */
  failingEndpoints: WebhookEndpoint[];
}

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

/** Metrics Meta retired for the whole fleet: since when, what replaced them, and how to ask one again. */
function retiredSection(m: OverviewModel): SafeHtml | '' {
  if (!m.retired.length) return '';
  const rows = m.retired.map(
    (r) => html`<tr data-metric="${r.metric}">
<th scope="row">${metricOf(r.metric).label}<br><small class="muted"><code>${r.metric}</code> (Graph <code>${graphName(r.metric)}</code>)</small></th>
<td>${r.since}<br><small class="muted">found ${timeAgo(r.retiredAt, m.now)}, ${r.clients} clients refused</small></td>
<td>${r.replacedBy ? html`<code>${r.replacedBy}</code> (${metricOf(r.replacedBy).label}), switched on` : 'none documented by Meta'}</td>
<td>${r.errorMessage ? html`<small>Meta ${r.errorCode ?? ''}: ${r.errorMessage}</small>` : '–'}</td>
<td>If Meta restored it: <code>${CLI} metrics restore ${r.metric}</code></td>
</tr>`,
  );
  return html`<section id="retired-metrics" aria-labelledby="retired-title">
<h2 id="retired-title">Metrics Meta retired (${m.retired.length})</h2>
<p class="muted">No longer asked of Meta for any client; their days read <code>metric_retired</code> from the day shown on.</p>
<table class="retired">
<thead><tr><th scope="col">Metric</th><th scope="col">Since</th><th scope="col">Replacement</th><th scope="col">Meta's answer</th><th scope="col">What to do</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

/** Webhook endpoints whose deliveries fail (or that were disabled for it): what the receiver said, and how to enable one again. */
function endpointsSection(m: OverviewModel): SafeHtml | '' {
  if (!m.failingEndpoints.length) return '';
  const rows = m.failingEndpoints.map(
    (e) => html`<tr data-endpoint-id="${e.id}">
<th scope="row"><code>${redactUrl(e.url)}</code><br><small class="muted">${e.format}, ${e.events.join(', ')}</small></th>
<td>${e.enabled ? html`failing since ${timeAgo(e.failingSince ?? '', m.now)}` : html`<strong>disabled</strong> ${e.disabledAt ? timeAgo(e.disabledAt, m.now) : ''}`}</td>
<td><small>${e.lastError ?? '–'}</small></td>
<td>${e.enabled ? html`Check the receiver; <code>${CLI} webhooks test ${e.id}</code>` : html`Fix the receiver, then <code>${CLI} webhooks enable ${e.id}</code>`}</td>
</tr>`,
  );
  return html`<section id="failing-webhooks" aria-labelledby="webhooks-title">
<h2 id="webhooks-title">Webhooks failing (${m.failingEndpoints.length})</h2>
<table class="webhooks">
<thead><tr><th scope="col">Endpoint</th><th scope="col">State</th><th scope="col">Last error</th><th scope="col">What to do</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

/** The latest events: what changed state, for whom, and what to do. */
function eventsSection(m: OverviewModel): SafeHtml | '' {
  if (!m.events.length) return '';
  const rows = m.events.map((e) => {
    const facts = e.facts as { action?: unknown; command?: unknown };
    return html`<tr data-event-type="${e.type}">
<td>${timeAgo(e.occurredAt, m.now)}</td>
<th scope="row"><code>${e.type}</code></th>
<td>${e.clientId ? html`<a href="/status/clients/${e.clientId}">${e.clientName ?? e.clientId}</a>` : '–'}</td>
<td>${typeof facts.action === 'string' ? facts.action : ''}${typeof facts.command === 'string' ? html`<br><code>${facts.command}</code>` : ''}</td>
</tr>`;
  });
  return html`<section id="events" aria-labelledby="events-title">
<h2 id="events-title">Recent events</h2>
<p class="muted">Sent to the webhooks that want them; all of them: <code>${CLI} events list</code>.</p>
<table class="events">
<thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Client</th><th scope="col">What to do</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

function graphName(name: MetricName): string {
  const graph = metricOf(name).graph;
  return graph.edge === 'insights' ? graph.metric : graph.field;
}

const lanesText = (lanes: number): string => (lanes === 1 ? 'one lane' : `${lanes} lanes`);

/** The latest planned cycle, when too large for its interval even on REFRESH_MAX_LANES lanes: what it needs and what to change. */
function overrunNote(m: OverviewModel): SafeHtml | '' {
  const latest = m.cycles.find((c) => c.needsMs !== null);
  if (!latest || latest.fitsInterval !== false || latest.needsMs === null) return '';
  return html`<p id="cycle-overrun" role="alert"><strong>The fleet does not fit the refresh interval</strong>: ${overrunText(latest.needsMs, latest.intervalMs)} on ${lanesText(latest.lanes)}, so clients are refreshed less often than every interval. Raise <code>REFRESH_MAX_LANES</code>, lower <code>REFRESH_SPACING</code> or lengthen <code>REFRESH_INTERVAL</code> (README: Scaling).</p>`;
}

function problemsSection(m: OverviewModel): SafeHtml {
  const { total, clients } = m.problems;
  if (!total)
    return html`<section id="problems" aria-labelledby="problems-title"><h2 id="problems-title">Needs action</h2>${overrunNote(m) || html`<p>No client needs action.</p>`}</section>`;
  const counts = (Object.entries(m.summary.byProblem) as [ProblemKind, number][])
    .filter(([, n]) => n)
    .map(([kind, n]) => `${PROBLEM_TITLES[kind].toLowerCase()}: ${n}`)
    .join(' · ');
  const rows = clients.map((c, i) => {
    const [first, ...others] = c.problems;
    return html`${i ? '\n' : ''}<tr data-client-id="${c.id}" data-problem="${first}">
<th scope="row"><a href="${clientUrl(c.id)}">${c.name}</a><br><small class="muted">${c.id}</small></th>
<td><span class="problem-kind">${PROBLEM_TITLES[first]}</span>${others.length ? html`<br><small>also: ${others.map((k) => PROBLEM_TITLES[k].toLowerCase()).join(', ')}</small>` : ''}</td>
<td>${others.length ? html`<ul>${c.problems.map((kind) => html`<li>${action(kind, c)}</li>`)}</ul>` : action(first, c)}</td>
<td>${outcomeCell(c, m.now)}</td>
<td>${freshnessCell(c, m.now)}</td>
</tr>`;
  });
  const more =
    total > clients.length
      ? html`<p>${clients.length} of ${total} shown, most urgent first. <a href="${overviewUrl({ q: '', sort: 'name', page: 1, problems: true })}">Page through all ${total} clients needing action</a>.</p>`
      : '';
  return html`<section id="problems" aria-labelledby="problems-title">
<h2 id="problems-title">Needs action (${total})</h2>
${overrunNote(m)}
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

const took = (c: CycleBar): string =>
  formatDuration(c.finishedAt ? c.finishedAt.getTime() - c.startedAt.getTime() : null);

function cyclesSection(m: OverviewModel): SafeHtml {
  const running = m.cycles.find((c) => c.status === 'running');
  const last = m.cycles.find((c) => c.status !== 'running');
  const runningHtml = running
    ? html`<div id="running"><h3>Refresh cycle running</h3>
<p><progress max="${running.total}" value="${running.done}" aria-label="Clients done in the running cycle">${running.done} / ${running.total}</progress>
<strong>${running.done} / ${running.total}</strong> clients done, ${running.failed} failed${running.pending ? `, ${running.pending} waiting on Meta` : ''}${
        running.currentClientId ? html`, now <code>${running.currentClientId}</code>` : ''
      }</p><p><small>${running.workflowId} · started ${timeAgo(running.startedAt, m.now)}${
        running.spacingMs !== null ? ` · spacing ${formatDuration(running.spacingMs)}` : ''
      } · ${lanesText(running.lanes)}${
        running.needsMs !== null ? ` · starts take ${formatSpan(running.needsMs)}` : ''
      }</small></p></div>`
    : html`<div id="running"><h3>No refresh cycle running</h3></div>`;
  const lastHtml = last
    ? html`<p>Last cycle: <strong>${last.status}</strong>, ${last.refreshed} refreshed, ${last.failed} failed, ${last.skipped} skipped of ${last.total}; started ${timeAgo(
        last.startedAt,
        m.now,
      )}, took ${took(last)}.</p>`
    : html`<p>No cycle has run yet.</p>`;
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
  const table = html`<details><summary>The last ${m.cycles.length} cycles as a table</summary>
<table id="cycle-table"><caption>Last ${m.cycles.length} refresh cycles, newest first</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Refreshed</th><th scope="col">Failed</th><th scope="col">Skipped</th><th scope="col">Spacing used</th><th scope="col">Lanes</th></tr></thead>
<tbody>${m.cycles.map(
    (c) =>
      html`<tr><td>${timeAgo(c.startedAt, m.now)}</td><td>${c.trigger}</td><td>${c.status}</td><td>${took(c)}</td><td>${c.refreshed}</td><td>${c.failed}</td><td>${c.skipped}</td><td>${
        c.spacingMs === null ? '–' : formatDuration(c.spacingMs)
      }</td><td>${c.lanes}</td></tr>`,
  )}</tbody></table></details>`;
  const usage = m.usage;
  const usageHtml = html`<div id="usage"><h3>Meta app usage</h3>${usageGauge(usage.appPercent)}
<p>${usage.appPercent === null ? 'Not reported yet.' : html`<strong>${Math.round(usage.appPercent)} %</strong> of the app’s budget, reported ${timeAgo(usage.reportedAt, m.now)}.`}${
    usage.throttledUntil
      ? html` <strong>Meta throttles the app</strong> until ${timeAgo(usage.throttledUntil, m.now)}${usage.throttleReason ? ` (${usage.throttleReason})` : ''}.`
      : ''
  }</p></div>`;
  return html`<section id="cycles" aria-labelledby="cycles-title">
<h2 id="cycles-title">Refresh cycles</h2>
<p>Next cycle: <strong>${m.nextRunAt ? timeAgo(m.nextRunAt, m.now) : '—'}</strong>${m.schedulePaused ? html` <strong>(schedule paused)</strong>` : ''} · Temporal: ${
    m.temporal
  } · <a href="${m.temporalUiUrl}">Temporal Web UI</a></p>
${lastHtml}
<div class="cycles">
<div>${chart}${table}</div>
<div>${runningHtml}${usageHtml}</div>
</div>
</section>`;
}

function pagination(m: OverviewModel): SafeHtml | '' {
  const pages = Math.max(1, Math.ceil(m.list.total / m.pageSize));
  const current = m.query.page;
  if (pages <= 1) return '';
  const wanted = new Set(
    [1, pages, current - 2, current - 1, current, current + 1, current + 2].filter((n) => n >= 1 && n <= pages),
  );
  const items: SafeHtml[] = [];
  let previous = 0;
  if (current > 1)
    items.push(html`<li><a href="${overviewUrl(m.query, { page: current - 1 })}" rel="prev">Previous</a></li>`);
  for (const n of [...wanted].sort((a, b) => a - b)) {
    if (n > previous + 1) items.push(html`<li><span aria-hidden="true">…</span></li>`);
    items.push(
      n === current
        ? html`<li><a href="${overviewUrl(m.query, { page: n })}" aria-current="page" aria-label="Page ${n}, current">${n}</a></li>`
        : html`<li><a href="${overviewUrl(m.query, { page: n })}" aria-label="Page ${n}">${n}</a></li>`,
    );
    previous = n;
  }
  if (current < pages)
    items.push(html`<li><a href="${overviewUrl(m.query, { page: current + 1 })}" rel="next">Next</a></li>`);
  return html`<nav class="pages" aria-label="Pages of clients"><ul>${items}</ul></nav>`;
}

function clientsSection(m: OverviewModel): SafeHtml {
  const { query } = m;
  const first = (query.page - 1) * m.pageSize + 1;
  const last = Math.min(m.list.total, query.page * m.pageSize);
  const rows = m.list.clients.map((c, i) => {
    const series = m.series.get(c.id);
    const metrics = METRICS.map(
      (metric) =>
        html`<td class="metric" data-metric="${metric.key}">${metricValue(c.todayData, metric.key)}<br>${series ? sparkline(`${metric.label} of ${c.name}`, series[metric.key]) : ''}</td>`,
    );
    return html`${i ? '\n' : ''}<tr data-client-id="${c.id}" data-freshness="${c.freshness}"${c.problems.length ? html` data-problems="${c.problems.join(' ')}"` : ''}>
<th scope="row"><a href="${clientUrl(c.id)}">${c.name}</a><br><small class="muted">${c.id}</small>${
      c.problems.length
        ? html`<br><small class="problem-kind">needs action: ${PROBLEM_TITLES[c.problems[0]].toLowerCase()}</small>`
        : ''
    }</th>
<td>${freshnessCell(c, m.now)}</td>${metrics}
<td>${outcomeCell(c, m.now)}</td>
<td>${tokenCell(c)}<br><a href="${temporalRunsUrl(m.temporalUiUrl, m.namespace, c.id)}">runs in Temporal<span class="skip"> for ${c.name}</span></a></td>
</tr>`;
  });
  const sortOptions = (Object.entries(SORTS) as [ClientSort, string][]).map(
    ([value, text]) => html`<option value="${value}"${value === query.sort ? html` selected` : ''}>${text}</option>`,
  );
  const heading = query.problems ? 'Clients needing action' : query.q ? `Clients matching “${query.q}”` : 'Clients';
  const range = m.list.total ? `${first}–${last} of ${m.list.total}` : 'none';
  return html`<section id="clients" aria-labelledby="clients-title">
<h2 id="clients-title">${heading} (${m.list.total})</h2>
<form class="search" method="get" action="/status" role="search" aria-label="Clients">
<div><label for="q">Name or id</label><input id="q" name="q" type="search" value="${query.q}" maxlength="200"></div>
<div><label for="sort">Sort by</label><select id="sort" name="sort">${sortOptions}</select></div>
${query.problems ? html`<input type="hidden" name="problems" value="1">` : ''}
<div><button type="submit">Show</button></div>
${query.q || query.problems || query.sort !== 'name' ? html`<div><a href="/status">Clear</a></div>` : ''}
</form>
<p id="range">${range}${query.sort !== 'name' ? `, ${SORTS[query.sort]}` : ''}. <a href="${overviewUrl(query, { sort: 'freshness', page: 1 })}">Least fresh first</a> · <a href="${overviewUrl(
    query,
    { sort: 'name', page: 1 },
  )}">By name</a></p>
<table id="client-table">
<caption>Clients: today’s numbers with their last 30 days, freshness, last refresh and token (page ${query.page})</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Today</th>${METRICS.map((metric) => html`<th scope="col">${metric.label}</th>`)}<th scope="col">Last refresh</th><th scope="col">Token and Instagram</th></tr></thead>
<tbody>
${rows.length ? rows : html`<tr><td colspan="${METRICS.length + 4}">No client on this page. <a href="${overviewUrl(query, { page: 1 })}">First page</a></td></tr>`}
</tbody>
</table>
${pagination(m)}
</section>`;
}

export function renderOverview(m: OverviewModel): string {
  const s = m.summary;
  const body = html`<a class="skip" href="#clients">Skip to the client list</a>
<header>
<h1>social-media-cache</h1>
${m.demo ? DEMO_NOTE : ''}
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
${retiredSection(m)}
${endpointsSection(m)}
${clientsSection(m)}
${cyclesSection(m)}
${eventsSection(m)}
</main>
<footer><p><small class="muted">Generated ${exactTime(new Date(m.now))}. <a href="${overviewUrl(m.query)}">Reload</a>. Times are UTC on hover.</small></p></footer>`;
  return layout('social-media-cache status', body);
}
