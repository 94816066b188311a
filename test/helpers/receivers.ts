import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedRequest {
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The status this receiver answered. */
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
  json: any;
}

/**
 * A real HTTP receiver on loopback: it records every request and answers the statuses queued
 * with `answer` (then 200). `down()` stops listening (connections are refused), `up()` listens
 * again on the same port; `hold()` keeps requests open until `release()`.
 */
export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  answer(...statuses: (number | { status: number; headers?: Record<string, string> })[]): void;
  down(): Promise<void>;
  up(): Promise<void>;
  hold(): void;
  /** Answers the next requests again (those held stay unanswered). */
  unhold(): void;
  /** Requests that arrived while held and have not been answered. */
  held(): number;
  close(): Promise<void>;
}

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const queue: { status: number; headers?: Record<string, string> }[] = [];
  const requests: ReceivedRequest[] = [];
  let holding = false;
  const waiting = new Set<http.ServerResponse>();
  const handler: http.RequestListener = (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (holding) {
        waiting.add(res);
        res.on('close', () => waiting.delete(res));
        return;
      }
      const next = queue.shift() ?? { status: 200 };
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      requests.push({ headers: req.headers, body, status: next.status, json });
      res.writeHead(next.status, next.headers).end();
    });
  };
  let server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    answer: (...statuses) => queue.push(...statuses.map((s) => (typeof s === 'number' ? { status: s } : s))),
    down: stop,
    async up() {
      server = http.createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    hold: () => {
      holding = true;
    },
    unhold: () => {
      holding = false;
    },
    held: () => waiting.size,
    close: stop,
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server in process (no TLS, no auth), collecting every message. */
export async function startSmtpServer(): Promise<{ url: string; mails: ReceivedMail[]; close(): Promise<void> }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}?starttls=off`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
