import { DefaultLogger, LogLevel, LogMetadata, Runtime } from '@temporalio/worker';
import type { Logger } from '../boot/logger';

let installed = false;

/**
 * The pino method for a line of Temporal's: its own level, except the workflow bundler's report
 * (webpack's whole build output, at INFO), a screenful that says nothing an operator acts on, so
 * it is debug. Its errors stay errors.
 */
export function temporalLogMethod(level: LogLevel, message: string): 'trace' | 'debug' | 'info' | 'warn' | 'error' {
  if (level === 'INFO' && /^asset |\bwebpack [\d.]+ compiled\b|^Workflow bundle created/m.test(message)) return 'debug';
  return ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[level];
}

/**
 * Installs the Temporal Core runtime once per process: its logs go through our pino logger,
 * its metrics to Prometheus when a port is given, and it leaves signal handling to our own
 * ordered shutdown.
 */
export function installTemporalRuntime(
  logger: Logger,
  options: { metricsPort?: number; metricsHost?: string } = {},
): void {
  if (installed) return;
  installed = true;
  const forward = (level: LogLevel, message: string, meta?: LogMetadata) => {
    logger[temporalLogMethod(level, message)]({ ...meta, component: 'temporal' }, message);
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
