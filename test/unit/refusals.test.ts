import { classifyMetaError } from '../../src/meta/classify';
import {
  isDayRefusal,
  isMetricRefusal,
  isObjectGone,
  isPermissionRefusal,
  isReduceDataError,
} from '../../src/meta/refusals';

/** Meta's answer as the client classifies it, from the body Meta sends. */
const answer = (error: Record<string, unknown>, httpStatus = 400) =>
  classifyMetaError({
    httpStatus,
    body: { error: { type: 'OAuthException', fbtrace_id: 'Atrace', ...error } },
    call: 'GET /v24.0/1/insights',
  });

const PERMISSION_100 =
  "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable feature, or does not support this operation. This endpoint requires the 'pages_read_engagement' permission";
const GONE =
  "Unsupported get request. Object with ID '1' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api";

describe('what a refused insights call costs', () => {
  it.each([
    [
      '10 with a Page permission message',
      {
        code: 10,
        message:
          "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature.",
      },
      400,
    ],
    ['200 Permissions error at HTTP 403', { code: 200, message: '(#200) Permissions error' }, 403],
    ['a code 100 naming a permission', { code: 100, message: PERMISSION_100 }, 400],
  ] as const)('reads %s as a permission, not a metric or a day', (_title, error, status) => {
    const err = answer(error, status);
    expect(isPermissionRefusal(err)).toBe(true);
    expect(isMetricRefusal(err, ['page_daily_follows_unique'])).toBe(false);
    expect(isDayRefusal(err, ['page_daily_follows_unique'])).toBe(false);
    expect(isObjectGone(err)).toBe(false);
  });

  it('reads 100/33 as the object gone, although its message speaks of missing permissions', () => {
    const err = answer({ code: 100, error_subcode: 33, type: 'GraphMethodException', message: GONE });
    expect(isObjectGone(err)).toBe(true);
    expect(isPermissionRefusal(err)).toBe(false);
    expect(isDayRefusal(err, ['reach'])).toBe(false);
  });

  it.each([
    ['(#100) The value must be a valid insights metric', ['reach', 'profile_views']],
    ['(#100) metric[0] must be one of the following values: follower_count, website_clicks, views', ['impressions']],
    ["(#100) Starting from version v22.0, the metric 'impressions' is no longer supported", ['impressions', 'reach']],
  ])('marks a metric unsupported only when Meta says so: %s', (message, metrics) => {
    const err = answer({ code: 100, message });
    expect(isMetricRefusal(err, metrics)).toBe(true);
    expect(isDayRefusal(err, metrics)).toBe(false);
  });

  it.each([
    [
      'a subcode (2108006, before business account conversion)',
      { code: 100, error_subcode: 2108006, message: 'Invalid parameter' },
    ],
    [
      'a range Meta refuses',
      { code: 100, message: '(#100) There cannot be more than 30 days (2592000 s) between since and until' },
    ],
    ['a bare invalid parameter', { code: 100, message: '(#100) Invalid parameter' }],
    [
      'code 1 at HTTP 400 (a bad request)',
      { code: 1, message: 'There cannot be more than 93 days (8035200 s) between since and until' },
    ],
  ])('costs only its day on %s', (_title, error) => {
    const err = answer(error);
    expect(err.name).toBe('MetaBadRequestError');
    expect(isDayRefusal(err, ['reach', 'profile_views'])).toBe(true);
    expect(isMetricRefusal(err, ['reach', 'profile_views'])).toBe(false);
    expect(isPermissionRefusal(err)).toBe(false);
  });

  it("asks for a smaller window on Meta's (#1) reduce-the-data answer, and nothing else", () => {
    const reduce = answer(
      { code: 1, message: "Please reduce the amount of data you're asking for, then retry your request" },
      500,
    );
    expect(reduce.name).toBe('MetaTransientError');
    expect(isReduceDataError(reduce)).toBe(true);
    expect(isReduceDataError(answer({ code: 1, message: 'An unknown error occurred' }, 500))).toBe(false);
    expect(isDayRefusal(reduce, ['reach'])).toBe(false);
  });

  it('never reads a throttle, a token error or a transient error as a refusal of the numbers', () => {
    for (const error of [
      { code: 80001, message: '(#80001) There have been too many calls' },
      { code: 190, message: 'Error validating access token' },
      { code: 2, message: 'Service temporarily unavailable' },
    ]) {
      const err = answer(error);
      expect([
        isDayRefusal(err, ['reach']),
        isMetricRefusal(err, ['reach']),
        isPermissionRefusal(err),
        isObjectGone(err),
      ]).toEqual([false, false, false, false]);
    }
  });
});
