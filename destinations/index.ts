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
 * Every destination type, one line each. Adding one (destinations/README.md, "Writing a destination", says each
 * step): a folder destinations/<type>/ (`-` for `_`) of protocol.ts (the vendor's facts, cited), adapter.ts
 * (`defineDestination`, verbs on the kit), emulator.ts and contract.ts (the shared suite's `kit`); then its line here,
 * a row in the README's table and `npm run docs`. The line brings it into every suite: test/destination-registry.test.ts
 * checks the entry and fails while a folder with an adapter.ts is unregistered or a type has no row,
 * test/destination-contract*.test.ts run the shared suite against its emulator (and fail without a `kit`), and
 * docs/reference.md must have its section. test/checklists.test.ts follows these steps with a throwaway destination.
 */
export const DESTINATIONS: readonly RegisteredDestination[] = [webhook, file, table, braze, hubspot, mailchimp, salesforce, klaviyo, brevo, googleAds, meta, linkedin, tiktok];

export function destinationType(type: string): RegisteredDestination | undefined {
  return DESTINATIONS.find((d) => d.type === type);
}
