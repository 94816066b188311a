import type * as Api from '../../src/client';
import * as MetaErrors from '../../src/meta/errors';
import {
  CYCLE_STATUSES,
  CYCLE_TRIGGERS,
  FAILURE_TYPES,
  FACEBOOK_STATUSES,
  INSTAGRAM_STATUSES,
  METRIC_NAMES,
  METRICS,
  TOKEN_STATUSES,
  UNAVAILABLE_REASONS,
  type CycleStatus,
  type CycleTrigger,
  type FacebookStatus,
  type InstagramStatus,
  type MetricName,
  type TokenStatus,
  type UnavailableReason,
} from '../../src/domain/vocabulary';

/** `true` only when A and B are the same type; anything else fails the type check of `npm test`. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// The typed client repeats the vocabulary so a dashboard can take its one file: it must not drift.
const sameAsClient: [
  Same<Api.MetricName, MetricName>,
  Same<Api.UnavailableReason, UnavailableReason>,
  Same<Api.CycleTrigger, CycleTrigger>,
  Same<Api.CycleStatus, CycleStatus>,
  Same<Api.TokenStatus, TokenStatus>,
  Same<Api.InstagramStatus, InstagramStatus>,
  Same<Api.FacebookStatus, FacebookStatus>,
] = [true, true, true, true, true, true, true];
void sameAsClient; // checked by the compiler (npm test type-checks first), nothing to run

describe('the vocabulary', () => {
  it('lists each name once', () => {
    for (const list of [
      METRIC_NAMES,
      UNAVAILABLE_REASONS,
      CYCLE_TRIGGERS,
      CYCLE_STATUSES,
      TOKEN_STATUSES,
      INSTAGRAM_STATUSES,
      FACEBOOK_STATUSES,
      Object.values(FAILURE_TYPES),
    ]) {
      expect(new Set(list).size).toBe(list.length);
    }
    expect(METRIC_NAMES).toEqual(METRICS.map((m) => m.name));
  });

  it("names Meta's failure types after the error classes that carry them", () => {
    const names = Object.values(MetaErrors)
      .filter((value) => typeof value === 'function' && value.prototype instanceof Error)
      .map((c) => (c as { name: string }).name)
      .filter((name) => name !== 'MetaError');
    expect(names.sort()).toEqual(
      Object.values(FAILURE_TYPES)
        .filter((type) => type.startsWith('Meta'))
        .sort(),
    );
  });
});
