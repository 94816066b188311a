/**
 * The transport of the Graph client: one fetch's HTTP calls with their timeout, Meta's usage
 * headers, error classification and token redaction, and the check of each answer's shape.
 */

import type { z } from 'zod';
import type { Logger } from '../boot/logger';
import { classifyMetaError, isSandboxUnknownTokenBody, redactToken } from './classify';
import { MetaBadRequestError, MetaSandboxUnknownTokenError, MetaTransientError } from './errors';
import type { MetaUsage } from './types';
import { emptyUsage, mergeUsage, parseUsageHeaders } from './usage';

export const DEFAULT_GRAPH_URL = 'https://graph.facebook.com';

export interface MetaClientOptions {
  /** Base URL without the version: Meta's (the default) or the sandbox's. */
  graphUrl?: string;
  /** Graph API version, e.g. `v24.0`. */
  graphVersion: string;
  /** Limit of one HTTP request, body included. */
  timeoutMs: number;
  logger: Logger;
  /** Defaults to the global fetch; tests may pass their own. */
  fetch?: typeof fetch;
  /**
   * Set only when `graphUrl` is the Graph sandbox (META_MODE=sandbox, `npm start`'s demo): the
   * sandbox's "unknown token" marker is read as MetaSandboxUnknownTokenError instead of a 190.
   * Off, the marker means nothing, so real Meta can never trigger it.
   */
  sandbox?: boolean;
  /** The clock that tells today, for the days beyond Meta's history; defaults to Date.now. */
  now?: () => number;
  /**
   * META_APP_ID and META_APP_SECRET: with them the client can ask `debug_token` about a token.
   * The app token is `id|secret`, a secret like the tokens it checks: never logged.
   */
  app?: { id: string; secret: string };
}

/** Meta's answer as `schema` reads it; an answer of another shape is a bad request, named by its call. */
export function parse<T>(schema: z.ZodType<T>, body: unknown, call: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new MetaBadRequestError(
      `Meta ${call} answered an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  return parsed.data;
}

/** The HTTP calls of one fetch: timeout, usage headers, error classification, and the count. */
export class GraphCalls {
  calls = 0;
  usage: MetaUsage = emptyUsage();
  private readonly secrets: string[] = [];

  constructor(
    private readonly base: string,
    private readonly options: MetaClientOptions,
    private readonly token: string,
    private readonly signal?: AbortSignal,
  ) {}

  /** `secretParams` (debug_token's `input_token`) are sent like the token: never logged, redacted from errors. */
  async get(path: string, params: Record<string, string>, secretParams: Record<string, string> = {}): Promise<unknown> {
    this.signal?.throwIfAborted();
    const query = new URLSearchParams(params);
    const call = `GET /${this.options.graphVersion}/${path}`;
    // The URL that is logged carries no token; the one that is sent does, as Meta expects.
    const loggedUrl = `${this.base}/${path}?${query}`;
    for (const [name, value] of Object.entries(secretParams)) {
      query.set(name, value);
      this.secrets.push(value);
    }
    query.set('access_token', this.token);
    const url = `${this.base}/${path}?${query}`;
    const log = this.options.logger;

    this.calls += 1;
    const started = Date.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    const relayAbort = () => controller.abort();
    this.signal?.addEventListener('abort', relayAbort, { once: true });
    let status: number;
    let text: string;
    let headers: Headers;
    try {
      const response = await (this.options.fetch ?? fetch)(url, {
        signal: controller.signal,
        headers: { accept: 'application/json' },
      });
      status = response.status;
      headers = response.headers;
      text = await response.text();
    } catch (err) {
      if (this.signal?.aborted) throw this.signal.reason;
      const error = controller.signal.aborted
        ? new MetaTransientError(`Meta ${call} timed out after ${this.options.timeoutMs} ms`)
        : new MetaTransientError(this.redact(`Meta ${call} failed: ${networkReason(err)}`));
      log.debug({ url: loggedUrl, ms: Date.now() - started, error: error.message }, 'Meta call failed');
      throw error;
    } finally {
      clearTimeout(timer);
      this.signal?.removeEventListener('abort', relayAbort);
    }

    const usage = parseUsageHeaders(headers);
    this.usage = mergeUsage(this.usage, usage);
    const body = readJson(text);
    const ms = Date.now() - started;
    const ok = status >= 200 && status < 300 && typeof body === 'object' && body !== null && !('error' in body);
    if (ok) {
      log.debug({ url: loggedUrl, status, ms, usage }, 'Meta call');
      return body;
    }
    if (this.options.sandbox && isSandboxUnknownTokenBody(body)) {
      log.debug({ url: loggedUrl, status, ms }, 'the Graph sandbox does not know the token');
      throw new MetaSandboxUnknownTokenError(
        `the Graph sandbox does not know this token (${call}); start with META_MODE=live to call Meta`,
        {
          code: 190,
          httpStatus: status,
        },
      );
    }
    const error = classifyMetaError({
      httpStatus: status,
      body,
      usage,
      call,
      redact: (message) => this.redact(message),
      html: body === undefined && isHtml(headers, text),
    });
    log.debug(
      {
        url: loggedUrl,
        status,
        ms,
        usage,
        code: error.code,
        subcode: error.subcode,
        fbtraceId: error.fbtraceId,
        error: error.message,
      },
      'Meta call failed',
    );
    throw error;
  }

  /** Meta's own messages do not echo tokens, but nothing guarantees it; fetch's may quote the URL. */
  redact(text: string): string {
    return this.secrets.reduce((redacted, secret) => redactToken(redacted, secret), redactToken(text, this.token));
  }
}

/** `fetch failed (ECONNREFUSED)`; read by shape, as fetch's errors may come from another realm. */
function networkReason(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const { message, cause } = err as { message?: unknown; cause?: { code?: unknown } };
  const text = typeof message === 'string' ? message : String(err);
  const code = typeof cause === 'object' && cause !== null && cause.code !== undefined ? String(cause.code) : undefined;
  return code ? `${text} (${code})` : text;
}

/** Meta's own error page ("Sorry, something went wrong."), sometimes even with HTTP 200. */
function isHtml(headers: Headers, text: string): boolean {
  return /text\/html/i.test(headers.get('content-type') ?? '') || /^\s*</.test(text);
}

function readJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
