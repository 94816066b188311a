import type { ClientDetail, RefreshResultRow } from '../../stores/status';
import { formatDuration, lineChart, SeriesDay } from './charts';
import { action, MetricKey, PROBLEM_TITLES } from './copy';
import { html, SafeHtml } from './html';
import { clientUrl, DEMO_NOTE, exactTime, layout, metricValue, temporalRunsUrl, timeAgo, tokenCell } from './layout';

/** One client's page, `/status/clients/:id`: today, a refresh button, 90 days of charts, its refreshes. */

export type RefreshMessage =
  | { status: 'started' | 'in_progress' }
  | { status: 'cooldown'; retryAfterSeconds: number }
  | { status: 'token_invalid' | 'unavailable' }
  | { status: 'held'; throttled: boolean; availableAt: string };

export interface ClientPageModel {
  now: number;
  demo: boolean;
  temporalUiUrl: string;
  namespace: string;
  client: ClientDetail;
  /** Per metric, the last 90 days oldest first. */
  /** Every metric kept (METRICS and the successors of retired ones): one chart each. */
  metrics: { key: MetricKey; label: string }[];
  series: Partial<Record<MetricKey, SeriesDay[]>>;
  results: RefreshResultRow[];
  cooldownMs: number;
  csrfToken: string;
  message?: RefreshMessage;
}

function messageHtml(message: RefreshMessage | undefined): SafeHtml | '' {
  if (!message) return '';
  switch (message.status) {
    case 'started':
      return html`<p class="message ok" role="status" id="refresh-message">Refresh started. The numbers update here when Meta has answered.</p>`;
    case 'in_progress':
      return html`<p class="message ok" role="status" id="refresh-message">Refresh started: one was already running and takes this request along.</p>`;
    case 'cooldown':
      return html`<p class="message wait" role="status" id="refresh-message">Refreshed recently, try again in ${message.retryAfterSeconds} s.</p>`;
    case 'token_invalid':
      return html`<p class="message error" role="alert" id="refresh-message">Not refreshed: the client has no valid Meta token. Store a new one first.</p>`;
    case 'unavailable':
      return html`<p class="message error" role="alert" id="refresh-message">Not refreshed: Temporal is not reachable; try again shortly.</p>`;
    case 'held':
      return message.throttled
        ? html`<p class="message wait" role="status" id="refresh-message">Not refreshed: Meta throttles this client; nothing is called before ${message.availableAt}, when a refresh is possible again.</p>`
        : html`<p class="message error" role="alert" id="refresh-message">Not refreshed: Meta answers that the Page does not exist for this token; it is asked again at ${message.availableAt}, or at once when the Page id or the token is changed.</p>`;
  }
}

function workflowUrl(m: ClientPageModel, r: RefreshResultRow): string {
  const base = `${m.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(m.namespace)}/workflows`;
  return r.temporalRunId
    ? `${base}/${encodeURIComponent(r.workflowId)}/${encodeURIComponent(r.temporalRunId)}/history`
    : `${base}?query=${encodeURIComponent(`WorkflowId="${r.workflowId}"`)}`;
}

function resultRow(m: ClientPageModel, r: RefreshResultRow): SafeHtml {
  return html`<tr data-outcome="${r.outcome}"><td>${timeAgo(r.startedAt, m.now)}</td><td>${r.trigger.replace(/_/g, ' ')}</td><td><span class="outcome ${r.outcome}">${r.outcome.replace(
    /_/g,
    ' ',
  )}</span></td><td>${r.errorCode ? html`<code>Meta ${r.errorCode}</code>` : '–'}</td><td>${r.errorMessage ?? ''}</td><td>${r.attempts}</td><td>${formatDuration(
    r.durationMs,
  )}</td><td><a href="${workflowUrl(m, r)}">run in Temporal<span class="skip"> started ${exactTime(r.startedAt)}</span></a></td></tr>`;
}

