import { CacheStore } from '../src/stores/cache';
import { ClientStore } from '../src/stores/clients';
import { AppThrottleStore, RefreshStore } from '../src/stores/refresh';
import type { ActivityDeps } from './types';

/** The stores every activity shares, built once per worker. */
export interface ActivityStores {
  clients: ClientStore;
  cache: CacheStore;
  refresh: RefreshStore;
  appThrottle: AppThrottleStore;
}

export function activityStores({ db, tokenKeys }: Pick<ActivityDeps, 'db' | 'tokenKeys'>): ActivityStores {
  return { clients: new ClientStore(db, tokenKeys), cache: new CacheStore(db), refresh: new RefreshStore(db), appThrottle: new AppThrottleStore(db) };
}
