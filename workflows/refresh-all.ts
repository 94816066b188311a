import {
  allHandlersFinished,
  CancellationScope,
  ChildWorkflowHandle,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities, ClientResultInput, ClientsPage } from '../activities';
import {
  CLIENT_ID_SEARCH_ATTRIBUTE,
  clientRefreshWorkflowId,
  completeTotals,
  CycleProgress,
  DEFAULT_PAGE_SIZE,
  progressQuery,
  RefreshAllInput,
  RefreshTotals,
} from './definitions';
import { refreshClient } from './refresh-client';
import { DEFAULT_MAX_LANES, lanesAtUsage, lanesFor } from '../src/domain/lanes';

const { startCycle, finishCycle, listClientsPage, recordClientResults, recordCycleProgress, countCycleResults } =
  proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    // Database activities ride out a Postgres restart.
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
  });

/** Above this share of the app-level budget (X-App-Usage), the spacing between clients stretches. */
const USAGE_STRETCH_THRESHOLD = 75;

/**
 * The coarsest durable timer a cycle must live with: a Temporal server with default settings
 * fires timers about a second late (measured on the dev server: a 10 ms `sleep` took 1.01 s).
 * One timer per child below this would make a cycle of 120 clients at 10 ms take 121 s.
 */
export const TIMER_RESOLUTION_MS = 1_000;

/** The longest a cycle waits, after its last start, for its clients' results before it ends anyway. */
const RESULTS_DEADLINE_MS = 30 * 60_000;

/** The pause before the next child: the spacing, stretched when Meta's app usage is high, or Meta's wait. */
export function nextSpacing(spacingMs: number, appPercent: number | undefined, msUntilAllowed: number): number {
  let delay = spacingMs;
  if (appPercent !== undefined && appPercent > USAGE_STRETCH_THRESHOLD) {
    // 80 % → ×2, 95 % → ×5 of the spacing (at least one second).
    delay = Math.max(spacingMs, 1_000) * (1 + (appPercent - USAGE_STRETCH_THRESHOLD) / 5);
  }
  return Math.round(Math.max(delay, msUntilAllowed));
}

/**
 * How children are paced for a spacing: from TIMER_RESOLUTION_MS up, one child per timer of
 * exactly the spacing; below it, `perTimer` children start together and the timer between two
 * groups is `perTimer × spacing`, so the average spacing holds whatever the timers' resolution;
 * at 0, a whole page starts at once.
 */
export function pacing(spacingMs: number, lanes = 1): { perTimer: number; timerMs: number } {
  if (spacingMs <= 0) return { perTimer: Number.POSITIVE_INFINITY, timerMs: 0 };
  // Each lane starts one client per spacing: `lanes` lanes start `lanes` times as many per timer.
  if (spacingMs >= TIMER_RESOLUTION_MS) return { perTimer: lanes, timerMs: spacingMs };
  const perTimer = Math.ceil(TIMER_RESOLUTION_MS / spacingMs);
  return { perTimer: perTimer * lanes, timerMs: perTimer * spacingMs };
}

/**
 * When the group about to start counts as started. One lane as always: now. On lanes, when it
 * was due (its timer's firing), if that is less than one timer ago: the time a workflow task
 * takes to run after its timer fired (and a slow start) then comes out of the next timer
 * instead of adding up over a cycle's hundreds of groups (35 s of 710 in the capacity case);
 * later than that (a page read, Meta's wait), the lanes resume from now, without a burst.
 */
export function groupStart(state: { lanes?: number; groupDueAt?: number }, timerMs: number): number {
  const now = Date.now();
  if (state.lanes === undefined || state.groupDueAt === undefined) return now;
  return now - state.groupDueAt < timerMs ? Math.min(now, state.groupDueAt) : now;
}

/**
 * One refresh cycle: visits every client with a Meta token page by page, starting one child
 * workflow per client with a durable timer between starts, then continues as new with a cursor
 * and running totals after each full page, so no run's history grows large.
 */
