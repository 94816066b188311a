import { createStores, type Stores } from '../src/stores';
import type { ActivityDeps } from './types';

/** The stores every activity shares, built once per worker. */
export type ActivityStores = Stores;

export function activityStores({ db, tokenKeys }: Pick<ActivityDeps, 'db' | 'tokenKeys'>): ActivityStores {
  return createStores(db, tokenKeys);
}
