/** A Facebook Page (with its Instagram account, if linked) that the sandbox knows. */
export interface DemoAccount {
  name: string;
  pageId: string;
  /** The Instagram business account linked to the Page, or null. */
  igId: string | null;
  /** A Page token that reads this Page and its Instagram account. */
  token: string;
  /** The client's IANA timezone, for seeding demo clients. */
  timezone: string;
  /** What the account shows off in a demo. */
  scenario:
    | 'healthy'
    | 'no_instagram'
    | 'profile_views_unsupported'
    | 'token_expired'
    | 'instagram_quota_small'
    | 'instagram_permission_missing'
    | 'instagram_not_linked';
}

/**
 * The demo Pages and Instagram accounts. Every sandbox starts with them; `npm start` seeds
 * demo clients from this list. Instagram ids start with 1784, as Meta's do, and the sandbox
 * tells an unknown id's kind by that prefix.
 */
export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  {
    name: 'Kowalski Bakery',
    pageId: '104857600000101',
    igId: '17841400000000101',
    token: 'sandbox-page-token-kowalski-bakery',
    timezone: 'Europe/Warsaw',
    scenario: 'healthy',
  },
  {
    name: 'Lumen Photo Studio',
    pageId: '104857600000202',
    igId: '17841400000000202',
    token: 'sandbox-page-token-lumen-studio',
    timezone: 'America/New_York',
    scenario: 'healthy',
  },
  {
    name: 'Harbor Coffee',
    pageId: '104857600000303',
    igId: null,
    token: 'sandbox-page-token-harbor-coffee',
    timezone: 'Europe/London',
    scenario: 'no_instagram',
  },
  {
    name: 'Atlas Fitness',
    pageId: '104857600000404',
    igId: '17841400000000404',
    token: 'sandbox-page-token-atlas-fitness',
    timezone: 'Europe/Berlin',
    scenario: 'profile_views_unsupported',
  },
  {
    name: 'Old Mill Hotel',
    pageId: '104857600000505',
    igId: '17841400000000505',
    token: 'sandbox-page-token-old-mill-hotel',
    timezone: 'Europe/Warsaw',
    scenario: 'token_expired',
  },
  {
    name: 'Busy Bistro',
    pageId: '104857600000606',
    igId: '17841400000000606',
    token: 'sandbox-page-token-busy-bistro',
    timezone: 'Australia/Sydney',
    scenario: 'instagram_quota_small',
  },
  {
    name: 'Cedar Books',
    pageId: '104857600000707',
    igId: '17841400000000707',
    token: 'sandbox-page-token-cedar-books',
    timezone: 'Europe/Warsaw',
    scenario: 'instagram_permission_missing',
  },
  {
    name: 'Marina Yoga',
    pageId: '104857600000808',
    igId: '17841400000000808',
    token: 'sandbox-page-token-marina-yoga',
    timezone: 'Europe/Madrid',
    scenario: 'instagram_not_linked',
  },
];

/** Instagram calls per hour the `instagram_quota_small` account may make: two refreshes' worth. */
export const SMALL_INSTAGRAM_QUOTA = 6;

/** Meta's Instagram business account ids start with 1784; Pages' do not. */
export function kindOfId(id: string, accounts: readonly DemoAccount[]): 'page' | 'instagram' {
  for (const account of accounts) {
    if (account.pageId === id) return 'page';
    if (account.igId === id) return 'instagram';
  }
  return id.startsWith('1784') ? 'instagram' : 'page';
}
