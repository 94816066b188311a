/**
 * Sending one delivery: a Standard Webhooks POST or a Slack message over HTTP(S), or an e-mail.
 * Each attempt connects only to an address the destination policy allows, judged on the address
 * the name resolves to at connect time (so a name that resolves to a metadata or private address
 * a second time is refused too), follows no redirect, and ends at the timeout however slowly the
 * receiver answers.
 */

import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import nodemailer from 'nodemailer';
import { Webhook } from 'standardwebhooks';
import {
  addressProblem,
  AlertEvent,
  DestinationPolicy,
  emailOf,
  jsonPayload,
  slackPayload,
  urlProblem,
} from '../domain/alerts';
import type { WebhookFormat } from '../domain/vocabulary';

/** What one attempt saw: the receiver's status and `Retry-After`, or why there was no answer. */
export type AttemptAnswer = ({ status: number; retryAfter: string | null } | { error: string; permanent?: boolean }) & {
  latencyMs: number;
};

/** Thrown before any connection when the URL or the address it resolves to is not allowed. */
export class DestinationRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefusedError';
  }
}

/** A `lookup` that resolves as usual and fails the connection when an address is not allowed. */
function guardedLookup(policy: DestinationPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const refused = list.map((a) => addressProblem(a.address, policy)).find(Boolean);
      if (refused || !list.length) {
        const error = new DestinationRefusedError(
          refused ?? `${hostname} resolves to no address`,
        ) as NodeJS.ErrnoException;
        error.code = 'EDESTINATIONREFUSED';
        return callback(error, '', 0);
      }
      if ((options as dns.LookupOptions).all)
        return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}

/** The request body and headers of an event for `format`, signed with `secret` for JSON. */
export function webhookRequest(
  event: AlertEvent,
  format: WebhookFormat,
  secret: string,
  now = new Date(),
): { body: string; headers: Record<string, string> } {
  if (format === 'slack') return { body: JSON.stringify(slackPayload(event)), headers: {} };
  const body = JSON.stringify(jsonPayload(event));
  // Seconds: the signed timestamp is what the receiver compares with its clock to reject replays.
  const timestamp = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return {
    body,
    headers: {
      'webhook-id': event.id,
      'webhook-timestamp': String(timestamp.getTime() / 1000),
      'webhook-signature': new Webhook(secret).sign(event.id, timestamp, body),
    },
  };
}

/** POSTs an event to `url`; never throws for the receiver's sake, only for a destination the policy refuses. */
export async function postWebhook(
  url: string,
  request: { body: string; headers: Record<string, string> },
  options: { policy: DestinationPolicy; timeoutMs: number; signal?: AbortSignal },
): Promise<AttemptAnswer> {
  const problem = urlProblem(url, options.policy);
  if (problem) throw new DestinationRefusedError(problem);
  const target = new URL(url);
  const started = Date.now();
  return new Promise<AttemptAnswer>((resolve, reject) => {
    const transport = target.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (answer: Omit<AttemptAnswer, 'latencyMs'> | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (answer instanceof DestinationRefusedError) reject(answer);
      else if (answer instanceof Error) resolve({ error: answer.message, latencyMs: Date.now() - started });
      else resolve({ ...answer, latencyMs: Date.now() - started } as AttemptAnswer);
    };
    const req = transport.request(
      target,
      {
        method: 'POST',
        lookup: guardedLookup(options.policy),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'social-media-cache-webhooks/1',
          'content-length': Buffer.byteLength(request.body),
          ...request.headers,
        },
        agent: false,
      },
      (res) => {
        // The body is read (at most 64 KiB) and dropped: only the status tells the outcome.
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > 65_536) res.destroy();
        });
        const answer = {
          status: res.statusCode ?? 0,
          retryAfter: (res.headers['retry-after'] as string | undefined) ?? null,
        };
        res.on('end', () => finish(answer));
        res.on('close', () => finish(answer));
        res.on('error', () => finish(answer));
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    options.signal?.addEventListener('abort', () => req.destroy(new Error('the delivery was cancelled')), {
      once: true,
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EDESTINATIONREFUSED' || err instanceof DestinationRefusedError)
        finish(new DestinationRefusedError(err.message));
      else finish(new Error(err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message));
    });
    req.end(request.body);
  });
}

/** ALERT_EMAIL_TO and SMTP_URL: where alert e-mails go and through which server. */
export interface EmailSettings {
  to: string[];
  smtpUrl: string;
  from: string;
}

/** Sends an event as an e-mail; the SMTP server's acceptance is the delivery (250 in the attempt record). */
export async function sendEmail(event: AlertEvent, settings: EmailSettings, timeoutMs: number): Promise<AttemptAnswer> {
  const started = Date.now();
  const url = new URL(settings.smtpUrl);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
    secure: url.protocol === 'smtps:',
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
    // smtp://…?tls=insecure: a test or in-house server with a self-signed certificate.
    ...(url.searchParams.get('tls') === 'insecure' ? { tls: { rejectUnauthorized: false } } : {}),
    ...(url.searchParams.get('starttls') === 'off' ? { ignoreTLS: true } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  try {
    const { subject, text } = emailOf(event);
    await transport.sendMail({
      from: settings.from,
      to: settings.to,
      subject,
      text,
      headers: { 'X-Event-Id': event.id, 'X-Event-Type': event.type },
      messageId: `<${event.id}@social-media-cache>`,
    });
    return { status: 250, retryAfter: null, latencyMs: Date.now() - started };
  } catch (err) {
    const e = err as { responseCode?: number; message?: string };
    // A permanent SMTP refusal (5xx) is given up like a 4xx webhook answer; anything else is tried again.
    const permanent = e.responseCode !== undefined && e.responseCode >= 500;
    return {
      error: `SMTP${e.responseCode ? ` ${e.responseCode}` : ''}: ${e.message ?? String(err)}`,
      permanent,
      latencyMs: Date.now() - started,
    };
  } finally {
    transport.close();
  }
}
