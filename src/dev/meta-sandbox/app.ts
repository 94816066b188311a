import http from 'node:http';
import Koa from 'koa';
import type { Logger } from '../../boot/logger';
import { controlRoutes } from './control';
import { graphMiddleware } from './graph';
import { GraphSandboxControl, GraphSandboxOptions, SandboxState } from './state';

export interface GraphSandbox {
  app: Koa;
  control: GraphSandboxControl;
}

/**
 * The Graph API sandbox as a Koa app: Meta's paths, JSON, usage headers and errors, with
 * deterministic numbers, quotas and injectable failures. Nothing listens until the caller does.
 */
export function createGraphSandbox(options: GraphSandboxOptions & { logger?: Logger } = {}): GraphSandbox {
  const state = new SandboxState(options);
  const app = new Koa();
  app.silent = true;
  const control = controlRoutes(state);
  app.use(control.routes());
  app.use(control.allowedMethods());
  app.use(graphMiddleware(state, options.logger));
  return { app, control: state };
}

export interface RunningGraphSandbox {
  /** Base URL without a version, to use as `META_GRAPH_URL`. */
  url: string;
  control: GraphSandboxControl;
  close(): Promise<void>;
}

/** Starts the sandbox on `port` (0: a free one) and `host` (default 127.0.0.1). */
export async function startGraphSandbox(
  options: GraphSandboxOptions & { port?: number; host?: string; logger?: Logger } = {},
): Promise<RunningGraphSandbox> {
  const { app, control } = createGraphSandbox(options);
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}`,
    control,
    close() {
      closing ??= new Promise<void>((resolve) => {
        control.releaseHeldCalls();
        server.close(() => resolve());
        // Keep-alive connections would hold close() open until they time out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
