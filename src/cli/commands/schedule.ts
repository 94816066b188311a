import { ScheduleHandle, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { REFRESH_SCHEDULE_ID } from '../../../workflows/definitions';
import { CommandSpec, PROGRAM, stringOption, Values } from '../args';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../errors';
import { formatTime } from '../output';

const scheduleIdOption = {
  'schedule-id': { type: 'string', value: 'ID', description: `the Temporal Schedule (default ${REFRESH_SCHEDULE_ID})` },
} as const;

const noteOption = {
  note: { type: 'string', value: 'TEXT', description: 'why, shown on the Schedule in the Temporal UI' },
} as const;

/** Runs `action` on the Schedule and answers with its state afterwards. */
async function onSchedule(
  ctx: CliContext,
  values: Values,
  action: (handle: ScheduleHandle) => Promise<void>,
): Promise<{ scheduleId: string; paused: boolean; note: string | null; nextRunAt: string | null }> {
  const scheduleId = stringOption(values, 'schedule-id') ?? REFRESH_SCHEDULE_ID;
  const handle = (await ctx.temporal()).schedule.getHandle(scheduleId);
  try {
    await action(handle);
    const described = await handle.describe();
    return {
      scheduleId,
      paused: described.state.paused,
      note: described.state.note ?? null,
      nextRunAt: described.info.nextActionTimes[0]?.toISOString() ?? null,
    };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) {
      throw new CliError(
        `no Schedule ${scheduleId} in namespace ${ctx.config().temporal.namespace} at ${ctx.temporalAddress()}`,
        EXIT.failure,
        'schedule_not_found',
        'a worker creates it when it starts (npm run worker, or npm start)',
      );
    }
    throw err;
  }
}

const pause: CommandSpec = {
  words: ['schedule', 'pause'],
  summary: 'Pause the refresh Schedule: no cycle starts until it is resumed',
  options: { ...noteOption, ...scheduleIdOption },
  async run(ctx, { values }) {
    const state = await onSchedule(ctx, values, (h) =>
      h.pause(stringOption(values, 'note') ?? `paused with ${PROGRAM} schedule pause`),
    );
    ctx.out.result(state, [
      `Paused Schedule ${state.scheduleId}; no cycle starts until \`${PROGRAM} schedule resume\`.`,
    ]);
  },
};

const resume: CommandSpec = {
  words: ['schedule', 'resume'],
  summary: 'Resume the refresh Schedule',
  options: { ...noteOption, ...scheduleIdOption },
  async run(ctx, { values }) {
    const state = await onSchedule(ctx, values, (h) =>
      h.unpause(stringOption(values, 'note') ?? `resumed with ${PROGRAM} schedule resume`),
    );
    ctx.out.result(state, [
      `Resumed Schedule ${state.scheduleId}.${state.nextRunAt ? ` Next cycle: ${formatTime(state.nextRunAt)}.` : ''}`,
    ]);
  },
};

const trigger: CommandSpec = {
  words: ['schedule', 'trigger'],
  summary: "Start the Schedule's cycle now; skipped when a cycle is running (overlap SKIP)",
  options: { ...scheduleIdOption },
  async run(ctx, { values }) {
    const state = await onSchedule(ctx, values, (h) => h.trigger(ScheduleOverlapPolicy.SKIP));
    ctx.out.result({ ...state, triggered: true }, [
      `Triggered Schedule ${state.scheduleId}: a cycle starts now unless one is running.`,
      `Follow it with: ${PROGRAM} status`,
    ]);
  },
};

export const scheduleCommands = [pause, resume, trigger];
