import { createHash } from 'node:crypto';
import { contact, type Contact, type ContractKit, type ContractShape } from '../emulator-kit/contract.js';
import { startLinkedInEmulator } from './emulator.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
/** LinkedIn's member hash of a contact: SHA-256 of the trimmed, lower-cased address (written out, not the adapter's). */
const hashOf = (c: Contact) => sha(c.email!.trim().toLowerCase());

/**
 * LinkedIn takes mode audience with hashed e-mails only (SHA256_EMAIL). The suite syncs contacts keyed by
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
    const rejected = new Set((options.rejectKeys ?? []).map((k) => hashOf(contact(Number(k)))));
    const emulator = await startLinkedInEmulator({
      maxElements: options.maxBatchRecords,
      rateLimit: options.requestsPerSecond ? { requests: options.requestsPerSecond, perMs: 1000 } : undefined,
      reject: rejected.size ? (el) => (el.userIds.some((u) => rejected.has(u.idValue)) ? 'This member cannot be added to the segment' : undefined) : undefined,
    });
    return {
      destination: (o = {}) => ({
        type: 'linkedin',
        endpoint: emulator.endpoint,
        access_token: o.badCredentials ? 'AQV-not-the-right-token' : emulator.accessToken,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        // Above the suite's emulator ceiling (20/s), with requests enough in flight to reach it on a loaded machine, so
        // that its throttling answers are met and waited out.
        requests_per_second: 100,
        concurrency: 8,
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: () => '700001',
      records: async (object) => new Map([...emulator.records(object)].map(([k, v]) => [k, { ...v }])),
      maxBatch: () => emulator.stats.maxElementsSeen,
      rateLimited: () => emulator.stats.throttled,
      close: () => emulator.close(),
    };
  },
};
