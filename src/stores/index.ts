import type { TokenKeyring } from '../crypto';
import type { Db } from '../db';
import { CacheStore } from './cache';
import { ClientStore } from './clients';
import { PlatformHoldStore } from './holds';
import { AlertStore } from './alerts';
import { EventStore } from './events';
import { MetricStore } from './metrics';
import { AppThrottleStore, RefreshStore } from './refresh';

/** Every store over one database: the one place they are made (the API's routes, the activities, the worker, npm start). */
export interface Stores {
  clients: ClientStore;
  cache: CacheStore;
  refresh: RefreshStore;
  appThrottle: AppThrottleStore;
  holds: PlatformHoldStore;
  metrics: MetricStore;
  events: EventStore;
  alerts: AlertStore;
}

/** The stores; without `tokenKeys` clients can be read but no token stored or opened. */
export function createStores(db: Db, tokenKeys?: TokenKeyring, options: { retireAfterClients?: number } = {}): Stores {
  return {
    clients: new ClientStore(db, tokenKeys),
    cache: new CacheStore(db),
    refresh: new RefreshStore(db),
    appThrottle: new AppThrottleStore(db),
    holds: new PlatformHoldStore(db),
    metrics: new MetricStore(db, options.retireAfterClients),
    events: new EventStore(db),
    alerts: new AlertStore(db, tokenKeys),
  };
}
