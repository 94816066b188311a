import { DefaultLogger, LogLevel, LogMetadata, Runtime } from '@temporalio/worker';
import type { Logger } from '../logger';

let installed = false;

/**
 * Installs the Temporal Core runtime once per process: its logs go through our pino logger,
 * its metrics to Prometheus when a port is given, and it leaves signal handling to our own
 * ordered shutdown.
 */
export function installTemporalRuntime(logger: Logger, options: { metricsPort?: number; metricsHost?: string } = {}): void {
  if (installed) return;
  installed = true;
  const forward = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[level];
    logger[method]({ ...meta, component: 'temporal' }, message);
  };
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => forward(level, message, meta)),
    shutdownSignals: [],
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'WARN' } },
      ...(options.metricsPort !== undefined
        ? { metrics: { prometheus: { bindAddress: `${options.metricsHost ?? '0.0.0.0'}:${options.metricsPort}` } } }
        : {}),
    },
  });
}
