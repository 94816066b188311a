import type { Knex } from 'knex';

/**
 * Clients' timezones in the one name Intl resolves them to (`us/pacific` → `America/Los_Angeles`),
 * as the API now stores them, where Postgres knows that name: days are computed and formatters
 * kept per name, and one zone should have one.
 */
export async function up(knex: Knex): Promise<void> {
  const { rows: known } = await knex.raw<{ rows: { name: string }[] }>('select name from pg_timezone_names');
  const postgresZones = new Set(known.map((r) => r.name));
  const zones: { timezone: string }[] = await knex('clients').distinct('timezone');
  for (const { timezone } of zones) {
    let canonical: string;
    try {
      canonical = new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
    } catch {
      continue;
    }
    if (canonical !== timezone && postgresZones.has(canonical))
      await knex('clients').where({ timezone }).update({ timezone: canonical });
  }
}

/** Nothing to undo: the names before and after name the same zones. */
export async function down(): Promise<void> {}
