import { Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import {
  DEFAULT_PAGE_SIZE,
  REFRESH_CYCLE_WORKFLOW_ID,
  REFRESH_SCHEDULE_ID,
  RefreshAllInput,
  TASK_QUEUE,
} from '../../workflows/definitions';
import { refreshAllClients } from '../../workflows';

export interface RefreshScheduleSettings {
  intervalMs: number;
  spacingMs: number;
  lookbackDays: number;
  skipIfFresherMs?: number;
  pageSize?: number;
  /** REFRESH_LANES and REFRESH_MAX_LANES; absent: one lane (the pacing before lanes). */
  lanes?: 'auto' | number;
  maxLanes?: number;
  taskQueue?: string;
  scheduleId?: string;
}

/** A missed start (Temporal or the workers were down) still runs if it is at most this late. */
const CATCHUP_WINDOW_MS = 10 * 60_000;

function desired(settings: RefreshScheduleSettings) {
  const args: [RefreshAllInput] = [
    {
      trigger: 'schedule',
      spacingMs: settings.spacingMs,
      lookbackDays: settings.lookbackDays,
      ...(settings.skipIfFresherMs ? { skipIfFresherMs: settings.skipIfFresherMs } : {}),
      pageSize: settings.pageSize ?? DEFAULT_PAGE_SIZE,
      ...(settings.lanes !== undefined
        ? { lanes: settings.lanes, maxLanes: settings.maxLanes, intervalMs: settings.intervalMs }
        : {}),
    },
  ];
  return {
    spec: { intervals: [{ every: settings.intervalMs }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: refreshAllClients,
      taskQueue: settings.taskQueue ?? TASK_QUEUE,
      workflowId: REFRESH_CYCLE_WORKFLOW_ID,
      args,
      workflowExecutionTimeout: '1d',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW_MS },
  };
}

/**
 * Creates the refresh Schedule, or updates it when its interval, arguments or task queue differ
 * from the settings. Safe to call from every worker at every start.
 */
export async function ensureRefreshSchedule(
  client: Client,
  settings: RefreshScheduleSettings,
): Promise<'created' | 'updated' | 'unchanged'> {
  const scheduleId = settings.scheduleId ?? REFRESH_SCHEDULE_ID;
  const want = desired(settings);
  try {
    await client.schedule.create({ scheduleId, ...want });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const action = current.action.type === 'startWorkflow' ? current.action : undefined;
  const same =
    current.spec.intervals?.length === 1 &&
    current.spec.intervals[0].every === settings.intervalMs &&
    (current.spec.calendars?.length ?? 0) === 0 &&
    action?.workflowType === want.action.workflowType.name &&
    action?.taskQueue === want.action.taskQueue &&
    action?.workflowId === want.action.workflowId &&
    action?.workflowExecutionTimeout === 86_400_000 &&
    current.policies.catchupWindow === CATCHUP_WINDOW_MS &&
    JSON.stringify(action?.args) === JSON.stringify(want.action.args) &&
    current.policies.overlap === ScheduleOverlapPolicy.SKIP;
  if (same) return 'unchanged';
  await handle.update((previous) => ({ ...previous, ...want, state: previous.state }));
  return 'updated';
}
