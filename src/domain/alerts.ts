/**
 * The rules of alerts (README: Events and alerts): which endpoint wants which event, what a
 * receiver's answer means for the delivery, which addresses a delivery may reach, and how an
 * event reads in Slack and in an e-mail. Pure: the stores, the sender and the workflow apply them.
 */

import { BlockList, isIP } from 'node:net';
import { DeliveredEventType, EVENT_TYPES, EventType } from './vocabulary';

/** Events an endpoint gets with `"events": ["*"]`: every type but the frequent `cycle.completed`, which is asked by name. */
export const WILDCARD_EVENT_TYPES: readonly EventType[] = EVENT_TYPES.filter((type) => type !== 'cycle.completed');

/** Whether an endpoint subscribed to `events` wants an event of `type`. */
export function wantsEvent(events: readonly string[], type: EventType): boolean {
  return events.includes(type) || (events.includes('*') && WILDCARD_EVENT_TYPES.includes(type));
}

/** The problem with an endpoint's `events` list, or undefined when every entry is `*` or a known type. */
export function eventListProblem(events: unknown): string | undefined {
  if (!Array.isArray(events) || events.length === 0)
    return 'expected a non-empty list of event types, or ["*"] for every type but cycle.completed';
  const unknown = events.filter((e) => e !== '*' && !(EVENT_TYPES as readonly unknown[]).includes(e));
  if (unknown.length)
    return `unknown event types: ${unknown.map((e) => JSON.stringify(e)).join(', ')} (known: ${EVENT_TYPES.join(', ')})`;
  return undefined;
}

// -- Retries -----------------------------------------------------------------------------------

/** The retry schedule of a delivery (README: retry schedule): first retry after `initialMs`, doubling up to `maximumMs`, for `forMs`. */
export interface DeliveryRetry {
  initialMs: number;
  maximumMs: number;
  forMs: number;
}

export const DEFAULT_DELIVERY_RETRY: DeliveryRetry = {
  initialMs: 10_000,
  maximumMs: 30 * 60_000,
  forMs: 24 * 3_600_000,
};

/** How long one attempt may take before it counts as a timeout (WEBHOOK_TIMEOUT). */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/** An endpoint failing for this long (every attempt since its last success) is disabled (WEBHOOK_DISABLE_AFTER). */
export const DEFAULT_DISABLE_AFTER_MS = 24 * 3_600_000;

/** The delays between attempts the schedule gives, in order, until `forMs` has passed (for the README and tests). */
export function retryDelays(retry: DeliveryRetry): number[] {
  const delays: number[] = [];
  let elapsed = 0;
  for (let delay = retry.initialMs; elapsed + delay <= retry.forMs; delay = Math.min(delay * 2, retry.maximumMs)) {
    delays.push(delay);
    elapsed += delay;
  }
  return delays;
}

/** What a receiver's answer (or its absence) means: delivered, try again (after Meta-style `Retry-After` if given), or give up. */
export type AttemptVerdict =
  | { verdict: 'delivered' }
  | { verdict: 'retry'; afterMs?: number; reason: string }
  | { verdict: 'give_up'; reason: string };

/** The longest `Retry-After` honoured: a receiver cannot park a delivery past the schedule's own longest wait. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/**
 * 2xx is delivered; network errors, timeouts, 5xx, 408 and 429 are tried again (429 and 503 after
 * their `Retry-After`, capped at an hour); any other answer (3xx included: redirects are not
 * followed, 4xx) gives up, since sending the same request again cannot change it.
 */
