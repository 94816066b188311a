import { Client, Connection } from '@temporalio/client';

/**
 * A Temporal client whose connection is made on first use, so the API starts and serves reads
 * from Postgres while Temporal is down.
 */
export function createTemporalClient(address: string, namespace: string): Client {
  return new Client({ connection: Connection.lazy({ address }), namespace });
}

/** Answers whether the Temporal frontend responds within `timeoutMs`. */
export async function pingTemporal(client: Client, timeoutMs = 2_000): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
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
