import type { Db } from '../src/db';
import type { Logger } from '../src/logger';

export interface ActivityDeps {
  db: Db;
  logger: Logger;
}

/** Builds the activities with their dependencies; the worker registers the returned object. */
export function createActivities({ db }: ActivityDeps) {
  return {
    /** The database clock, as an ISO string. */
    async databaseTime(): Promise<string> {
      const { rows } = await db.raw<{ rows: { now: Date }[] }>('select now() as now');
      return rows[0].now.toISOString();
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
