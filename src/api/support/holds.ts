import type { Client } from '../../stores/clients';
import type { PlatformHoldStore } from '../../stores/holds';

/** A platform no call may reach yet, as the API shows it. */
export interface HeldPlatform {
  platform: 'facebook' | 'instagram';
  reason: 'throttled' | 'not_accessible';
  until: string;
}

/**
 * The client's platforms a refresh would not call now (Meta's throttle estimate, a Page gone),
 * and whether that is every platform it has: a client without an Instagram account costs
 * Instagram no call, so only its Page counts. With every platform held, a forced refresh would
 * call nothing, and says when a call is possible (`availableAt`: the earliest end).
 */
export async function heldPlatforms(
  holds: PlatformHoldStore,
  client: Pick<Client, 'id' | 'instagramAccountId'>,
): Promise<{ held: HeldPlatform[]; all: boolean; availableAt?: string; throttled: boolean }> {
  const platforms = client.instagramAccountId ? ['facebook', 'instagram'] : ['facebook'];
  const held = [...(await holds.active(client.id)).values()]
    .filter((hold) => platforms.includes(hold.platform))
    .map((hold) => ({ platform: hold.platform, reason: hold.reason, until: hold.until.toISOString() }));
  const all = held.length === platforms.length;
  return {
    held,
    all,
    availableAt: held.length ? held.map((h) => h.until).sort()[0] : undefined,
    throttled: held.some((h) => h.reason === 'throttled'),
  };
}
