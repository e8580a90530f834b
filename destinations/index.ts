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
 * Every destination type, one line each. Adding one is said step by step in destinations/README.md ("Writing a
 * destination"): protocol.ts (the vendor's facts, cited), adapter.ts (verbs on the kit), emulator.ts, contract.ts,
 * a line here (test/destination-registry.test.ts fails while a folder with an adapter.ts is not registered) and a row in the README's table.
 */
export const DESTINATIONS: readonly RegisteredDestination[] = [webhook, file, table, braze, hubspot, mailchimp, salesforce, klaviyo, brevo, googleAds, meta, linkedin, tiktok];

export function destinationType(type: string): RegisteredDestination | undefined {
  return DESTINATIONS.find((d) => d.type === type);
}
