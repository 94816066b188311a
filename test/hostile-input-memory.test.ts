import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dayIn } from '../src/dates';
import { ADMIN_KEY, useStackAndApi } from './helpers/api';

// A full collection before each measurement, so the figure is what the API keeps, not garbage
// not yet collected: jest runs without --expose-gc, and this asks V8 for it at run time.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function retainedHeap(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Runs `count` calls of `send`, `parallel` at a time. */
async function inParallel(count: number, parallel: number, send: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await send(next++);
    }),
  );
}

describe('memory under hostile input', () => {
  const harness = useStackAndApi();

  it('keeps less than 20 MB more heap after 10,000 distinct padded queries of one day and of a range', async () => {
    const client = await harness.stack.addClient();
    const period = dayIn(client.timezone);
    const data = { facebookNewFollowers: 1, instagramFollowers: 2, instagramReach: 3, instagramProfileViews: 4 };
    expect(
      (
        await harness.api.request('/api/social-media-cache', {
          method: 'POST',
          key: ADMIN_KEY,
          body: { clientId: client.id, period, data },
        })
      ).status,
    ).toBe(200);
    const day = `/api/social-media-cache?clientId=${client.id}&period=${period}`;
    const range = `/api/social-media-cache/range?clientId=${client.id}&from=${period}&to=${period}`;
    // Warm up every path once, so what is measured is what the padding adds.
    for (const path of [day, range]) expect((await harness.api.request(path)).status).toBe(200);

    const before = retainedHeap();
    const statuses = new Map<number, number>();
    // Each query is a valid one padded with `&` to a length of its own, 4 to 14 KB (the request
    // line must fit Node's 16 KB header limit): 90 MB of distinct query strings in all.
    await inParallel(10_000, 16, async (i) => {
      const res = await harness.api.request(`${i % 2 ? range : day}${'&'.repeat(4_000 + i)}`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    });
    const grown = retainedHeap() - before;

    expect(Object.fromEntries(statuses)).toEqual({ 200: 10_000 });
    expect(grown).toBeLessThan(20 * 1024 * 1024);
  });
});
