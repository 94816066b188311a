/**
 * The metrics the API shows: METRICS's choice, and the successors of those the fleet found
 * retired, with each retirement's seam. Retirements are read from Postgres at most every
 * `ttlMs` and served from memory meanwhile, so a read never waits for them after the first.
 */

import type { Logger } from '../../boot/logger';
import { metricPlan, type Retirement } from '../../domain/metric-retirement';
import type { MetricName } from '../../domain/vocabulary';
import type { MetricStore } from '../../stores/metrics';

export interface MetricsShown {
  /** Every metric a day's `data` carries, in catalogue order of METRICS then successors. */
  shown: MetricName[];
  retired: ReadonlyMap<MetricName, Retirement>;
}

export class MetricCatalogue {
  private current: MetricsShown;
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly store: MetricStore,
    private readonly enabled: readonly MetricName[],
    private readonly logger: Logger,
    private readonly ttlMs = 10_000,
  ) {
    this.current = { shown: [...enabled], retired: new Map() };
  }

  /** The metrics shown now; reloads the retirements when older than `ttlMs` (the first call waits for them). */
  async get(): Promise<MetricsShown> {
    if (Date.now() - this.loadedAt >= this.ttlMs) {
      this.loading ??= this.load().finally(() => (this.loading = undefined));
      if (this.loadedAt === 0) await this.loading;
    }
    return this.current;
  }

  /** Reads the retirements again at the next `get` (after an operator restored one). */
  invalidate(): void {
    this.loadedAt = 0;
  }

  private async load(): Promise<void> {
    try {
      const retired = await this.store.retired();
      this.current = { shown: metricPlan(this.enabled, retired).keep, retired };
      this.loadedAt = Date.now();
    } catch (err) {
      // Postgres away: the last list stays, and the next read tries again.
      this.logger.warn({ err }, 'could not read the retired metrics');
    }
  }
}
