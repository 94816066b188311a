export * from './types';
export * from './errors';
export { createMetaClient, DEFAULT_GRAPH_URL, type MetaClientOptions } from './client';
export { classifyMetaError, isInvalidMetricError, redactToken } from './classify';
export { emptyUsage, mergeUsage, parseUsageHeaders, retryAfterMsFromUsage } from './usage';
