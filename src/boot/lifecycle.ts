import type { Logger } from './logger';

/** Stops what a process started, last started first, once, on a signal or a fatal error. */
export class Lifecycle {
  private readonly closers: { name: string; close: () => Promise<unknown> | unknown; timeoutMs: number }[] = [];
  private stopping?: Promise<void>;

  constructor(private readonly logger: Logger) {}

  /** Registers something to stop; it stops before everything registered earlier, given `timeoutMs` to do it. */
  add(name: string, close: () => Promise<unknown> | unknown, timeoutMs = 20_000): void {
    this.closers.push({ name, close, timeoutMs });
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  shutdown(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info({ reason }, 'shutting down');
      for (const { name, close, timeoutMs } of [...this.closers].reverse()) {
        try {
          await withTimeout(Promise.resolve(close()), timeoutMs, `stopping ${name}`);
          this.logger.info(`stopped ${name}`);
        } catch (err) {
          this.logger.error({ err }, `failed to stop ${name}`);
        }
      }
    })();
    return this.stopping;
  }

  /**
   * SIGINT/SIGTERM stop everything in order and exit 0; a second signal, later than 2 s after
   * the first, exits at once. (tsx and npm relay the terminal's Ctrl-C, so one press arrives twice.)
   */
  handleSignals(): void {
    let firstSignalAt = 0;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (this.isStopping) {
          if (Date.now() - firstSignalAt < 2_000) return;
          this.logger.warn(`${signal} again: exiting without waiting`);
          process.exit(130);
        }
        firstSignalAt = Date.now();
        void this.shutdown(signal).then(() => process.exit(0));
      });
    }
    // A crash still stops what was started, so no postgres or temporal process outlives us.
    const fatal = (err: unknown) => {
      this.logger.fatal({ err }, 'fatal error');
      void this.shutdown('fatal error').then(() => process.exit(1));
    };
    process.on('uncaughtException', fatal);
    process.on('unhandledRejection', fatal);
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
