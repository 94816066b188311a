import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from '../../src/net';
import { createTemporalClient } from '../../src/temporal/client';
import { startTemporalDevServer, TemporalDevServer } from '../../src/dev/temporal-dev-server';
import { startApi, TestApi } from '../helpers/api';
import { createRefreshStack, RefreshStack } from '../helpers/stack';
import { knownNumbers, today } from './helpers';

const HOUR = 3_600_000;
const OUTAGE_MS = 30_000;

interface Read {
  at: number;
  phase: 'up' | 'down' | 'back';
  path: string;
  status: number;
  ms: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON
  body: any;
}

describe('Temporal stopped for 30 s while a dashboard reads', () => {
  let stack: RefreshStack;
  let api: TestApi;
  let dir: string;
  let server: TemporalDevServer;
  let port: number;

  const startTemporal = async () =>
    startTemporalDevServer({
      binary: process.env.TEST_TEMPORAL_CLI_PATH!,
      port,
      dbFile: path.join(dir, 'temporal.db'),
      namespace: 'default',
    });

  beforeAll(async () => {
    stack = await createRefreshStack();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smc-outage-'));
    port = await freePort();
    server = await startTemporal();
    api = await startApi(stack, { temporal: createTemporalClient(server.address, 'default') });
  });

  afterAll(async () => {
    await api?.close();
    await server?.stop();
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers every read 200 from the cache, and starts refreshes again once Temporal is back', async () => {
    const day = today();
    const fresh = await Promise.all([0, 1, 2].map(() => stack.addClient()));
    const stale = await Promise.all([0, 1, 2].map(() => stack.addClient()));
    for (const [i, client] of fresh.entries())
      await stack.cache.writeDay(client.id, day, knownNumbers(i), new Date(Date.now() - HOUR));
    for (const [i, client] of stale.entries())
      await stack.cache.writeDay(client.id, day, knownNumbers(10 + i), new Date(Date.now() - 4 * HOUR));
    const unread = await stack.addClient();
    await stack.cache.writeDay(unread.id, day, knownNumbers(20), new Date(Date.now() - 4 * HOUR));
    const expected = new Map([
      ...fresh.map((c, i) => [c.id, knownNumbers(i)] as const),
      ...stale.map((c, i) => [c.id, knownNumbers(10 + i)] as const),
    ]);
    const readable = [...fresh, ...stale];

    const reads: Read[] = [];
    let recoveredInMs: number | undefined;
    let phase: Read['phase'] = 'up';
    let reading = true;
    const lane = async (lane: number) => {
      for (let n = lane; reading; n += 2) {
        const client = readable[n % readable.length];
        const path =
          n % 5 === 4
            ? `/api/social-media-cache/range?clientId=${client.id}&from=${day}&to=${day}`
            : `/api/social-media-cache?clientId=${client.id}&period=${day}`;
        const started = Date.now();
        const res = await api.request(path);
        reads.push({ at: started, phase, path, status: res.status, ms: Date.now() - started, body: res.body });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const lanes = [lane(0), lane(1)];
    try {
      await waitFor(async () => reads.length >= 20, { timeoutMs: 20_000, what: '20 reads with Temporal up' });
      await server.stop();
      phase = 'down';
      const downSince = Date.now();
      // The outage itself is what is tested: reads go on for its whole length.
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      server = await startTemporal();
      phase = 'back';
      const downFor = Date.now() - downSince;
      expect(downFor).toBeGreaterThanOrEqual(OUTAGE_MS);

      // Once Temporal answers again, a stale read of a client nobody read yet starts its refresh.
      // The first read may give up waiting (1.5 s) while the reconnecting client still starts
      // it; the next reads then find it running.
      const backAt = Date.now();
      await waitFor(
        async () =>
          ['started', 'in_progress'].includes(
            (await api.request(`/api/social-media-cache?clientId=${unread.id}&period=${day}`)).body.refresh.status,
          ),
        { timeoutMs: 45_000, intervalMs: 500, what: 'a stale read to start a refresh after Temporal came back' },
      );
      recoveredInMs = Date.now() - backAt;
    } finally {
      reading = false;
      await Promise.all(lanes);
    }

    const down = reads.filter((r) => r.phase === 'down');
    expect(down.length).toBeGreaterThan(100);
    expect(reads.filter((r) => r.status !== 200)).toEqual([]);
    for (const read of reads) {
      const rows = read.path.includes('/range') ? read.body.data : [read.body];
      for (const row of rows) {
        expect(row.source).toMatch(/^(cache|stale-cache)$/);
        const clientId = new URL(read.path, 'http://x').searchParams.get('clientId')!;
        // A day read carries its numbers in `data`; a range spreads each day's numbers into the row.
        expect(row.data ?? row).toMatchObject(expected.get(clientId)!);
      }
    }
    // While Temporal was down, no stale read claimed a refresh had started or was running.
    const staleDown = down.filter((r) => !r.path.includes('/range') && r.body.source === 'stale-cache');
    expect(staleDown.length).toBeGreaterThan(10);
    expect(staleDown.map((r) => r.body.refresh.status)).toContain('unavailable');
    expect(staleDown.filter((r) => !['unavailable', 'cooldown'].includes(r.body.refresh.status))).toEqual([]);
    const slowest = Math.max(...down.map((r) => r.ms));
    process.stdout.write(
      `Temporal outage: ${reads.length} reads (${down.length} while down), all 200; slowest while down ${slowest} ms; refreshes start again ${recoveredInMs} ms after Temporal is back\n`,
    );
    // The client reconnects at most 5 s apart (TEMPORAL_CHANNEL_ARGS), not up to gRPC's 2 minutes:
    // refreshes start again within that, a read's 1.5 s wait for Temporal, and a loaded machine.
    expect(recoveredInMs).toBeLessThan(15_000);
    // The API gives Temporal 1.5 s before it answers `unavailable`; the rest is a loaded machine.
    expect(slowest).toBeLessThan(3_000);
  }, 150_000);
});
