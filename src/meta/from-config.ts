import type { Config } from '../config';
import type { TokenKeyring } from '../crypto';
import type { Logger } from '../boot/logger';
import { StartupError } from '../boot/run-main';
import { createMetaClient, DEFAULT_GRAPH_URL } from './client';
import type { MetaClient } from './types';

/**
 * The Meta client of a production process (`npm run worker`): live Meta unless META_MODE=sandbox
 * is set explicitly, and then only against the sandbox at META_GRAPH_URL (`npm run sandbox`).
 */
export function metaClientFromConfig(config: Config, logger: Logger): MetaClient {
  const mode = config.meta.mode ?? 'live';
  if (mode === 'sandbox' && !config.meta.graphUrl) {
    throw new StartupError(
      'META_MODE=sandbox needs META_GRAPH_URL, the URL of a running Graph sandbox (npm run sandbox)',
    );
  }
  if (mode === 'sandbox')
    logger.warn(
      { graphUrl: config.meta.graphUrl },
      'META_MODE=sandbox: Meta numbers come from the Graph sandbox, not Meta',
    );
  return createMetaClient({
    graphUrl: config.meta.graphUrl ?? DEFAULT_GRAPH_URL,
    graphVersion: config.meta.graphVersion,
    timeoutMs: config.meta.timeoutMs,
    logger,
    // Only a client told it talks to the sandbox reads the sandbox's unknown-token marker.
    sandbox: mode === 'sandbox',
    ...(config.meta.app ? { app: config.meta.app } : {}),
  });
}

/** TOKEN_ENCRYPTION_KEY (and TOKEN_ENCRYPTION_KEY_PREVIOUS), required wherever tokens are written or read. */
export function requireTokenKeys(config: Config): TokenKeyring {
  if (!config.tokenKeys) {
    throw new StartupError(
      'TOKEN_ENCRYPTION_KEY is required: 32 bytes as 64 hex characters (e.g. `openssl rand -hex 32`)',
    );
  }
  return config.tokenKeys;
}
