import { hashedEmail, sha256 as sha, tokenDestination } from '../emulator-kit/ads-contract.js';
import { heldCopy, type Contact, type ContractKit, type ContractShape } from '../emulator-kit/contract.js';
import { startMetaEmulator } from './emulator.js';
import { sdkDefinitions } from './sdk-definitions.js';

/** Meta's normalised names (lower-case letters only), written out here rather than taken from the adapter. */
const name = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '');

/**
 * Meta Custom Audiences take only mode audience with audience keys. The suite syncs contacts keyed by
 * `external_id` (sent unhashed as EXTERN_ID) with their raw e-mail, phone and names; the audience then holds, per
 * member (keyed by EXTERN_ID), the SHA-256 of each normalised value (phone: digits with the country code, no `+`).
 * The emulator validates every request against the official Business SDK's definitions of a CustomAudience (its
 * fields and edges, sdk-definitions.ts) and refuses what they lack.
 */
export const shape: ContractShape = {
  mode: 'audience',
  keyField: 'external_id',
  fields: ['email', 'phone', 'first_name', 'last_name'],
  expected: (contacts) =>
    new Map(
      contacts.map((c: Contact) => [
        String(c.id),
        { EXTERN_ID: String(c.id), EMAIL: hashedEmail(c), PHONE: sha(c.phone!.replace(/\D/g, '')), FN: sha(name(c.first_name!)), LN: sha(name(c.last_name!)) },
      ]),
    ),
};

export const kit: ContractKit = {
  shape,
  notApplicable: {
    'partial-failure': 'Meta counts invalid rows (num_invalid_entries) without naming them: no per-record refusal exists',
    'mirror-delete': 'Meta audiences have no mirror mode: members are added and removed (audience)',
  },
  async start(options) {
    const emulator = await startMetaEmulator({
      definitions: sdkDefinitions(),
      maxRows: options.maxBatchRecords,
      rateLimit: options.rateLimit,
    });
    return {
      destination: (o = {}) => tokenDestination('meta', emulator, o, 'EAAB-not-the-right-token'),
      object: () => '23850000000000001',
      records: async (object) => heldCopy(emulator.records(object)),
      maxBatch: () => emulator.stats.maxRowsSeen,
      rateLimited: () => emulator.stats.throttled,
      close: async () => {
        // A request outside Meta's definitions fails the case even when the sync recovered from its answer.
        await emulator.close();
        if (emulator.stats.contractViolations) throw new Error(`${emulator.stats.contractViolations} request(s) broke the SDK's definitions of a CustomAudience`);
      },
    };
  },
};
