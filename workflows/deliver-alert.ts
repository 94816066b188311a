import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliverAlertInput } from './definitions';

/**
 * One event to one target (a webhook endpoint or e-mail), tried on the retry schedule until it
 * is delivered, refused (a 4xx, a refused destination) or the schedule's time is up. Started by
 * the worker's outbox with an id made of the event's and the target's, so it is sent once.
 */
export async function deliverAlert(input: DeliverAlertInput): Promise<'delivered' | 'skipped' | 'failed'> {
  const { retry, attemptTimeoutMs } = input;
  const attempt = proxyActivities<Activities>({
    // The send itself ends at WEBHOOK_TIMEOUT; the rest is two Postgres writes.
    startToCloseTimeout: attemptTimeoutMs + 15_000,
    scheduleToCloseTimeout: retry.forMs,
    retry: {
      initialInterval: retry.initialMs,
      backoffCoefficient: 2,
      maximumInterval: retry.maximumMs,
      nonRetryableErrorTypes: ['DeliveryRefused'],
    },
  });
  const close = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '1m', maximumAttempts: 20 },
  });
  try {
    return await attempt.deliverAlert(input.deliveryId);
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const reason =
      cause instanceof ApplicationFailure && cause.type === 'DeliveryRefused'
        ? cause.message
        : `not delivered within the retry schedule (${Math.round(retry.forMs / 3_600_000)} h): ${cause instanceof Error ? cause.message : String(cause)}`;
    await close.giveUpDelivery(input.deliveryId, reason);
    return 'failed';
  }
}
