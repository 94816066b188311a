import { STORED_PROBLEM_BITS, STORED_SCOPES } from '../../migrations/20270104090000_client_activity_fleet_columns';
import { INSTAGRAM_SCOPES, PAGE_SCOPES } from '../../src/domain/token-lifecycle';
import { PROBLEM_ORDER } from '../../src/stores/status';

// client_activity.problems is computed in Postgres by a migration, which cannot read the store's
// rules: these fail when the store's order of problems or the token's required scopes move on
// without a migration that recomputes the stored bits.
describe('the problems client_activity stores', () => {
  it.each(Object.entries(STORED_PROBLEM_BITS))('keeps %s at the bit the status store reads it from', (kind, stored) => {
    expect(1 << PROBLEM_ORDER.indexOf(kind as (typeof PROBLEM_ORDER)[number])).toBe(stored);
  });

  it('asks for the scopes a token needs today', () => {
    expect(STORED_SCOPES).toEqual({ page: [...PAGE_SCOPES], instagram: [...INSTAGRAM_SCOPES] });
  });
});
