/**
 * The activities of an alert's delivery (workflows/deliver-alert.ts): one attempt at a time, each
 * recorded in Postgres with its status, latency and error. What is sent (the event, the endpoint's
 * URL and secret) is read here from Postgres, never passed through the workflow's history.
 */

import { ApplicationFailure, Context } from '@temporalio/activity';
import { DestinationPolicy, judgeAttempt } from '../src/domain/alerts';
import type { Logger } from '../src/boot/logger';
import {
  AttemptAnswer,
  DestinationRefusedError,
  EmailSettings,
  postWebhook,
  sendEmail,
  webhookRequest,
} from '../src/alerts/send';
import { AlertStore, redactUrl } from '../src/stores/alerts';

/** The failure type of an attempt not to be repeated (a 4xx, a refused destination): the retry policy stops on it. */
export const DELIVERY_REFUSED = 'DeliveryRefused';

/** WEBHOOK_* and ALERT_EMAIL_* as the activities use them. */
export interface AlertSettings {
  policy: DestinationPolicy;
  timeoutMs: number;
  disableAfterMs: number;
  email?: EmailSettings;
}

export type DeliveryOutcome = 'delivered' | 'skipped' | 'failed';

export function alertActivities(alerts: AlertStore, settings: AlertSettings, logger: Logger) {
  return {
    /**
     * One attempt of a delivery. Delivered: returns. The receiver should be asked again (no
     * answer, a timeout, 5xx, 408, 429): throws a retryable failure, after `Retry-After` when the
     * receiver gave one. Not to be asked again (another 4xx, a destination the policy refuses):
     * closes the delivery `failed` and throws a non-retryable failure. A delivery found closed
     * (delivered before a crash, its endpoint disabled or removed) is not sent.
     */
    async deliverAlert(deliveryId: string): Promise<DeliveryOutcome> {
      const work = await alerts.deliveryWork(deliveryId);
      if (!work) return 'skipped';
      if (work.delivery.status !== 'pending') return work.delivery.status === 'delivered' ? 'delivered' : 'skipped';
      const { event, endpoint } = work;
      const isEmail = work.delivery.endpointId === null;
      if (!isEmail && (!endpoint || !endpoint.enabled)) {
        await alerts.closeDelivery(
          deliveryId,
          'skipped',
          endpoint ? 'the endpoint is disabled' : 'the endpoint was removed',
        );
        return 'skipped';
      }
      if (isEmail && !settings.email) {
        await alerts.closeDelivery(deliveryId, 'skipped', 'ALERT_EMAIL_TO or SMTP_URL is no longer set');
        return 'skipped';
      }
      const startedAt = new Date();
      let answer: AttemptAnswer;
      try {
        answer = endpoint
          ? await postWebhook(endpoint.url, webhookRequest(event, endpoint.format, endpoint.secret), {
              policy: settings.policy,
              timeoutMs: settings.timeoutMs,
              signal: Context.current().cancellationSignal,
            })
          : await sendEmail(event, settings.email!, settings.timeoutMs);
      } catch (err) {
        if (!(err instanceof DestinationRefusedError)) throw err;
        await alerts.recordAttempt(deliveryId, {
          startedAt,
          latencyMs: Date.now() - startedAt.getTime(),
          statusCode: null,
          error: err.message,
          delivered: false,
        });
        await alerts.closeDelivery(deliveryId, 'failed', err.message);
        logger.warn({ deliveryId, eventType: event.type, error: err.message }, 'webhook destination refused');
        throw ApplicationFailure.create({ type: DELIVERY_REFUSED, message: err.message, nonRetryable: true });
      }
      const verdict = judgeAttempt(answer);
      const attempt = await alerts.recordAttempt(deliveryId, {
        startedAt,
        latencyMs: answer.latencyMs,
        statusCode: 'status' in answer ? answer.status : null,
        error: verdict.verdict === 'delivered' ? null : verdict.reason,
        delivered: verdict.verdict === 'delivered',
      });
      const where = endpoint ? redactUrl(endpoint.url) : 'e-mail';
      if (verdict.verdict === 'delivered') {
        logger.info({ deliveryId, eventType: event.type, to: where, attempt }, 'alert delivered');
        return 'delivered';
      }
      if (endpoint && (await alerts.disableIfFailing(endpoint.id, settings.disableAfterMs))) {
        await alerts.closeDelivery(deliveryId, 'failed', `${verdict.reason}; the endpoint is now disabled`);
        logger.warn(
          { endpointId: endpoint.id, to: where },
          'webhook endpoint disabled: every delivery failed for too long',
        );
        return 'failed';
      }
      if (verdict.verdict === 'give_up') {
        await alerts.closeDelivery(deliveryId, 'failed', verdict.reason);
        logger.warn({ deliveryId, eventType: event.type, to: where, error: verdict.reason }, 'alert not delivered');
        throw ApplicationFailure.create({ type: DELIVERY_REFUSED, message: verdict.reason, nonRetryable: true });
      }
      logger.info({ deliveryId, to: where, attempt, error: verdict.reason }, 'alert attempt failed; retrying');
      throw ApplicationFailure.create({
        type: 'DeliveryFailed',
        message: verdict.reason,
        ...(verdict.afterMs !== undefined ? { nextRetryDelay: verdict.afterMs } : {}),
      });
    },

    /** Closes a delivery the retries gave up on (the schedule ran out); a closed one stays as it is. */
    async giveUpDelivery(deliveryId: string, reason: string): Promise<void> {
      await alerts.closeDelivery(deliveryId, 'failed', reason);
    },
  };
}
