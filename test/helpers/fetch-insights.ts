/**
 * Both platforms of a fetch, all or nothing, as one list of days: the shape the client tests
 * assert on. The service itself uses `fetchPlatforms`, which keeps one platform's numbers when
 * the other fails; this helper throws the first platform error instead.
 */
import type { FetchInsightsInput, InstagramPacing, MetaClient, MetaUsage, MetricValue } from '../../src/meta/types';
import { PLATFORMS } from '../../src/meta/types';

/** The per-day numbers Meta keeps history for. */
export interface DayInsights {
  day: string;
  facebookNewFollowers: MetricValue;
  instagramReach: MetricValue;
  instagramProfileViews: MetricValue;
}

export interface FetchInsightsResult {
  fetchedAt: string;
  /** Instagram followers now: a point-in-time count, Meta keeps no history of it. */
  instagramFollowers: MetricValue;
  /** One entry per requested day, in the order requested. */
  days: DayInsights[];
  usage: MetaUsage;
  calls: number;
}

/** No pacing: every day is asked until Meta itself throttles. */
const UNPACED: InstagramPacing = {
  slowAbovePercent: Number.POSITIVE_INFINITY,
  stopAbovePercent: Number.POSITIVE_INFINITY,
  maxDelayMs: 0,
};

export async function fetchInsights(client: MetaClient, input: FetchInsightsInput): Promise<FetchInsightsResult> {
  const fetched = await client.fetchPlatforms({ ...input, platforms: PLATFORMS, instagramPacing: UNPACED });
  if (fetched.facebook.status !== 'fetched')
    throw fetched.facebook.status === 'failed' ? fetched.facebook.error : new Error('Facebook was not fetched');
  if (fetched.instagram.status !== 'fetched')
    throw fetched.instagram.status === 'failed' ? fetched.instagram.error : new Error('Instagram was not fetched');
  const fb = fetched.facebook.data;
  const ig = fetched.instagram.data;
  return {
    fetchedAt: fetched.fetchedAt,
    instagramFollowers: ig.followers,
    days: input.days.map((day) => ({
      day,
      facebookNewFollowers: fb.days[day]?.facebookNewFollowers ?? { value: null, reason: 'no_data' },
      instagramReach: ig.days[day].instagramReach!,
      instagramProfileViews: ig.days[day].instagramProfileViews!,
    })),
    usage: fetched.usage,
    calls: fetched.calls,
  };
}
