import type { MetricName } from '../../client';
import { CommandSpec, PROGRAM } from '../args';
import { CliError, EXIT } from '../errors';

const list: CommandSpec = {
  words: ['metrics', 'list'],
  summary: 'List the metric catalogue: what this deployment keeps (METRICS) and what Meta retired for the fleet',
  async run(ctx) {
    const { data } = await ctx.api().getMetrics();
    ctx.out.result(data, () => [
      ...data.map(
        (m) =>
          `${m.enabled ? '●' : '○'} ${m.name.padEnd(28)} ${m.kind.padEnd(6)} ${m.status === 'retired' ? `RETIRED since ${m.since}${m.replacedBy ? `, replaced by ${m.replacedBy}` : ''}` : m.core ? 'always on' : m.enabled ? 'on' : 'off'}`,
      ),
      '',
      '● kept by this deployment, ○ not kept (set METRICS to choose).',
    ]);
  },
};

const restore: CommandSpec = {
  words: ['metrics', 'restore'],
  positionals: ['NAME'],
  summary: 'Ask a metric the fleet found retired again, from the next refresh (Meta restored it)',
  details: [`Example: ${PROGRAM} metrics restore instagramProfileViews`],
  async run(ctx, { positionals }) {
    const name = positionals[0];
    if (!name) throw new CliError('name the metric to restore', EXIT.usage, 'missing_argument');
    const { data } = await ctx.api().restoreMetric(name as MetricName);
    ctx.out.result(data, [`Restored ${data.name}: it is asked of Meta again from the next refresh.`]);
  },
};

export const metricCommands = [list, restore];