export function judgeAttempt(
  answer: { status: number; retryAfter?: string | null } | { error: string; permanent?: boolean },
  now = Date.now(),
): AttemptVerdict {
  if ('error' in answer)
    return answer.permanent
      ? { verdict: 'give_up', reason: `${answer.error}; not sent again` }
      : { verdict: 'retry', reason: answer.error };
  const { status } = answer;
  if (status >= 200 && status < 300) return { verdict: 'delivered' };
  if (status >= 500 || status === 408 || status === 429) {
    const afterMs = parseRetryAfter(answer.retryAfter, now);
    return {
      verdict: 'retry',
      reason: `the receiver answered ${status}`,
      ...(afterMs !== undefined ? { afterMs: Math.min(afterMs, MAX_RETRY_AFTER_MS) } : {}),
    };
  }
  return { verdict: 'give_up', reason: `the receiver answered ${status}; not sent again` };
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// -- Where a delivery may go ----------------------------------------------------------------------

/** WEBHOOK_ALLOW_INSECURE and WEBHOOK_ALLOW_PRIVATE. */
export interface DestinationPolicy {
  /** `http://` to a loopback address (tests, a receiver on the same machine). */
  allowInsecure: boolean;
  /** Private ranges (RFC 1918, unique-local IPv6, CGNAT) and loopback over https. */
  allowPrivate: boolean;
}

const never = new BlockList();
// Link-local (cloud metadata services live there: 169.254.169.254, fd00:ec2::254), "this network",
// multicast, reserved and documentation ranges: no policy opens these.
never.addSubnet('0.0.0.0', 8, 'ipv4');
never.addSubnet('169.254.0.0', 16, 'ipv4');
never.addSubnet('192.0.0.0', 24, 'ipv4');
never.addSubnet('192.0.2.0', 24, 'ipv4');
never.addSubnet('198.18.0.0', 15, 'ipv4');
never.addSubnet('198.51.100.0', 24, 'ipv4');
never.addSubnet('203.0.113.0', 24, 'ipv4');
never.addSubnet('224.0.0.0', 3, 'ipv4');
never.addAddress('::', 'ipv6');
never.addSubnet('fe80::', 10, 'ipv6');
never.addSubnet('ff00::', 8, 'ipv6');
never.addAddress('fd00:ec2::254', 'ipv6');
never.addSubnet('2001:db8::', 32, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

const privateRanges = new BlockList();
privateRanges.addSubnet('10.0.0.0', 8, 'ipv4');
privateRanges.addSubnet('172.16.0.0', 12, 'ipv4');
privateRanges.addSubnet('192.168.0.0', 16, 'ipv4');
privateRanges.addSubnet('100.64.0.0', 10, 'ipv4');
privateRanges.addSubnet('fc00::', 7, 'ipv6');

/** An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 address it is. */
function normalized(address: string): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return { address: mapped[1], family: 'ipv4' };
  const version = isIP(bare);
  if (version === 4) return { address: bare, family: 'ipv4' };
  if (version === 6) return { address: bare, family: 'ipv6' };
  return undefined;
}

/**
 * Why a delivery may not connect to `address` under `policy` and `protocol`, or undefined when
 * it may: public addresses always (over https, or http with allowInsecure), loopback with
 * allowInsecure or allowPrivate, private ranges with allowPrivate, link-local, metadata and
 * reserved ranges never.
 */
export function addressProblem(address: string, policy: DestinationPolicy): string | undefined {
  const ip = normalized(address);
  if (!ip) return `${address} is not an IP address`;
  if (never.check(ip.address, ip.family)) return `${address} is link-local, metadata or reserved: never a webhook`;
  if (loopback.check(ip.address, ip.family))
    return policy.allowInsecure || policy.allowPrivate
      ? undefined
      : `${address} is loopback (set WEBHOOK_ALLOW_INSECURE=true for a receiver on this machine)`;
  if (privateRanges.check(ip.address, ip.family))
    return policy.allowPrivate
      ? undefined
      : `${address} is a private address (set WEBHOOK_ALLOW_PRIVATE=true to allow)`;
  return undefined;
}

/**
 * Why `url` cannot be a webhook endpoint, or undefined. Checked on create and update and again
 * before every attempt, where the name is resolved and every address it resolves to is judged.
 */
export function urlProblem(url: string, policy: DestinationPolicy): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'expected an absolute https:// URL';
  }
  if (parsed.username || parsed.password) return 'a webhook URL may not carry a user or password';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const literal = normalized(host);
  if (parsed.protocol === 'http:') {
    if (!policy.allowInsecure) return 'expected https:// (http:// only to loopback with WEBHOOK_ALLOW_INSECURE=true)';
    const isLoopback = (literal && loopback.check(literal.address, literal.family)) || host === 'localhost';
    if (!isLoopback) return 'http:// is allowed to loopback only (127.0.0.1, ::1, localhost); use https://';
  } else if (parsed.protocol !== 'https:') return 'expected an https:// URL';
  if (literal) return addressProblem(literal.address, policy);
  return undefined;
}

