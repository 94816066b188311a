import { createStores, type Stores } from '../src/stores';
import type { ActivityDeps } from './types';

/** The stores every activity shares, built once per worker. */
export type ActivityStores = Stores;

export function activityStores({
  db,
  tokenKeys,
  retireAfterClients,
}: Pick<ActivityDeps, 'db' | 'tokenKeys' | 'retireAfterClients'>): ActivityStores {
  return createStores(db, tokenKeys, { retireAfterClients });
}
