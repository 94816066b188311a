import { randomBytes } from 'node:crypto';
import { requestRefresh } from '../src/temporal/request-refresh';
import { clientRefreshWorkflowId, RefreshAllInput, RefreshTotals } from '../workflows/definitions';
import { useStackAndApi } from './helpers/api';

describe('a cycle after an on-demand refresh', () => {
  const harness = useStackAndApi();

  const runCycle = (skipIfFresherMs: number): Promise<RefreshTotals> =>
    harness.stack.client.workflow.execute('refreshAllClients', {
      workflowId: `test-skip-fresh-${randomBytes(5).toString('hex')}`,
      taskQueue: harness.stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 0, lookbackDays: 2, skipIfFresherMs } satisfies RefreshAllInput],
      workflowExecutionTimeout: '2m',
    });

  it('passes over a client refreshed on demand moments before as skipped_fresh, spending no Meta call on it', async () => {
    const [early, other] = [
      await harness.stack.addClient({ name: 'Refreshed on demand' }),
      await harness.stack.addClient({ name: 'Not refreshed yet' }),
    ];
    const deps = {
      temporal: harness.stack.client,
      clients: harness.stack.clients,
      cooldownMs: 0,
      lookbackDays: 2,
      taskQueue: harness.stack.taskQueue,
    };
    expect((await requestRefresh(deps, early.id)).status).toBe('started');
    expect(await harness.stack.client.workflow.getHandle(clientRefreshWorkflowId(early.id)).result()).toMatchObject({
      outcome: 'refreshed',
    });
    harness.stack.sandbox.control.reset('calls');

    const totals = await runCycle(30 * 60_000);
    expect(totals).toEqual({
      total: 2,
      refreshed: 1,
      failed: 0,
      skippedTokenInvalid: 0,
      skippedFresh: 1,
      alreadyRunning: 0,
      pending: 0,
    });
    const calls = harness.stack.sandbox.control.requests();
    expect(calls.filter((c) => c.objectId === early.facebookPageId || c.objectId === early.instagramAccountId)).toEqual(
      [],
    );
    expect(calls.filter((c) => c.objectId === other.facebookPageId).length).toBe(1);

    const rows = await harness.stack.database
      .db('refresh_client_results')
      .whereNotNull('run_id')
      .orderBy('client_id')
      .select('client_id', 'outcome');
    expect(rows).toEqual(
      expect.arrayContaining([
        { client_id: early.id, outcome: 'skipped_fresh' },
        { client_id: other.id, outcome: 'refreshed' },
      ]),
    );
    const status = await harness.api.request('/api/automated/refresh-social-media-cache');
    expect(status.body.data.lastCycle).toMatchObject({ total: 2, refreshed: 1, skippedFresh: 1 });
  });

  it('refreshes every client again when skipping is off (REFRESH_SKIP_IF_FRESHER=0s)', async () => {
    await harness.stack.database.db('clients').delete();
    const client = await harness.stack.addClient();
    expect(await runCycle(0)).toMatchObject({ total: 1, refreshed: 1, skippedFresh: 0 });
    expect(await runCycle(0)).toMatchObject({ total: 1, refreshed: 1, skippedFresh: 0 });
    expect(
      await harness.stack.database
        .db('refresh_client_results')
        .where({ client_id: client.id, outcome: 'refreshed' })
        .count<{ count: string }[]>('* as count'),
    ).toEqual([{ count: '2' }]);
  });
});
