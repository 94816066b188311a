/** Rules of the events the service records (README: Events). */

/** Consecutive failed refreshes before a client is `client.failing` (ALERT_FAILING_AFTER). */
export const DEFAULT_FAILING_AFTER = 3;

/** How long events are kept (EVENT_RETENTION). */
export const DEFAULT_EVENT_RETENTION_MS = 30 * 86_400_000;
