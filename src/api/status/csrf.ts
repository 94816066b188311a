import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { HttpError } from '../errors';

/** How long a page's refresh form stays usable: its hour and the next. */
const WINDOW_MS = 3_600_000;

/**
 * CSRF tokens for the status pages' forms. A browser that logged into `/status` with Basic
 * credentials sends them with any request to this origin, a cross-site form's included; the
 * token proves the form came from a page this service rendered. It is an HMAC of the client id
 * and the hour under a secret derived from the admin keys (so every API process agrees, and
 * rotating the keys voids old tokens); it carries neither the key nor anything that leads to it.
 */
export function createCsrf(adminKeys: string[], now: () => number = Date.now) {
  const secret = createHash('sha256')
    .update(`social-media-cache status csrf v1\0${[...adminKeys].sort().join('\0')}`)
    .digest();
  const sign = (purpose: string, window: number) =>
    createHmac('sha256', secret).update(`${purpose}|${window}`).digest();
  return {
    /** A token for `purpose` (e.g. `refresh:<clientId>`), valid this hour and the next. */
    token(purpose: string): string {
      const window = Math.floor(now() / WINDOW_MS);
      return `${window}.${sign(purpose, window).toString('base64url')}`;
    },
    /** True for a token this service made for `purpose` within the last two hours. */
    verify(purpose: string, token: unknown): boolean {
      if (typeof token !== 'string') return false;
      const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
      if (!match) return false;
      const window = Number(match[1]);
      const current = Math.floor(now() / WINDOW_MS);
      if (window !== current && window !== current - 1) return false;
      return timingSafeEqual(sign(purpose, window), Buffer.from(match[2], 'base64url'));
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;

const crossSite = (message: string) => new HttpError(403, 'cross_site_request', message);

/**
 * Refuses a request a browser says came from another site: `Sec-Fetch-Site` other than
 * same-origin, or an `Origin` whose host is not this one. Clients that send neither (curl, an
 * API client with a Bearer key) pass on to the token check.
 */
export function assertSameOrigin(ctx: Context): void {
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin')
    throw crossSite('the form was sent from another site (Sec-Fetch-Site); open the status page and use its button');
  const origin = ctx.get('origin');
  if (!origin) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== ctx.host)
    throw crossSite('the form was sent from another origin; open the status page and use its button');
}
