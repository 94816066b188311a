import http from 'node:http';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';

/** Node's own answer to a request it could not parse, in the API's error shape. */
function rawError(socket: Duplex, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ success: false, error: { code, message } });
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...extra,
  };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${head}\r\n${body}`);
}

/**
 * The HTTP server for the Koa app. Requests Node answers before Koa sees them get the API's
 * error shape too: headers over Node's limit (431), an unparsable request (400), and CONNECT,
 * which no route serves (405).
 */
export function createHttpServer(app: Koa): http.Server {
  const server = http.createServer(app.callback());
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    if (err.code === 'HPE_HEADER_OVERFLOW') return rawError(socket, 431, 'headers_too_large', 'the request headers are larger than the server accepts');
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return rawError(socket, 408, 'request_timeout', 'the request took too long to arrive');
    rawError(socket, 400, 'bad_request', 'the request is not valid HTTP');
  });
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    rawError(socket, 405, 'method_not_allowed', 'this API serves no CONNECT requests', { Allow: 'GET, HEAD, POST, PATCH, DELETE, OPTIONS' });
  });
  return server;
}
