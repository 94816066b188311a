import http from 'node:http';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';

/** Node's own answer to a request it could not parse, in the API's error shape. */
function rawError(
  socket: Duplex,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ success: false, error: { code, message } });
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...extra,
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${head}\r\n${body}`);
}

/**
 * The HTTP server for the Koa app. Requests Node answers before Koa sees them get the API's
 * error shape too: headers over Node's limit (431), an unparsable request (400), and CONNECT,
 * which no route serves (405).
 */
export function createHttpServer(app: Koa): http.Server {
  const server = http.createServer(app.callback());
  track(server);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    if (err.code === 'HPE_HEADER_OVERFLOW')
      return rawError(socket, 431, 'headers_too_large', 'the request headers are larger than the server accepts');
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
      return rawError(socket, 408, 'request_timeout', 'the request took too long to arrive');
    rawError(socket, 400, 'bad_request', 'the request is not valid HTTP');
  });
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    rawError(socket, 405, 'method_not_allowed', 'this API serves no CONNECT requests', {
      Allow: 'GET, HEAD, POST, PATCH, DELETE, OPTIONS',
    });
  });
  return server;
}

/** How often a closing server closes the keep-alive connections that went idle meanwhile. */
const IDLE_SWEEP_MS = 50;

/** The answers each server is still writing, and whether it is closing. */
const servers = new WeakMap<http.Server, { answering: Set<http.ServerResponse>; closing: boolean }>();

function track(server: http.Server): void {
  const state = { answering: new Set<http.ServerResponse>(), closing: false };
  servers.set(server, state);
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    // A request on a keep-alive connection while closing is served, and its connection then ends.
    if (state.closing) res.shouldKeepAlive = false;
    state.answering.add(res);
    res.once('close', () => state.answering.delete(res));
  });
}

/**
 * Stops `server` without cutting a request short: it stops accepting connections at once, closes
 * idle keep-alive connections, ends each busy one once its answer is sent (`Connection: close`),
 * and lets requests in flight finish for up to `graceMs`. Only what still runs then is cut off.
 * Resolves with how many answers were cut off.
 */
export function closeGracefully(server: http.Server, graceMs: number): Promise<{ cutOff: number }> {
  const state = servers.get(server);
  if (!state) throw new Error('closeGracefully: the server was not made by createHttpServer');
  state.closing = true;
  for (const res of state.answering) if (!res.headersSent) res.shouldKeepAlive = false;
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const finish = (cutOff: number) => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve({ cutOff });
    };
    const deadline = setTimeout(() => {
      const cutOff = state.answering.size;
      server.closeAllConnections();
      finish(cutOff);
    }, graceMs);
    server.close(() => finish(0));
    server.closeIdleConnections();
  });
}
