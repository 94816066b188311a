/**
 * The contract between processes: task queue, workflow types and ids, signals, queries and
 * the shapes that cross them. The API, worker, CLI and tests import it; it imports nothing
 * that is not deterministic.
 */

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The one task queue every worker of this service polls. */
export const TASK_QUEUE = 'social-media-cache';

/** Result of the worker health-check workflow. */
export interface WorkerHealth {
  /** The database's clock, read by an activity: proves a worker and Postgres both answer. */
  databaseTime: string;
}

/** Set on every client refresh, so the Web UI and CLI find a client's runs (`ClientId = "…"`). */
export const CLIENT_ID_SEARCH_ATTRIBUTE = defineSearchAttributeKey('ClientId', SearchAttributeType.KEYWORD);
