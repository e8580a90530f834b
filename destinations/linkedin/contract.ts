import { hashedEmail as hashOf, REACH_THE_CEILING, refusedIdentifiers, tokenDestination } from '../emulator-kit/ads-contract.js';
import { heldCopy, type ContractKit, type ContractShape } from '../emulator-kit/contract.js';
import { startLinkedInEmulator } from './emulator.js';

/**
 * LinkedIn takes mode audience with hashed e-mails only (SHA256_EMAIL: `hashOf`, the SHA-256 of the trimmed,
 * lower-cased address, written out in ads-contract.ts rather than taken from the adapter). The suite syncs contacts keyed by
 * `customer_id` with their raw e-mails; the segment then holds, per member keyed by the hash, `{SHA256_EMAIL}`. A
 * changed contact is one whose e-mail changed: the old hash must leave the segment.
 */
export const shape: ContractShape = {
  mode: 'audience',
  keyField: 'customer_id',
  fields: ['email'],
  expected: (contacts) => new Map(contacts.map((c) => [hashOf(c), { SHA256_EMAIL: hashOf(c) }])),
  change: (c) => ({ ...c, email: ` Renamed${c.id}@Example.COM` }),
};

export const kit: ContractKit = {
  shape,
  notApplicable: {
    'mirror-delete': 'LinkedIn segments have no mirror mode: members are added and removed (audience)',
  },
  async start(options) {
    const rejected = refusedIdentifiers(options, hashOf);
    const emulator = await startLinkedInEmulator({
      maxElements: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      reject: rejected.size ? (el) => (el.userIds.some((u) => rejected.has(u.idValue)) ? 'This member cannot be added to the segment' : undefined) : undefined,
    });
    return {
      destination: (o = {}) => tokenDestination('linkedin', emulator, o, 'AQV-not-the-right-token', REACH_THE_CEILING),
      object: () => '700001',
      records: async (object) => heldCopy(emulator.records(object)),
      maxBatch: () => emulator.stats.maxElementsSeen,
      rateLimited: () => emulator.stats.throttled,
      close: () => emulator.close(),
    };
  },
};