export function renderClientPage(m: ClientPageModel): string {
  const c = m.client;
  const cooldownSeconds = Math.ceil(c.cooldownLeftMs / 1000);
  const cooldown =
    cooldownSeconds > 0
      ? `Next refresh possible in ${cooldownSeconds} s (one on-demand refresh per ${formatDuration(m.cooldownMs)}).`
      : `A refresh can be asked now (one on-demand refresh per ${formatDuration(m.cooldownMs)}).`;
  const problems = c.problems.length
    ? html`<section aria-labelledby="problems-title"><h2 id="problems-title">Needs action</h2><ul>${c.problems.map(
        (kind) =>
          html`<li><strong class="problem-kind">${PROBLEM_TITLES[kind]}</strong>: ${action(kind, c, true)}</li>`,
      )}</ul></section>`
    : '';
  const today = m.metrics.map(
    (metric) =>
      html`<div><dt>${metric.label}</dt><dd data-metric="${metric.key}">${metricValue(c.todayData, metric.key)}</dd></div>`,
  );
  const charts = m.metrics.map(
    (metric) =>
      html`<figure><figcaption><h3>${metric.label}</h3></figcaption>${lineChart(`chart-${metric.key}`, `${metric.label}, last 90 days`, m.series[metric.key] ?? [])}</figure>`,
  );
  const results = m.results.map((r) => resultRow(m, r));
  const body = html`<nav aria-label="Breadcrumb"><a href="/status">← All clients</a></nav>
<header>
<h1>${c.name}</h1>
<p class="muted"><code>${c.id}</code> · Page ${c.facebookPageId} · ${c.timezone}</p>
${m.demo ? DEMO_NOTE : ''}
</header>
<main>
${messageHtml(m.message)}
${problems}
<div class="top">
<section id="today" aria-labelledby="today-title">
<h2 id="today-title">Today (${c.today})</h2>
<p><span class="badge ${c.freshness}">${c.freshness}</span> ${c.todayUpdatedAt ? html`updated ${timeAgo(c.todayUpdatedAt, m.now)}` : 'no numbers for today yet'}</p>
<dl class="today">${today}</dl>
</section>
<section id="refresh" aria-labelledby="refresh-title">
<h2 id="refresh-title">Refresh</h2>
<form method="post" action="${clientUrl(c.id)}/refresh">
<input type="hidden" name="csrf" value="${m.csrfToken}">
<button type="submit" id="refresh-now">Refresh now</button>
</form>
<p id="cooldown">${cooldown}</p>
</section>
<section id="state" aria-labelledby="state-title">
<h2 id="state-title">Token and Instagram</h2>
<p>${tokenCell(c)}${c.tokenError ? html`<br><small>${c.tokenError}</small>` : ''}</p>
<p><a href="${temporalRunsUrl(m.temporalUiUrl, m.namespace, c.id)}">All of this client’s runs in the Temporal Web UI</a></p>
</section>
</div>
<section id="charts" aria-labelledby="charts-title">
<h2 id="charts-title">Last 90 days</h2>
<p class="muted">A break in a line is a day without numbers. Each point shows its day and value on hover or focus (Tab).</p>
<div class="metrics">${charts}</div>
</section>
<section id="results" aria-labelledby="results-title">
<h2 id="results-title">Last ${m.results.length} refreshes</h2>
<table id="result-table"><caption>Refreshes of ${c.name}, newest first, with Meta’s error codes</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Outcome</th><th scope="col">Meta error</th><th scope="col">Message</th><th scope="col">Attempts</th><th scope="col">Took</th><th scope="col">Run</th></tr></thead>
<tbody>${results.length ? results : html`<tr><td colspan="8">No refresh yet.</td></tr>`}</tbody></table>
</section>
</main>
<footer><p><small class="muted">Generated ${exactTime(new Date(m.now))}. <a href="${clientUrl(c.id)}">Reload</a>. Times are UTC on hover.</small></p></footer>`;
  return layout(`${c.name} · social-media-cache status`, body);
}
