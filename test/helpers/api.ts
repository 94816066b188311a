import http from 'node:http';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { Client as TemporalClient } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import { createHttpServer } from '../../src/api/http-server';
import { Config, loadConfig } from '../../src/config';
import { createLogger } from '../../src/boot/logger';
import { createRefreshStack, RefreshStack } from './stack';

export const ADMIN_KEY = 'admin-key-for-tests-0123456789';
export const READ_KEY = 'read-key-for-tests-0123456789';

export interface TestApi {
  url: string;
  app: ReturnType<typeof createApp>;
  /** Every log line the API wrote, as text. */
  logs: string[];
  request(
    path: string,
    options?: {
      method?: string;
      key?: string | null;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
  ): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  close(): Promise<void>;
}

/**
 * A refresh stack and an API over it for the tests of one `describe`: started before them and
 * closed after them. Tests read `harness.stack` and `harness.api`.
 */
export function useStackAndApi(options?: Parameters<typeof startApi>[1]): { stack: RefreshStack; api: TestApi } {
  const harness = {} as { stack: RefreshStack; api: TestApi };
  beforeAll(async () => {
    harness.stack = await createRefreshStack();
    harness.api = await startApi(harness.stack, options);
  });
  afterAll(async () => {
    await harness.api?.close();
    await harness.stack?.close();
  });
  return harness;
}

/** The real Koa app over the stack's Postgres and Temporal, listening on a free loopback port. */
export async function startApi(
  stack: RefreshStack,
  options: { env?: Record<string, string>; temporal?: TemporalClient; config?: (c: Config) => Config } = {},
): Promise<TestApi> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  // The seed's four unless a test names more, as the refresh stacks' workers keep (createActivities' default).
  let config = loadConfig({ READ_API_KEYS: READ_KEY, ADMIN_API_KEYS: ADMIN_KEY, METRICS: 'core', ...options.env });
  if (options.config) config = options.config(config);
  const app = createApp({
    config,
    db: stack.database.db,
    temporal: options.temporal ?? stack.client,
    logger: createLogger('debug', destination),
    tokenKeys: stack.tokenKeys,
    taskQueue: stack.taskQueue,
  });
  const server = createHttpServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    app,
    logs,
    async request(path, { method = 'GET', key = READ_KEY, body, rawBody, headers = {} } = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(key ? { Authorization: `Bearer ${key}` } : {}),
          ...(body !== undefined || rawBody !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
        },
        body: rawBody ?? (body !== undefined ? JSON.stringify(body) : undefined),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON (e.g. /metrics): the text is there.
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** An answer read off the wire. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
  body: any;
}

/**
 * One request through node:http, which sends what fetch refuses to (TRACE, CONNECT, odd
 * methods, any header value); the connection is not reused.
 */
export function rawRequest(
  baseUrl: string,
  {
    method,
    path,
    headers = {},
    body,
  }: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method,
      path,
      headers: { Connection: 'close', ...headers },
      agent: false,
    });
    const collect = (res: http.IncomingMessage, socket?: Socket, head?: Buffer) => {
      const chunks: Buffer[] = head?.length ? [head] : [];
      const source = socket ?? res;
      source.on('data', (chunk: Buffer) => chunks.push(chunk));
      source.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // Not JSON: the text is there.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
      source.on('error', reject);
    };
    req.on('response', (res) => collect(res));
    // A CONNECT's answer arrives as 'connect', its body on the raw socket.
    req.on('connect', (res, socket, head) => collect(res, socket, head));
    req.on('error', reject);
    req.end(body);
  });
}
