/**
 * What one refresh attempt ends with, and what it knows on the way. The two activities that run
 * the refresh map an outcome to their own terms: an ApplicationFailure, or a value.
 */

import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from '../src/boot/logger';
import type { MetaClient, MetricName, Platform } from '../src/meta/types';
import type { CacheEntry } from '../src/stores/cache';
import type { ClientCredentials } from '../src/stores/clients';
import type { ActivityStores } from './stores';
import type { MetaFailureDetails, RefreshInsightsInput, RefreshInsightsResult } from './types';

/** Why a refresh did not end with a result, as both activities report it. */
export interface Refusal {
  /** The error's class name (the ApplicationFailure's type). */
  errorType: string;
  errorCode: string;
  message: string;
  attempt: number;
  appThrottledForMs?: number;
}

export type RefreshOutcome =
  | { kind: 'done'; result: RefreshInsightsResult }
  | ({ kind: 'wait'; afterMs: number } & Refusal)
  | ({ kind: 'failed' } & Refusal);

export interface RefreshDeps {
  logger: Logger;
  meta: MetaClient;
  stores: ActivityStores;
  /** The first wait after a throttle without Meta's estimate (see ActivityDeps). */
  throttleBackoffMs: number;
  heartbeatIntervalMs: number;
  backfillDays: number;
  /** METRICS: the metrics kept, in catalogue order. */
  metrics: readonly MetricName[];
}

/** What one refresh attempt knows once it has its client and its days. */
export interface RefreshRun {
  input: RefreshInsightsInput;
  attempt: number;
  /** 1 for the first fetch, 2 for a platform's retry. */
  round: number;
  credentials: ClientCredentials;
  today: string;
  days: string[];
  /** The platforms this attempt asks Meta (those wanted, less those a hold keeps back). */
  platforms: Platform[];
  /** Per platform, the days it asks. */
  platformDays: Record<Platform, string[]>;
  /** The days' rows as read before the fetch. */
  rows: ReadonlyMap<string, CacheEntry>;
  /** The metrics kept (METRICS, and the successors of retired ones) and those asked of Meta. */
  metrics: { keep: MetricName[]; ask: MetricName[] };
}

/** A retryable failure without a wait: Temporal's retry policy (regular or local) asks again soon. */
export function retrySoon(refusal: Refusal): ApplicationFailure {
  return ApplicationFailure.create({
    type: refusal.errorType,
    message: refusal.message,
    details: [failureDetails(refusal)],
  });
}

/** What a refusal leaves in an ApplicationFailure's details (no token, no data). */
export function failureDetails(refusal: Refusal): MetaFailureDetails {
  return {
    code: refusal.errorCode,
    attempt: refusal.attempt,
    ...(refusal.appThrottledForMs !== undefined ? { appThrottledForMs: refusal.appThrottledForMs } : {}),
  };
}

/**
 * A refusal as the regular activity reports it: a wait is a retryable failure whose
 * `nextRetryDelay` is the wait (Temporal sleeps it between attempts); a failure is non-retryable.
 * Both are named after the error class, which the workflows' retry policy reads.
 */
export function asApplicationFailure(outcome: Exclude<RefreshOutcome, { kind: 'done' }>): ApplicationFailure {
  return ApplicationFailure.create({
    type: outcome.errorType,
    message: outcome.message,
    nonRetryable: outcome.kind === 'failed',
    nextRetryDelay: outcome.kind === 'wait' ? outcome.afterMs : undefined,
    details: [failureDetails(outcome)],
  });
}
