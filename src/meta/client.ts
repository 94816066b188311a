import { dayIn, isCalendarDay, isTimeZone } from '../dates';
import { CORE_METRICS, metricsOf } from '../domain/vocabulary';
import {
  MetaBadRequestError,
  MetaError,
  MetaSandboxUnknownTokenError,
  MetaThrottledError,
  MetaTokenInvalidError,
} from './errors';
import { WHOLE_TOKEN_THROTTLE_CODES } from './classify';
import { DEFAULT_GRAPH_URL, GraphCalls, type MetaClientOptions } from './graph';
import { debugToken } from './debug-token';
import { fetchInstagram } from './instagram';
import { fetchPage } from './page';
import {
  DEFAULT_INSTAGRAM_PACING,
  META_HISTORY_DAYS,
  PLATFORMS,
  type FetchInsightsInput,
  type FetchPlatformsInput,
  type FetchPlatformsResult,
  type MetaClient,
  type Platform,
} from './types';

export { DEFAULT_GRAPH_URL, type MetaClientOptions } from './graph';

/** Days one fetch may cover: all of the Page history Meta keeps. */
const MAX_DAYS_PER_FETCH = META_HISTORY_DAYS.facebook + 1;

/**
 * The Meta Graph API client: for one client and a list of days, one Page insights call per
 * 90-day window and `followers_count` once, and one Instagram insights call per day, each call
 * carrying every metric asked of its platform. Facebook and
 * Instagram are fetched on their own: one platform's error never discards the other's numbers.
 */
export function createMetaClient(options: MetaClientOptions): MetaClient {
  const base = `${(options.graphUrl ?? DEFAULT_GRAPH_URL).replace(/\/+$/, '')}/${options.graphVersion}`;

  async function fetchPlatforms(input: FetchPlatformsInput): Promise<FetchPlatformsResult> {
    const days = checkInput(input);
    // A platform asks its own share of the days when the refresh gave one (each a subset of `days`).
    const daysOf = (platform: Platform): string[] => {
      const own = input.platformDays?.[platform];
      return own ? days.filter((day) => own.includes(day)) : days;
    };
    const wanted = new Set<Platform>(input.platforms ?? PLATFORMS);
    const today = dayIn(input.timezone, new Date((options.now ?? Date.now)()));
    const graph = new GraphCalls(base, options, input.accessToken, input.signal);
    const log = options.logger.child({
      facebookPageId: input.facebookPageId,
      instagramAccountId: input.instagramAccountId,
    });

    let facebook: FetchPlatformsResult['facebook'] = { status: 'not_requested' };
    if (wanted.has('facebook') && daysOf('facebook').length > 0) {
      try {
        facebook = {
          status: 'fetched',
          data: await fetchPage(
            graph,
            input.facebookPageId,
            daysOf('facebook'),
            today,
            log,
            metricsOf('facebook', input.metrics ?? CORE_METRICS),
          ),
        };
      } catch (err) {
        // A Page's permission error is the Page's (fetchPage answers it): Instagram is still fetched.
        if (endsWholeFetch(err)) throw err;
        facebook = { status: 'failed', error: err as MetaError };
        log.debug({ code: (err as MetaError).errorCode }, 'Facebook failed; Instagram is still fetched');
      }
    }

    let instagram: FetchPlatformsResult['instagram'] = { status: 'not_requested' };
    if (wanted.has('instagram') && daysOf('instagram').length > 0) {
      try {
        instagram = {
          status: 'fetched',
          data: await fetchInstagram(graph, input.instagramAccountId, daysOf('instagram'), input.timezone, log, {
            today,
            followers: input.instagramFollowers ?? true,
            pacing: input.instagramPacing ?? DEFAULT_INSTAGRAM_PACING,
            signal: input.signal,
            metrics: input.metrics,
          }),
        };
      } catch (err) {
        if (endsWholeFetch(err)) throw err;
        instagram = { status: 'failed', error: err as MetaError };
      }
    }

    const result: FetchPlatformsResult = {
      fetchedAt: new Date().toISOString(),
      days,
      facebook,
      instagram,
      usage: graph.usage,
      calls: graph.calls,
    };
    log.debug(
      {
        calls: result.calls,
        usage: result.usage,
        days: days.length,
        facebook: facebook.status,
        instagram: instagram.status,
      },
      'fetched Meta insights',
    );
    return result;
  }

  const app = options.app;
  if (!app) return { fetchPlatforms };
  return {
    fetchPlatforms,
    debugToken: ({ accessToken, signal }) =>
      debugToken(new GraphCalls(base, options, `${app.id}|${app.secret}`, signal), accessToken, options.sandbox),
  };
}

/** Errors no platform can work around: the token, the app or the caller are the problem. */
function endsWholeFetch(err: unknown): boolean {
  if (!(err instanceof MetaError)) return true;
  if (err instanceof MetaTokenInvalidError || err instanceof MetaSandboxUnknownTokenError) return true;
  return err instanceof MetaThrottledError && err.code !== undefined && WHOLE_TOKEN_THROTTLE_CODES.has(err.code);
}

/** The distinct days, sorted; throws a bad request for input no call could answer. */
function checkInput(input: FetchInsightsInput): string[] {
  const bad = (message: string) => new MetaBadRequestError(message);
  if (input.days.length === 0) throw bad('no days to fetch');
  const invalid = input.days.find((day) => !isCalendarDay(day));
  if (invalid !== undefined) throw bad(`"${invalid}" is not a day written YYYY-MM-DD`);
  const days = [...new Set(input.days)].sort();
  if (days.length > MAX_DAYS_PER_FETCH) throw bad(`at most ${MAX_DAYS_PER_FETCH} days per fetch, got ${days.length}`);
  if (!isTimeZone(input.timezone)) throw bad(`"${input.timezone}" is not an IANA timezone`);
  if (!input.facebookPageId) throw bad('no Facebook Page id');
  return days;
}
