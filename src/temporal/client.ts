import { Client, Connection, ConnectionOptions } from '@temporalio/client';
import type { TemporalTls } from '../config';

/**
 * gRPC's reconnect backoff, capped at 5 s instead of its default 2 minutes. A process that outlives
 * a Temporal outage (the API, the worker's client) grows the backoff 1.6 times per failed attempt:
 * after 30 s down, the next attempt could come 20-30 s after Temporal was back, and the API
 * answered `refresh.status: unavailable` all that while.
 */
export const TEMPORAL_CHANNEL_ARGS: ConnectionOptions['channelArgs'] = {
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

/**
 * A Temporal client whose connection is made on first use, so the API starts and serves reads
 * from Postgres while Temporal is down.
 */
export function createTemporalClient(address: string, namespace: string, tls?: TemporalTls): Client {
  return new Client({ connection: Connection.lazy({ address, tls, channelArgs: TEMPORAL_CHANNEL_ARGS }), namespace });
}

/** Answers whether the Temporal frontend responds within `timeoutMs`. */
export async function pingTemporal(
  client: Client,
  timeoutMs = 2_000,
): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = Date.now();
  try {
    await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.connection.workflowService.getSystemInfo({}),
    );
    return { ok: true, latencyMs: Date.now() - started };
  } catch (err) {
    return { ok: false, latencyMs: Date.now() - started, error: err instanceof Error ? err.message : String(err) };
  }
}