export async function refreshAllClients(input: RefreshAllInput): Promise<RefreshTotals> {
  const info = workflowInfo();
  const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
  // The query answers from the first moment, before the cycle's row exists.
  const totals: RefreshTotals = completeTotals(input.state?.totals);
  const progress = {
    cycleId: input.state?.cycleId ?? null,
    currentClientId: null as string | null,
    currentSpacingMs: input.spacingMs,
    started: input.state?.started ?? 0,
    lanes: input.state?.lanes ?? 1,
    needsMs: input.state?.needsMs,
    fits: input.state?.fits,
  };
  setHandler(progressQuery, (): CycleProgress => ({
    cycleId: progress.cycleId,
    trigger: input.trigger,
    ...totals,
    // The cycle knows what it started; its children's outcomes are in Postgres.
    done: progress.started + totals.skippedTokenInvalid + totals.skippedFresh + totals.alreadyRunning,
    started: progress.started,
    currentClientId: progress.currentClientId,
    currentSpacingMs: progress.currentSpacingMs,
    lanes: progress.lanes,
    ...(progress.needsMs !== undefined ? { needsMs: progress.needsMs, fits: progress.fits } : {}),
  }));
  let state: NonNullable<RefreshAllInput['state']>;
  if (input.state) {
    state = { ...input.state, totals };
  } else {
    const { cycleId, total } = await startCycle({ workflowId: info.workflowId, trigger: input.trigger });
    totals.total = total;
    state = { cycleId, cursor: null, totals, startedAny: false };
    // Cycles started with lane settings fit the fleet in the interval (README: Scaling).
    if (input.lanes !== undefined && input.intervalMs !== undefined) {
      const plan = lanesFor({
        clients: total,
        spacingMs: input.spacingMs,
        intervalMs: input.intervalMs,
        setting: input.lanes,
        maxLanes: input.maxLanes ?? DEFAULT_MAX_LANES,
      });
      state.lanes = plan.lanes;
      state.needsMs = progress.needsMs = plan.needsMs;
      state.fits = progress.fits = plan.fits;
      // Shown at once: the status says from the start whether the fleet fits the interval.
      await recordCycleProgress({
        cycleId,
        trigger: input.trigger,
        started: 0,
        startedClients: [],
        currentClientId: null,
        currentSpacingMs: input.spacingMs,
        lanes: plan.lanes,
        needsMs: plan.needsMs,
        intervalMs: input.intervalMs,
        fits: plan.fits,
      });
    }
  }
  progress.lanes = state.lanes ?? 1;
  progress.cycleId = state.cycleId;

  const childTrigger = input.trigger === 'schedule' ? 'schedule' : 'manual';
  const lastPageResults: Promise<void>[] = [];
  try {
    for (;;) {
      const listed: ClientsPage | ClientsPage['clients'] = await listClientsPage({
        afterId: state.cursor,
        limit: pageSize,
      });
      // Histories recorded before a page carried Meta's app usage hold the clients alone.
      const {
        clients: page,
        appPercent,
        throttledUntil,
      } = Array.isArray(listed) ? { clients: listed, appPercent: undefined, throttledUntil: undefined } : listed;
      // The page's pace: its starts stretch while Meta's app usage is high, and wait out an app-level throttle.
      state.lastAppPercent = appPercent;
      state.notBefore = throttledUntil ? Date.parse(throttledUntil) : undefined;
      const lastPage = page.length < pageSize;
      const startedHere: { clientId: string; workflowId: string; startedAt: string }[] = [];
      const recordedHere: ClientResultInput[] = [];
      const now = () => new Date(Date.now()).toISOString();

      // Starts of the current group, acknowledged by the server before the next timer.
      let groupStarts: Promise<void>[] = [];
      const start = async (client: { id: string }, base: Omit<ClientResultInput, 'outcome' | 'startedAt'>) => {
        let child: ChildWorkflowHandle<typeof refreshClient>;
        try {
          child = await startChild(refreshClient, {
            workflowId: base.workflowId,
            args: [
              { clientId: client.id, trigger: childTrigger, lookbackDays: input.lookbackDays, cycleId: state.cycleId },
            ],
            typedSearchAttributes: [{ key: CLIENT_ID_SEARCH_ATTRIBUTE, value: client.id }],
            // A refresh in flight finishes even if the cycle is terminated.
            parentClosePolicy: ParentClosePolicy.ABANDON,
            workflowExecutionTimeout: '3h',
          });
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          totals.alreadyRunning += 1;
          recordedHere.push({ ...base, outcome: 'already_running', startedAt: now() });
          return;
        }
        state.started = ++progress.started;
        // The child records its own result; only the last page's children are waited for, as the
        // cheapest sign that the cycle's end is near.
        startedHere.push({ clientId: client.id, workflowId: base.workflowId, startedAt: now() });
        if (lastPage)
          lastPageResults.push(
            child.result().then(
              () => undefined,
              () => undefined,
            ),
          );
      };

      for (const client of page) {
        state.cursor = client.id;
        const workflowId = clientRefreshWorkflowId(client.id);
        const base = {
          cycleId: state.cycleId,
          clientId: client.id,
          workflowId,
          trigger: childTrigger,
          attempts: 0,
        } as const;
        if (client.tokenStatus === 'invalid') {
          totals.skippedTokenInvalid += 1;
          recordedHere.push({
            ...base,
            outcome: 'skipped_token_invalid',
            errorCode: 'token_invalid',
            startedAt: now(),
          });
          continue;
        }
        // Numbers fetched moments before (an on-demand refresh a dashboard started) are not
        // fetched again: Meta's quota is spent once. A cycle started without a threshold skips nothing.
        if (
          input.skipIfFresherMs &&
          client.lastFetchedAt &&
          Date.now() - Date.parse(client.lastFetchedAt) < input.skipIfFresherMs
        ) {
          totals.skippedFresh += 1;
          recordedHere.push({ ...base, outcome: 'skipped_fresh', startedAt: now() });
          continue;
        }
        const untilAllowed = (state.notBefore ?? 0) - Date.now();
        // High app usage removes lanes first; the spacing stretches only on the last lane.
        const usage = lanesAtUsage(state.lanes ?? 1, state.lastAppPercent);
        progress.lanes = usage.lanes;
        const delay = nextSpacing(input.spacingMs, usage.stretch ? state.lastAppPercent : undefined, untilAllowed);
        const group = pacing(delay, usage.lanes);
        if (state.startedAny && (untilAllowed > 0 || (state.startedInGroup ?? 0) >= group.perTimer)) {
          progress.currentSpacingMs = delay;
          // Meta's wait is waited as it is; a spacing is waited once per group.
          const timerMs = untilAllowed > 0 ? delay : group.timerMs;
          // The timer starts with the group's starts, so the server's time to start them is
          // inside the spacing rather than added to it (20 starts took ~0.4 s per group). A
          // group's timer also counts the time already spent since the group started, which is
          // the wait for a page's starts before continue-as-new.
          const spent = untilAllowed <= 0 && group.perTimer > 1 ? Date.now() - (state.groupStartedAt ?? Date.now()) : 0;
          const remaining = Math.max(0, timerMs - spent);
          // On lanes, the next group is due when this timer fires, however late its task runs.
          if (state.lanes !== undefined)
            state.groupDueAt = untilAllowed <= 0 ? (state.groupStartedAt ?? Date.now()) + timerMs : undefined;
          await Promise.all([remaining > 0 ? sleep(remaining) : undefined, ...groupStarts]);
          groupStarts = [];
          state.startedInGroup = 0;
        }
        state.startedAny = true;
        if (!state.startedInGroup) state.groupStartedAt = groupStart(state, group.timerMs);
        state.startedInGroup = (state.startedInGroup ?? 0) + 1;
        progress.currentClientId = client.id;
        groupStarts.push(start(client, base));
      }
      await Promise.all(groupStarts);
      if (recordedHere.length) await recordClientResults(recordedHere);
      await recordCycleProgress({
        cycleId: state.cycleId,
        trigger: input.trigger,
        started: progress.started,
        startedClients: startedHere,
        currentClientId: progress.currentClientId,
        currentSpacingMs: progress.currentSpacingMs,
        ...(state.lanes !== undefined ? { lanes: progress.lanes } : {}),
      });
      progress.currentClientId = null;
      if (page.length < pageSize) break;
      // Children do not carry over continue-as-new: they run on, abandoned, and record their own results.
      await condition(allHandlersFinished);
      return await continueAsNew<typeof refreshAllClients>({ ...input, state });
    }
    // Every started client is `running` until its refresh reports (`pending` while Meta makes it
    // wait). The last page's children usually end first: their completions arrive here at no
    // cost; a child Meta holds back is waited for only until the next look at Postgres.
    const deadline = Date.now() + RESULTS_DEADLINE_MS;
    for (let delay = 2_000; ; delay = Math.min(delay * 2, 60_000)) {
      const wait = Math.max(0, Math.min(delay, deadline - Date.now()));
      if (lastPageResults.length) {
        const scope = new CancellationScope();
        const timer = scope.run(() => sleep(wait)).catch(() => undefined);
        await Promise.race([Promise.all(lastPageResults.splice(0)), timer]);
        scope.cancel();
      }
      // Looked at first: with no child on the last page (a page count that is a multiple of the
      // page size), the earlier pages' children have usually all reported by now.
      const { running } = await countCycleResults({ cycleId: state.cycleId });
      if (running === 0 || Date.now() >= deadline) break;
      if (!lastPageResults.length && wait > 0) await sleep(wait);
    }
    return await finishCycle({ cycleId: state.cycleId, status: 'completed' });
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() =>
        finishCycle({ cycleId: state.cycleId, totals, status: 'cancelled' }),
      );
    } else if (!(err instanceof ContinueAsNew)) {
      await finishCycle({ cycleId: state.cycleId, totals, status: 'failed', error: String(err) });
    }
    throw err;
  }
}
