import { createHash } from 'node:crypto';
import { contact, SUITE_RETRIES, type Contact, type ContractOptions, type DestinationOptions } from './contract.js';

/**
 * What the contract kits of the ads audience destinations (Google, Meta, LinkedIn, TikTok) share: the hashes they
 * expect, written out here rather than taken from the adapters (a test that used the adapter's normaliser would
 * check nothing), and their destination entry.
 */

/** SHA-256 hex of UTF-8 text, as the platforms take identifiers. */
export const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** A contact's e-mail trimmed and lower-cased, hashed (LinkedIn, TikTok, Meta). */
export const hashedEmail = (c: Contact): string => sha256(c.email!.trim().toLowerCase());

/** A contact's phone in E.164 with its `+` (Google, TikTok). */
export const e164Phone = (c: Contact): string => `+${c.phone!.replace(/\D/g, '')}`;

/** The contacts a case wants refused (`rejectKeys`), as the identifier the platform receives (`identify`). */
export function refusedIdentifiers(options: ContractOptions, identify: (contact: Contact) => string): Set<string> {
  return new Set((options.rejectKeys ?? []).map((k) => identify(contact(Number(k)))));
}

/**
 * Above the suite's emulator ceiling (20/s), with requests enough in flight to reach it on a loaded machine, so that
 * its throttling answers are met and waited out (for a destination whose own pace is below the ceiling).
 */
export const REACH_THE_CEILING = { requests_per_second: 100, concurrency: 8 } as const;

/**
 * The entry of an ads destination that authenticates with an access token: the emulator's endpoint and token (or
 * `wrongToken` for the auth case), the case's batch size, quick retries; `extra`: the destination's own keys.
 */
export function tokenDestination(type: string, emulator: { readonly endpoint: string; readonly accessToken: string }, o: DestinationOptions, wrongToken: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type,
    endpoint: emulator.endpoint,
    access_token: o.badCredentials ? wrongToken : emulator.accessToken,
    ...(o.batchSize ? { batch_size: o.batchSize } : {}),
    ...extra,
    retries: SUITE_RETRIES,
  };
}
