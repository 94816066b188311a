// The worker's workflowsPath: every workflow type the task queue serves.
export { workerHealthCheck } from './health';
export { refreshAllClients } from './refresh-all';
export { refreshClient } from './refresh-client';
export { deliverAlert } from './deliver-alert';
