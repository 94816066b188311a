import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { DEFAULT_PAGE_SIZE, REFRESH_CYCLE_WORKFLOW_ID, RefreshAllInput, TASK_QUEUE } from '../../workflows/definitions';
import { refreshAllClients } from '../../workflows';

/**
 * The workflow id of a running refresh cycle (scheduled or manual), if there is one. Visibility
 * is updated after a run closes, so what it lists as running is confirmed by describing it: a
 * cycle that has just completed does not refuse the next one for the moment visibility lags.
 */
export async function findRunningCycle(temporal: Client, taskQueue = TASK_QUEUE): Promise<string | undefined> {
  for await (const execution of temporal.workflow.list({
    query: `WorkflowType = '${refreshAllClients.name}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`,
    pageSize: 10,
  })) {
    try {
      const { status } = await temporal.workflow.getHandle(execution.workflowId).describe();
      if (status.name === 'RUNNING') return execution.workflowId;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return undefined;
}

/**
 * Starts a cycle now, outside the Schedule; returns its workflow id. An operator who asks for a
 * cycle gets every client refreshed: only scheduled cycles pass over recently fetched ones.
 */
export async function startManualCycle(
  temporal: Client,
  settings: {
    spacingMs: number;
    lookbackDays: number;
    intervalMs?: number;
    lanes?: 'auto' | number;
    maxLanes?: number;
  },
  options: { taskQueue?: string; pageSize?: number } = {},
): Promise<string> {
  const workflowId = `${REFRESH_CYCLE_WORKFLOW_ID}-manual-${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`;
  const input: RefreshAllInput = {
    trigger: 'manual',
    spacingMs: settings.spacingMs,
    lookbackDays: settings.lookbackDays,
    pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE,
    ...(settings.lanes !== undefined && settings.intervalMs !== undefined
      ? { lanes: settings.lanes, maxLanes: settings.maxLanes, intervalMs: settings.intervalMs }
      : {}),
  };
  await temporal.workflow.start(refreshAllClients, {
    workflowId,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    args: [input],
    workflowExecutionTimeout: '1d',
  });
  return workflowId;
}
