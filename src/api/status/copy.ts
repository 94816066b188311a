import {
  type Freshness,
  METRICS as VOCABULARY,
  type MetricName,
  type UnavailableReason,
} from '../../domain/vocabulary';
import type { ClientSort, ProblemKind, StatusClient } from '../../stores/status';
import { html, SafeHtml } from './html';

/** The words of the status pages: metric labels, reasons, problems and what to do about them. */

/** The metrics as the pages show them, in the vocabulary's order and words: the overview's columns, the seed's four. */
export const METRICS = VOCABULARY.filter((metric) => metric.core).map(({ name, label }) => ({
  key: name as MetricName,
  label: label as string,
}));

/** Metrics `names` (a client page's charts: every metric kept) with their labels, in catalogue order. */
export function metricsShown(names: readonly MetricName[]): { key: MetricName; label: string }[] {
  return VOCABULARY.filter((metric) => names.includes(metric.name)).map(({ name, label }) => ({ key: name, label }));
}

export type MetricKey = MetricName;

/** Why a number is missing, in words; `not_fetched`: no row for the day at all. */
export const REASONS: Record<UnavailableReason | 'not_fetched', string> = {
  metric_unsupported: 'Meta does not offer it',
  metric_retired: 'Meta retired it',
  instagram_not_linked: 'no Instagram linked',
  instagram_permission_missing: 'Instagram permission missing',
  facebook_permission_missing: 'Page permission missing',
  page_not_accessible: 'Page not accessible',
  meta_refused: 'Meta refused that day',
  throttled: 'Meta throttled; retried',
  fetch_failed: 'the fetch failed',
  no_data: 'Meta gave no data',
  no_snapshot: 'no snapshot that day',
  beyond_meta_history: 'older than Meta keeps',
  not_fetched: 'not fetched yet',
};

export const PROBLEM_TITLES: Record<ProblemKind, string> = {
  token_invalid: 'Token invalid',
  no_token: 'No token',
  failing: 'Failing',
  token_expiring: 'Token expiring',
  data_access_ending: 'Data access ending',
  scopes_missing: 'Permissions missing',
  facebook_permission_missing: 'Page permission missing',
  page_not_accessible: 'Page not accessible',
  instagram_permission_missing: 'Instagram permission missing',
  instagram_not_linked: 'Instagram not linked',
  empty_today: 'No numbers today',
};

export const FRESHNESS_TEXT: Record<Freshness, string> = { fresh: 'fresh', stale: 'stale', empty: 'empty' };

export const SORTS: Record<ClientSort, string> = {
  name: 'name',
  freshness: 'least fresh first',
  recent: 'most recently updated first',
};

export const CLI = 'npm run cli --';

/** What to do about a problem, citing the CLI command that does it. */
export function action(kind: ProblemKind, c: StatusClient, onClientPage = false): SafeHtml {
  switch (kind) {
    case 'token_invalid':
      return html`Meta refused the token${c.tokenError ? ` (${c.tokenError})` : ''}. Ask the client to reconnect the Page, then store the new token: <code>${CLI} clients update ${c.id} --token-stdin</code>`;
    case 'no_token':
      return html`No Meta token is stored, so it is never refreshed. Store one: <code>${CLI} clients update ${c.id} --token-stdin</code>`;
    case 'failing':
      return html`The last ${c.failingStreak} refreshes failed${c.lastResult?.errorCode ? ` (Meta ${c.lastResult.errorCode})` : ''}. ${
        onClientPage
          ? 'See Meta’s error codes and the runs in Temporal below'
          : 'Open the client’s page for Meta’s error codes and its runs in Temporal'
      }; refresh it once the cause is fixed.`;
    case 'token_expiring':
      return html`Meta says the token expires ${c.tokenExpiresAt?.toISOString() ?? 'soon'}. Ask the client to log in again (a long-lived token from a new login, or a Page token derived from it, which never expires), then store it: <code>${CLI} clients update ${c.id} --token-stdin</code>`;
    case 'data_access_ending':
      return html`The app's access to the client's data ends ${c.dataAccessExpiresAt?.toISOString() ?? 'soon'}; only the person consenting again in Meta's login renews it. Ask them to reconnect, then store the new token: <code>${CLI} clients update ${c.id} --token-stdin</code>`;
    case 'scopes_missing':
      return html`The token lacks ${c.missingScopes.join(', ')}, which refreshing this client needs. Ask the client to grant ${c.missingScopes.length > 1 ? 'them' : 'it'} when reconnecting, then store the new token: <code>${CLI} clients update ${c.id} --token-stdin</code>`;
    case 'facebook_permission_missing':
      return html`Meta refused the Page’s insights for a missing permission; Instagram is still refreshed. Grant the token <code>pages_read_engagement</code> and <code>read_insights</code>, then replace it: <code>${CLI} clients update ${c.id} --token-stdin</code>`;
    case 'page_not_accessible':
      return html`Meta answers that the Page does not exist for this token (deleted, unpublished, or the token lost access); it is asked again once a day. Fix the Page id (<code>${CLI} clients update ${c.id} --page-id ID</code>) or store a token that reaches it (<code>${CLI} clients update ${c.id} --token-stdin</code>); either is asked at once.`;
    case 'instagram_permission_missing':
      return html`Grant the token <code>instagram_basic</code> and <code>instagram_manage_insights</code>, then replace it: <code>${CLI} clients update ${c.id} --token-stdin</code>`;
    case 'instagram_not_linked':
      return html`Link an Instagram business account to the Page in Meta, or stop asking for it: <code>${CLI} clients update ${c.id} --no-instagram</code>`;
    case 'empty_today':
      return html`No numbers for ${c.today} yet. Refresh it${onClientPage ? '' : ' from the client’s page'}, or wait for the next cycle.`;
  }
}
