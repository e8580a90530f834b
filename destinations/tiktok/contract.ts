import { e164Phone, hashedEmail as email, REACH_THE_CEILING, refusedIdentifiers, sha256, tokenDestination } from '../emulator-kit/ads-contract.js';
import { heldCopy, type Contact, type ContractKit, type ContractShape } from '../emulator-kit/contract.js';
import { startTikTokEmulator } from './emulator.js';

/** TikTok's normalised values, written out in ads-contract.ts rather than taken from the adapter: lower-cased e-mail, E.164 phone. */
const phone = (c: Contact) => sha256(e164Phone(c));

/**
 * TikTok takes mode audience with hashed e-mails and phones. The suite syncs contacts keyed by `customer_id` with their
 * raw e-mails and phones; the audience then holds, per member (keyed by its e-mail hash), the hash of each.
 */
export const shape: ContractShape = {
  mode: 'audience',
  keyField: 'customer_id',
  fields: ['email', 'phone'],
  expected: (contacts) => new Map(contacts.map((c) => [email(c), { EMAIL_SHA256: email(c), PHONE_SHA256: phone(c) }])),
};

export const kit: ContractKit = {
  shape,
  notApplicable: {
    'mirror-delete': 'TikTok audiences have no mirror mode: members are mapped in and out (audience)',
  },
  async start(options) {
    // TikTok answers a mapping request as a whole: a refused user fails its request (40002) and the engine isolates it.
    const rejected = refusedIdentifiers(options, email);
    const emulator = await startTikTokEmulator({
      maxUsers: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      reject: rejected.size ? (user) => (user.some((e) => 'id' in e && rejected.has(e.id)) ? 'this user cannot be added' : undefined) : undefined,
    });
    return {
      destination: (o = {}) => tokenDestination('tiktok', emulator, o, 'not-the-right-token', { advertiser_id: emulator.advertiserId, ...REACH_THE_CEILING }),
      object: () => '1800000001',
      records: async (object) => heldCopy(emulator.records(object)),
      maxBatch: () => emulator.stats.maxUsersSeen,
      rateLimited: () => emulator.stats.throttled,
      close: () => emulator.close(),
    };
  },
};
