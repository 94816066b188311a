/** The operator's status page: server-rendered HTML, no front-end build, no script. */

export interface StatusPageClient {
  id: string;
  name: string;
  tokenStatus: string;
  tokenError: string | null;
  instagramStatus: string;
  period: string;
  freshness: 'fresh' | 'stale' | 'empty';
  cacheAgeMs: number | null;
  lastResult: { outcome: string; errorCode: string | null; errorMessage: string | null; at: string } | null;
}

export interface StatusPageModel {
  generatedAt: string;
  demo: boolean;
  temporalUiUrl: string;
  namespace: string;
  temporal: 'ok' | 'unavailable';
  nextRunAt: string | null;
  schedulePaused: boolean | null;
  running: { workflowId: string; total: number; done: number; failed: number; currentClientId: string | null } | null;
  lastCycle: { workflowId: string; status: string; startedAt: string; finishedAt: string | null; total: number; refreshed: number; failed: number } | null;
  clients: StatusPageClient[];
}

const escape = (text: unknown): string =>
  String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function age(ms: number | null): string {
  if (ms === null) return '—';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 120) return `${minutes} min ago`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min ago`;
}

/** The Temporal Web UI's list of one client's runs, filtered by the ClientId search attribute. */
export function temporalRunsUrl(uiUrl: string, namespace: string, clientId: string): string {
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(`ClientId="${clientId}"`)}`;
}

/** What an operator can do about the client's Instagram, by `instagramStatus`. */
const INSTAGRAM_ACTIONS: Record<string, string> = {
  permission_missing: 'grant the token instagram_basic and instagram_manage_insights, then replace it',
  not_linked: 'link an Instagram business account to the Page, or remove the Instagram id',
  throttled: 'Meta throttles this Instagram account; it is retried after Meta’s wait',
  error: 'the last Instagram call failed; see the last refresh',
};

export function renderStatusPage(model: StatusPageModel): string {
  const running = model.running;
  const rows = model.clients
    .map((c) => {
      const result = c.lastResult;
      const outcome = result
        ? `<span class="outcome ${escape(result.outcome)}">${escape(result.outcome.replace(/_/g, ' '))}</span>${
            result.errorCode ? ` <code title="${escape(result.errorMessage)}">Meta ${escape(result.errorCode)}</code>` : ''
          }<br><small>${escape(result.at)}</small>`
        : '<span class="muted">never</span>';
      return `<tr data-client-id="${escape(c.id)}" data-freshness="${c.freshness}">
  <td>${escape(c.name)}<br><small class="muted">${escape(c.id)}</small></td>
  <td><span class="badge ${c.freshness}">${c.freshness}</span><br><small>${escape(c.period)} · ${escape(age(c.cacheAgeMs))}</small></td>
  <td>${outcome}</td>
  <td><span class="token ${escape(c.tokenStatus)}">${escape(c.tokenStatus)}</span>${c.tokenError ? `<br><small>${escape(c.tokenError)}</small>` : ''}
  <br><small class="instagram ${escape(c.instagramStatus)}"${INSTAGRAM_ACTIONS[c.instagramStatus] ? ` title="${escape(INSTAGRAM_ACTIONS[c.instagramStatus])}"` : ''}>Instagram: ${escape(c.instagramStatus.replace(/_/g, ' '))}</small>${
    INSTAGRAM_ACTIONS[c.instagramStatus] ? `<br><small>${escape(INSTAGRAM_ACTIONS[c.instagramStatus])}</small>` : ''
  }</td>
  <td><a href="${escape(temporalRunsUrl(model.temporalUiUrl, model.namespace, c.id))}">runs in Temporal</a></td>
</tr>`;
    })
    .join('\n');
  const cycle = running
    ? `<section id="running"><h2>Refresh cycle running</h2>
  <p><progress max="${running.total}" value="${running.done}"></progress>
  <strong>${running.done} / ${running.total}</strong> clients done, ${running.failed} failed${
    running.currentClientId ? `, now <code>${escape(running.currentClientId)}</code>` : ''
  }</p><p><small>${escape(running.workflowId)}</small></p></section>`
    : '<section id="running"><h2>No refresh cycle running</h2></section>';
  const last = model.lastCycle
    ? `<p>Last cycle: <strong>${escape(model.lastCycle.status)}</strong>, ${model.lastCycle.refreshed} refreshed, ${model.lastCycle.failed} failed of ${model.lastCycle.total}
  (started ${escape(model.lastCycle.startedAt)}${model.lastCycle.finishedAt ? `, finished ${escape(model.lastCycle.finishedAt)}` : ''})</p>`
    : '<p>No cycle has run yet.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="15">
<title>social-media-cache status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1f2328; }
h1 { margin: 0 0 .5rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
.badge { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; font-weight: 600; }
.badge.fresh { background: #dafbe1; color: #116329; } .badge.stale { background: #fff8c5; color: #7d4e00; } .badge.empty { background: #ffebe9; color: #a40e26; }
.outcome.refreshed { color: #116329; } .outcome.failed { color: #a40e26; font-weight: 600; } .token.invalid { color: #a40e26; font-weight: 600; }
.muted { color: #656d76; } .demo { background: #ddf4ff; border: 1px solid #54aeff; padding: .5rem 1rem; border-radius: .4rem; }
progress { width: 20rem; height: 1rem; vertical-align: middle; }
</style>
</head>
<body>
<h1>social-media-cache</h1>
${model.demo ? '<p class="demo"><strong>Demo mode:</strong> the numbers come from the built-in Graph API sandbox, not from Meta.</p>' : ''}
<p>Next cycle: <strong>${escape(model.nextRunAt ?? '—')}</strong>${model.schedulePaused ? ' <strong>(schedule paused)</strong>' : ''} · Temporal: ${escape(model.temporal)} · <a href="${escape(model.temporalUiUrl)}">Temporal Web UI</a></p>
${cycle}
${last}
<h2>Clients (${model.clients.length})</h2>
<table>
<thead><tr><th>Client</th><th>Today</th><th>Last refresh</th><th>Token</th><th>History</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p><small class="muted">Generated ${escape(model.generatedAt)}; reloads every 15 s.</small></p>
</body>
</html>
`;
}
