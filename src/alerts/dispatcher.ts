/**
 * The outbox of events: every worker looks for events not dispatched yet (each taken by one
 * worker, see `AlertStore.dispatch`), creates their deliveries and starts one `deliverAlert`
 * workflow per delivery, then prunes events past their retention once an hour. Events are
 * recorded by the statement that changed the state, so nothing is lost while Temporal or every
 * worker is down: they are dispatched when a worker is back.
 */

import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Logger } from '../boot/logger';
import type { Config } from '../config';
import type { AlertStore, UnstartedDelivery } from '../stores/alerts';
import type { EventStore } from '../stores/events';
import { alertDeliveryWorkflowId, TASK_QUEUE } from '../../workflows/definitions';
import { deliverAlert } from '../../workflows/deliver-alert';

export interface DispatcherDeps {
  temporal: Client;
  alerts: AlertStore;
  events: EventStore;
  logger: Logger;
  settings: Config['alerts'];
  taskQueue?: string;
}

/** Starts a delivery's workflow; one already started (by an earlier round) is the same delivery. */
async function startDelivery(deps: DispatcherDeps, delivery: UnstartedDelivery): Promise<void> {
  try {
    await deps.temporal.workflow.start(deliverAlert, {
      taskQueue: deps.taskQueue ?? TASK_QUEUE,
      workflowId: alertDeliveryWorkflowId(delivery.eventId, delivery.target),
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{ deliveryId: delivery.id, retry: deps.settings.retry, attemptTimeoutMs: deps.settings.timeoutMs }],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/**
 * Dispatches every waiting event now (in batches of 100) and starts the deliveries' workflows;
 * then starts those a crash left unstarted. How many events were dispatched.
 */
export async function dispatchEvents(deps: DispatcherDeps): Promise<number> {
  let total = 0;
  const email = deps.settings.email ? { email: { events: deps.settings.email.events } } : {};
  for (;;) {
    const { events, deliveries } = await deps.alerts.dispatch({ limit: 100, ...email });
    for (const delivery of deliveries) await startDelivery(deps, delivery);
    await deps.alerts.markStarted(deliveries.map((d) => d.id));
    total += events;
    if (events < 100) break;
  }
  const orphans = await deps.alerts.unstartedDeliveries(30_000);
  for (const delivery of orphans) await startDelivery(deps, delivery);
  await deps.alerts.markStarted(orphans.map((d) => d.id));
  return total;
}

/** Dispatches every `everyMs` and prunes hourly until the returned function stops it. */
export function dispatchEventsPeriodically(deps: DispatcherDeps, everyMs = 1_000): () => Promise<void> {
  let stopped = false;
  let lastPrune = 0;
  let warned = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      await dispatchEvents(deps);
      if (Date.now() - lastPrune > 3_600_000) {
        lastPrune = Date.now();
        const pruned = await deps.events.prune(deps.settings.eventRetentionMs);
        if (pruned) deps.logger.info({ pruned }, 'pruned events past EVENT_RETENTION');
      }
      warned = false;
    } catch (err) {
      // Temporal or Postgres away: the events wait in Postgres; one warning per outage.
      if (!warned) deps.logger.warn({ err }, 'could not dispatch events; trying again');
      warned = true;
    }
  };
  const loop = () => {
    if (stopped) return;
    running = tick().finally(() => {
      if (!stopped) timer = setTimeout(loop, everyMs);
    });
  };
  loop();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
