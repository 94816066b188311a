import {
  CLIENT_OUTCOMES,
  CYCLE_STATUSES,
  CYCLE_TRIGGERS,
  DELIVERY_STATUSES,
  EVENT_TYPES,
  FACEBOOK_STATUSES,
  HOLD_REASONS,
  INSTAGRAM_STATUSES,
  REFRESH_TRIGGERS,
  TOKEN_STATUSES,
  WEBHOOK_FORMATS,
} from '../src/domain/vocabulary';
import { createTestDatabase, TestDatabase } from './helpers/db';

describe("the database's CHECK constraints", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  /** The values a `check (column in (…))` constraint allows, as Postgres prints its definition. */
  async function allowed(constraint: string): Promise<string[]> {
    const { rows } = await database.db.raw<{ rows: { definition: string }[] }>(
      'select pg_get_constraintdef(oid) as definition from pg_constraint where conname = ?',
      [constraint],
    );
    expect(rows).toHaveLength(1);
    return [...rows[0].definition.matchAll(/'([^']*)'::text/g)].map((m) => m[1]).sort();
  }

  it('allow exactly the vocabulary the code writes', async () => {
    expect(await allowed('refresh_client_results_outcome_check')).toEqual([...CLIENT_OUTCOMES].sort());
    expect(await allowed('refresh_client_results_trigger_check')).toEqual([...REFRESH_TRIGGERS].sort());
    expect(await allowed('refresh_runs_trigger_check')).toEqual([...CYCLE_TRIGGERS].sort());
    expect(await allowed('refresh_runs_status_check')).toEqual([...CYCLE_STATUSES].sort());
    expect(await allowed('clients_token_status_check')).toEqual([...TOKEN_STATUSES].sort());
    expect(await allowed('clients_instagram_status_check')).toEqual([...INSTAGRAM_STATUSES].sort());
    expect(await allowed('clients_facebook_status_check')).toEqual([...FACEBOOK_STATUSES].sort());
    expect(await allowed('platform_holds_reason_check')).toEqual([...HOLD_REASONS].sort());
    expect(await allowed('events_type_check')).toEqual([...EVENT_TYPES].sort());
    expect(await allowed('webhook_endpoints_format_check')).toEqual([...WEBHOOK_FORMATS].sort());
    expect(await allowed('alert_deliveries_status_check')).toEqual([...DELIVERY_STATUSES].sort());
  });
});
