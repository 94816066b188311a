import { randomBytes } from 'node:crypto';
import { createLogger } from '../src/boot/logger';
import { waitFor } from '../src/net';
import { reconcileCycles } from '../src/temporal/reconcile';
import { RefreshAllInput } from '../workflows/definitions';
import { ADMIN_KEY, useStackAndApi } from './helpers/api';

describe('a cycle whose workflow is gone', () => {
  const harness = useStackAndApi();

  it('shows as terminated with its counts once reconciled, and is the last cycle of the status', async () => {
    const clients = [await harness.stack.addClient(), await harness.stack.addClient(), await harness.stack.addClient()];
    const workflowId = `test-reconcile-${randomBytes(5).toString('hex')}`;
    // 2 s between starts: the cycle is terminated after its first client's refresh, mid-way.
    const handle = await harness.stack.client.workflow.start('refreshAllClients', {
      workflowId,
      taskQueue: harness.stack.taskQueue,
      args: [{ trigger: 'manual', spacingMs: 2_000, lookbackDays: 1 } satisfies RefreshAllInput],
      workflowExecutionTimeout: '2m',
    });
    await waitFor(
      async () =>
        (
          await harness.stack.database
            .db('refresh_client_results')
            .where({ outcome: 'refreshed' })
            .whereIn(
              'client_id',
              clients.map((c) => c.id),
            )
        ).length >= 1,
      {
        timeoutMs: 20_000,
        what: 'the first client to be refreshed',
      },
    );
    await handle.terminate('an operator stopped it');
    const [row] = await harness.stack.database.db('refresh_runs').where({ workflow_id: workflowId });
    expect(row.status).toBe('running');

    expect(
      await reconcileCycles({
        temporal: harness.stack.client,
        refresh: harness.stack.refresh,
        logger: createLogger('silent'),
      }),
    ).toBeGreaterThanOrEqual(1);
    const [cycle] = await harness.stack.refresh.recentCycles(1);
    expect(cycle).toMatchObject({
      workflowId,
      status: 'terminated',
      totals: { total: 3, refreshed: expect.any(Number) },
    });
    expect(cycle.totals.refreshed).toBeGreaterThanOrEqual(1);
    expect(cycle.error).toMatch(/terminated/);

    // The workflow id is in the admin key's answer only.
    const status = await harness.api.request('/api/automated/refresh-social-media-cache', { key: ADMIN_KEY });
    expect(status.body.data.lastCycle).toMatchObject({ workflowId, status: 'terminated', total: 3 });
    expect(status.body.data.running).toBeNull();
    // A second pass changes nothing: only running rows are looked at.
    expect(
      await reconcileCycles({
        temporal: harness.stack.client,
        refresh: harness.stack.refresh,
        logger: createLogger('silent'),
      }),
    ).toBe(0);
  });
});
