/**
 * When a token needs a person before it stops working: the rules `/status` lists under "Needs
 * action" and the refresh's daily `debug_token` check follow.
 */

/** A token is asked about at most this often (and at once when it is new). */
export const TOKEN_CHECK_INTERVAL_MS = 24 * 60 * 60_000;

/** A token expiring within this is listed: the person must log in again to extend it. */
export const TOKEN_EXPIRING_WITHIN_MS = 7 * 24 * 60 * 60_000;

/** Data access ending within this is listed: only the person consenting again renews it. */
export const DATA_ACCESS_ENDING_WITHIN_MS = 14 * 24 * 60 * 60_000;

/** The scopes every client's token needs, and the one more a client with an Instagram account needs. */
export const PAGE_SCOPES = ['read_insights', 'pages_read_engagement'] as const;
export const INSTAGRAM_SCOPES = ['instagram_manage_insights'] as const;

/** The scopes a token lacks for what its client needs; empty when nothing is known of its scopes. */
export function missingScopes(scopes: readonly string[] | null, hasInstagram: boolean): string[] {
  if (!scopes) return [];
  const needed: string[] = [...PAGE_SCOPES, ...(hasInstagram ? INSTAGRAM_SCOPES : [])];
  return needed.filter((scope) => !scopes.includes(scope));
}