// -- How an event reads ---------------------------------------------------------------------------

/** An event as delivered (no secret in it: the stores never put one in `facts`). */
export interface AlertEvent {
  id: string;
  type: DeliveredEventType;
  occurredAt: string;
  clientId: string | null;
  clientName: string | null;
  facts: Record<string, unknown>;
}

const TITLES: Record<DeliveredEventType, string> = {
  'token.expiring': 'Meta token expiring',
  'token.invalid': 'Meta token invalid',
  'token.restored': 'Meta token working again',
  'instagram.permission_missing': 'Instagram permission missing',
  'instagram.not_linked': 'Instagram account not linked',
  'facebook.permission_missing': 'Facebook Page permission missing',
  'page.not_accessible': 'Facebook Page not accessible',
  'client.failing': 'Client refreshes failing',
  'client.recovered': 'Client refreshing again',
  'metric.retired': 'Meta retired a metric',
  'app.throttled': 'Meta throttles the app',
  'cycle.completed': 'Refresh cycle completed',
  'webhook.disabled': 'Webhook endpoint disabled',
  'webhook.test': 'Webhook test',
};

/** One line saying what happened: the subject of an e-mail, the first line of a Slack message. */
export function eventTitle(event: AlertEvent): string {
  const title = TITLES[event.type] ?? event.type;
  return event.clientName ? `${title}: ${event.clientName}` : title;
}

/** The facts as lines a person reads (`Action: …`, `Fix: …`), in a stable order. */
export function eventLines(event: AlertEvent): string[] {
  const { action, command, ...rest } = event.facts as { action?: unknown; command?: unknown };
  const lines: string[] = [];
  for (const [key, value] of Object.entries(rest)) {
    if (value === null || value === undefined) continue;
    lines.push(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  if (event.clientId) lines.push(`client: ${event.clientId}`);
  if (typeof action === 'string') lines.push(`What to do: ${action}`);
  if (typeof command === 'string') lines.push(`Command: ${command}`);
  return lines;
}

/**
 * The body of a Standard Webhooks delivery: `type`, `timestamp` and the event as `data`. The
 * `webhook-id` header is the event's id, the same on every retry, so a receiver can drop repeats.
 */
export function jsonPayload(event: AlertEvent): { type: DeliveredEventType; timestamp: string; data: AlertEvent } {
  return { type: event.type, timestamp: event.occurredAt, data: event };
}

/** Slack's incoming-webhook payload: `text` (the notification and fallback) and Block Kit `blocks`. */
export function slackPayload(event: AlertEvent): {
  text: string;
  blocks: (
    | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
    | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] }
  )[];
} {
  const title = eventTitle(event);
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const lines = eventLines(event).map((line) => {
    const command = /^Command: (.*)$/.exec(line);
    return command ? `Command: \`${escape(command[1])}\`` : escape(line);
  });
  return {
    text: title,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escape(title)}*\n${lines.join('\n')}` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${event.type} · ${event.occurredAt} · event ${event.id}` }],
      },
    ],
  };
}

/** The e-mail of an event: the title as subject, the facts as text. */
export function emailOf(event: AlertEvent): { subject: string; text: string } {
  return {
    subject: `[social-media-cache] ${eventTitle(event)}`,
    text: [
      eventTitle(event),
      '',
      ...eventLines(event),
      '',
      `${event.type} at ${event.occurredAt} (event ${event.id})`,
    ].join('\n'),
  };
}
