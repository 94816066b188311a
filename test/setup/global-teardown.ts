import fs from 'node:fs';

/** Stops the servers of global setup and removes their files. */
export default async function globalTeardown(): Promise<void> {
  const servers = globalThis.__testServers;
  if (!servers) return;
  globalThis.__testServers = undefined;
  for (const stop of servers.stops.reverse()) {
    await stop().catch((err: unknown) => process.stderr.write(`[test teardown] ${String(err)}\n`));
  }
  for (const dir of servers.tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
}
