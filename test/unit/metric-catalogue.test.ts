import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as Api from '../../src/client';
import { parseMetricsSetting } from '../../src/domain/metric-settings';
import { clientsNeeded, metricPlan, type Retirement } from '../../src/domain/metric-retirement';
import { rangeCsv, rangeTotals, type MetricTotal } from '../../src/domain/totals';
import { CORE_METRICS, METRIC_NAMES, METRIC_SOURCES, METRICS, REPORT_METRICS } from '../../src/domain/vocabulary';
import { SANDBOX_METRICS } from '../../src/dev/meta-sandbox/graph';
import { insightsGroups } from '../../src/meta/metric-requests';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameTotals: Same<Api.MetricTotal, MetricTotal> = true;
void sameTotals; // checked by the compiler

describe('the metric catalogue', () => {
  it("keeps the seed's four exactly as they were", () => {
    expect(CORE_METRICS).toEqual([
      'facebookNewFollowers',
      'instagramFollowers',
      'instagramReach',
      'instagramProfileViews',
    ]);
    expect(METRICS.filter((m) => m.core).map((m) => m.graph)).toEqual([
      { edge: 'insights', metric: 'page_daily_follows_unique', period: 'day' },
      { edge: 'field', field: 'followers_count' },
      { edge: 'insights', metric: 'reach', period: 'day', metricType: 'total_value' },
      { edge: 'insights', metric: 'profile_views', period: 'day', metricType: 'total_value' },
    ]);
  });

  it('names each metric once, in the seed style, with a source and a successor of its own platform', () => {
    expect(new Set(METRIC_NAMES).size).toBe(METRIC_NAMES.length);
    for (const metric of METRICS) {
      expect(metric.name).toMatch(new RegExp(`^${metric.platform}[A-Z][A-Za-z]+$`));
      expect(METRIC_SOURCES[metric.source]).toMatch(/^https:\/\/developers\.facebook\.com\//);
      const next = (metric as { replacedBy?: string }).replacedBy;
      if (next) expect(METRICS.find((m) => m.name === next)?.platform).toBe(metric.platform);
    }
  });

  it('is what the typed client declares, metric by metric', () => {
    expect(Api.METRIC_CATALOGUE).toEqual(
      Object.fromEntries(METRICS.map((m) => [m.name, { platform: m.platform, kind: m.kind, label: m.label }])),
    );
  });

  it('puts every metric of a platform in one request per metric_type and breakdown', () => {
    const facebook = METRICS.filter((m) => m.platform === 'facebook').map((m) => m.name);
    expect(insightsGroups(facebook)).toHaveLength(1);
    const instagram = METRICS.filter((m) => m.platform === 'instagram').map((m) => m.name);
    const groups = insightsGroups(instagram);
    // follows_and_unfollows gives two numbers from one metric name.
    expect(groups.flatMap((g) => g.graphMetrics).filter((m) => m === 'follows_and_unfollows')).toHaveLength(1);
  });
});

describe('METRICS', () => {
  it('defaults to the agency report set, always with the seed four', () => {
    expect(parseMetricsSetting('')).toEqual({ metrics: REPORT_METRICS });
    expect(parseMetricsSetting('core')).toEqual({ metrics: CORE_METRICS });
    expect(parseMetricsSetting('all')).toEqual({ metrics: METRIC_NAMES });
    expect(parseMetricsSetting(' instagramLikes , facebookVideoViews ')).toEqual({
      metrics: [...CORE_METRICS, 'facebookVideoViews', 'instagramLikes'],
    });
  });

  it('names what is wrong and what it may take', () => {
    const parsed = parseMetricsSetting('report,instagramImpressions');
    expect(parsed).toEqual({ problem: expect.stringContaining('unknown metric "instagramImpressions"') });
    expect('problem' in parsed && parsed.problem).toContain('instagramViews');
  });
});

describe('retirement rules', () => {
  const retirement = (metric: 'instagramViews', replacedBy: 'instagramReach' | null): Retirement => ({
    metric,
    since: '2026-06-01',
    retiredAt: '2026-06-01T10:00:00.000Z',
    replacedBy,
    clients: 3,
    errorCode: '100',
    errorMessage: 'x',
  });

  it('never retires on one client, and asks no more than the fleet has', () => {
    expect(clientsNeeded(3, 1)).toBe(2);
    expect(clientsNeeded(3, 2)).toBe(2);
    expect(clientsNeeded(3, 500)).toBe(3);
  });

  it('keeps a retired metric (its days read retired), asks its successor, and asks neither retired nor refused ones', () => {
    const retired = new Map([['instagramViews' as const, retirement('instagramViews', null)]]);
    const plan = metricPlan(
      [...CORE_METRICS, 'instagramViews', 'instagramLikes'],
      retired,
      new Set(['instagramLikes']),
    );
    expect(plan.keep).toEqual([...CORE_METRICS, 'instagramViews', 'instagramLikes']);
    expect(plan.ask).toEqual(CORE_METRICS);
  });
});

describe('range totals', () => {
  const days = [
    { period: '2026-11-01', facebookNewFollowers: 2, instagramFollowers: 100, instagramReach: 50, instagramViews: 7 },
    {
      period: '2026-11-02',
      facebookNewFollowers: 3,
      instagramFollowers: 104,
      instagramReach: 60,
      instagramViews: null,
    },
    {
      period: '2026-11-03',
      facebookNewFollowers: null,
      instagramFollowers: null,
      instagramReach: null,
      instagramViews: null,
    },
  ];

  it('sums flows, takes the last level of stocks, and refuses to sum unique counts', () => {
    const totals = rangeTotals(
      days.slice(0, 2),
      ['facebookNewFollowers', 'instagramFollowers', 'instagramReach'],
      '2026-11-02',
    );
    expect(totals).toEqual({
      facebookNewFollowers: { kind: 'flow', value: 5, days: 2 },
      instagramFollowers: { kind: 'stock', value: 104, day: '2026-11-02' },
      instagramReach: { kind: 'unique', value: null, reason: 'not_summable' },
    });
  });

  it('says a flow missing a day is incomplete instead of summing what it has; days after today are not missing', () => {
    expect(rangeTotals(days, ['instagramViews', 'facebookNewFollowers'], '2026-11-03')).toEqual({
      instagramViews: { kind: 'flow', value: null, reason: 'incomplete', partial: 7, days: 1 },
      facebookNewFollowers: { kind: 'flow', value: null, reason: 'incomplete', partial: 5, days: 2 },
    });
    expect(rangeTotals(days, ['facebookNewFollowers'], '2026-11-02').facebookNewFollowers).toEqual({
      kind: 'flow',
      value: 5,
      days: 2,
    });
    expect(rangeTotals(days.slice(2), ['instagramFollowers'], '2026-11-03').instagramFollowers).toEqual({
      kind: 'stock',
      value: null,
      reason: 'no_data',
    });
  });

  it('writes CSV with a header, one row per day, and empty cells for missing numbers', () => {
    expect(rangeCsv(days, ['facebookNewFollowers', 'instagramViews'])).toBe(
      'period,facebookNewFollowers,instagramViews\r\n2026-11-01,2,7\r\n2026-11-02,3,\r\n2026-11-03,,\r\n',
    );
  });
});

describe('the Graph sandbox', () => {
  it('serves every insights metric of the catalogue on its platform', () => {
    for (const metric of METRICS) {
      if (metric.graph.edge !== 'insights') continue;
      expect(SANDBOX_METRICS[metric.platform === 'facebook' ? 'page' : 'instagram']).toContain(metric.graph.metric);
    }
  });
});

describe('the README', () => {
  it('lists every metric of the catalogue, with its Graph request and kind', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Metrics'), readme.indexOf('### Retired metrics'));
    for (const metric of METRICS) {
      const row = section.split('\n').find((line) => line.startsWith(`| \`${metric.name}\` |`));
      expect(row).toBeDefined();
      expect(row).toContain(metric.graph.edge === 'insights' ? metric.graph.metric : metric.graph.field);
      expect(row).toContain(`| ${metric.kind} |`);
    }
  });
});
