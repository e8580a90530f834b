import { createHash } from 'node:crypto';
import type { Contact, ContractKit, ContractShape } from '../emulator-kit/contract.js';
import { startMetaEmulator } from './emulator.js';
import { sdkDefinitions } from './sdk-definitions.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
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
        { EXTERN_ID: String(c.id), EMAIL: sha(c.email!.trim().toLowerCase()), PHONE: sha(c.phone!.replace(/\D/g, '')), FN: sha(name(c.first_name!)), LN: sha(name(c.last_name!)) },
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
      rateLimit: options.requestsPerSecond ? { requests: options.requestsPerSecond, perMs: 1000 } : undefined,
    });
    return {
      destination: (o = {}) => ({
        type: 'meta',
        endpoint: emulator.endpoint,
        access_token: o.badCredentials ? 'EAAB-not-the-right-token' : emulator.accessToken,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: () => '23850000000000001',
      records: async (object) => new Map([...emulator.records(object)].map(([k, v]) => [k, { ...v }])),
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
