import type { RegisteredDestination } from './destination.js';
import { braze } from './braze/adapter.js';
import { brevo } from './brevo/adapter.js';
import { file } from './file/adapter.js';
import { googleAds } from './google-ads/adapter.js';
import { klaviyo } from './klaviyo/adapter.js';
import { linkedin } from './linkedin/adapter.js';
import { mailchimp } from './mailchimp/adapter.js';
import { meta } from './meta/adapter.js';
import { hubspot } from './hubspot/adapter.js';
import { salesforce } from './salesforce/adapter.js';
import { table } from './table/adapter.js';
import { tiktok } from './tiktok/adapter.js';
import { webhook } from './webhook/adapter.js';

/**
 * Every destination type, one line each. Adding a destination:
 *  1. destinations/<type>/adapter.ts: `defineDestination({…})` — config schema, modes, limits from the API's real
 *     numbers (../shared/destinations.md), `apply` answering one outcome per record, typed errors for batch-wide
 *     failures; emulator.ts on the emulator kit, enforcing the API's contract (auth, batch size, rate-limit answers,
 *     partial-failure format);
 *  2. destinations/<type>/contract.ts exporting `kit` (a ContractKit): the shared suite in
 *     test/destination-contract.test.ts finds it by the type's name and fails when it is missing;
 *  3. one line below; the registry test counts the types;
 *  4. a row in destinations/README.md (objects, modes, batch size, rate limit, what delete means, credentials).
 */
export const DESTINATIONS: readonly RegisteredDestination[] = [webhook, file, table, braze, hubspot, mailchimp, salesforce, klaviyo, brevo, googleAds, meta, linkedin, tiktok];

export function destinationType(type: string): RegisteredDestination | undefined {
  return DESTINATIONS.find((d) => d.type === type);
}
