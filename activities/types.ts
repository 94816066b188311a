/**
 * The activities' contract as the workflows see them: inputs, results and failure details.
 * Types only: the workflow bundle imports them.
 */

import type { Db } from '../src/db';
import type { TokenKeyring } from '../src/crypto';
import type { Logger } from '../src/boot/logger';
import type { MetaClient, MetricName, Platform } from '../src/meta/types';
import type { ClientOutcome, RefreshTrigger } from '../workflows/definitions';

export interface ActivityDeps {
  db: Db;
  logger: Logger;
  meta: MetaClient;
  /** TOKEN_ENCRYPTION_KEY (and _PREVIOUS): activities are the only place tokens are decrypted. */
  tokenKeys?: TokenKeyring;
  /**
   * First wait after a throttle that came without Meta's estimate; it doubles per attempt up to
   * 30 minutes. Meta asks callers to stop calling while throttled, so it is minutes, not seconds.
   */
  throttleBackoffMs?: number;
  /** How often a running refresh tells Temporal it is alive. */
  heartbeatIntervalMs?: number;
  /** BACKFILL_DAYS: the days asked again when a client's Instagram comes back (permission granted, account relinked). */
  backfillDays?: number;
  /** METRICS: the metrics kept, in catalogue order; default the seed's four. */
  metrics?: readonly MetricName[];
  /** METRIC_RETIRE_AFTER_CLIENTS: distinct clients Meta refuses a metric for before the fleet retires it. */
  retireAfterClients?: number;
  /** ALERT_FAILING_AFTER: consecutive failed refreshes before a client is `client.failing`. */
  failingAfter?: number;
  /** WEBHOOK_* and ALERT_EMAIL_TO/SMTP_URL: where and how alerts are delivered. */
  alerts?: import('./alerts').AlertSettings;
}

/** What a failed Meta attempt leaves in the ApplicationFailure's details (no token, no data). */
export interface MetaFailureDetails {
  code: string;
  attempt: number;
  appThrottledForMs?: number;
}

/** The input of `refreshClientInsights`; no token, ever. */
export interface RefreshInsightsInput {
  clientId: string;
  lookbackDays: number;
  /**
   * Set by workflows that retry one platform themselves: when one platform was written and
   * another failed in a way worth retrying, the activity returns `retry` instead of throwing.
   * Unset (workflows started before the change), any failure throws, as it used to.
   */
  perPlatform?: boolean;
  /** The platforms to fetch; absent: both. */
  platforms?: Platform[];
  /** 1 for the first fetch, 2 for the retry of a platform (doubles the backoff without an estimate). */
  round?: number;
  /** The cycle the refresh belongs to: a wait on Meta past PENDING_AFTER_MS is recorded there as `pending`. */
  cycleId?: string;
  trigger?: RefreshTrigger;
  /** Days to fetch besides the lookback (a backfill, days a read found missing), `YYYY-MM-DD` in the client's timezone. */
  days?: string[];
  /**
   * A platform's retry: the days each platform still owes (those an error left, never those it
   * answered). Set, it replaces `lookbackDays` and `days`.
   */
  platformDays?: Partial<Record<Platform, string[]>>;
  /** Attempts the workflow already made (waits it slept out), added to this attempt's number. */
  attemptOffset?: number;
  /**
   * For a workflow's first local step: when its run started. A step run again because its
   * workflow task was lost finds its own writes after that time and does not call Meta twice.
   */
  runStartedAt?: string;
  /**
   * Revision 2's local step: what the refresh's record needs. A step whose outcome is final (done,
   * nothing to retry, no days deferred or to follow) records it, as the workflow would, and says so.
   */
  record?: StepRecordInput;
}

/** The workflow's part of a refresh's record, handed to the step that may write it. */
export interface StepRecordInput {
  cycleId: string | null;
  trigger: RefreshTrigger;
  workflowId: string;
  temporalRunId: string;
  /** The workflow's start, ISO: `durationMs` is counted from it. */
  startedAt: string;
  /**
   * A step that ended later than this after it was scheduled records nothing: its workflow task may
   * have been heartbeated meanwhile, which brings signals (and their days) mid-step.
   */
  withinMs: number;
  /** Attempts the refresh spent before this fetch (a platform's retry): added to the step's. */
  attemptsBefore?: number;
}

/**
 * What `refreshStep` tells the workflow: the refresh's result; a wait Meta asked for (the
 * workflow sleeps it on a durable timer and asks again); or a failure retrying cannot mend.
 */
export type RefreshStep =
  | { kind: 'done'; result: RefreshInsightsResult; recorded?: true }
  | { kind: 'wait'; afterMs: number; errorCode: string; message: string; attempt: number; appThrottledForMs?: number }
  | {
      kind: 'failed';
      errorCode: string;
      errorType: string;
      message: string;
      attempt: number;
      appThrottledForMs?: number;
    };

export interface RefreshInsightsResult {
  /** `failed`: a platform failed for good while the other was written (see `errorCode`). */
  outcome: Extract<ClientOutcome, 'refreshed' | 'skipped_token_invalid' | 'failed'>;
  attempt: number;
  daysWritten: number;
  calls: number;
  appPercent?: number;
  /** Set while Meta throttles the whole app: ms until calls may go out again. */
  appThrottledForMs?: number;
  /** Platforms written by this call. */
  written?: Platform[];
  /**
   * Platforms to fetch again after `afterMs` (a throttle or a transient error on them alone, or a
   * short hold), with the days each still owes.
   */
  retry?: {
    platforms: Platform[];
    afterMs: number;
    errorCode: string;
    message: string;
    platformDays?: Partial<Record<Platform, string[]>>;
  };
  /** With outcome `failed`: the error of the platform that failed for good. */
  errorCode?: string;
  message?: string;
  /** Instagram days left for later because the account's budget neared its end, and when to ask them. */
  deferred?: { days: string[]; afterMs: number };
  /** Days to fetch next (BACKFILL_DAYS after the client's Instagram came back). */
  followUpDays?: string[];
}

export interface ClientResultInput {
  cycleId: string | null;
  clientId: string;
  workflowId: string;
  trigger: RefreshTrigger;
  outcome: ClientOutcome;
  errorCode?: string | null;
  errorMessage?: string | null;
  attempts: number;
  startedAt: string;
  durationMs?: number | null;
  temporalRunId?: string | null;
}
