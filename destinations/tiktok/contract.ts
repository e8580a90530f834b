import { createHash } from 'node:crypto';
import { contact, type Contact, type ContractKit, type ContractShape } from '../emulator-kit/contract.js';
import { startTikTokEmulator } from './emulator.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
/** TikTok's normalised values, written out here rather than taken from the adapter: lower-cased e-mail, E.164 phone. */
const email = (c: Contact) => sha(c.email!.trim().toLowerCase());
const phone = (c: Contact) => sha(`+${c.phone!.replace(/\D/g, '')}`);

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
    const rejected = new Set((options.rejectKeys ?? []).map((k) => email(contact(Number(k)))));
    const emulator = await startTikTokEmulator({
      maxUsers: options.maxBatchRecords,
      rateLimit: options.requestsPerSecond ? { requests: options.requestsPerSecond, perMs: 1000 } : undefined,
      reject: rejected.size ? (user) => (user.some((e) => 'id' in e && rejected.has(e.id)) ? 'this user cannot be added' : undefined) : undefined,
    });
    return {
      destination: (o = {}) => ({
        type: 'tiktok',
        endpoint: emulator.endpoint,
        advertiser_id: emulator.advertiserId,
        access_token: o.badCredentials ? 'not-the-right-token' : emulator.accessToken,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        // Above the suite's emulator ceiling (20/s), with requests enough in flight to reach it on a loaded machine, so
        // that its throttling answers are met and waited out.
        requests_per_second: 100,
        concurrency: 8,
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: () => '1800000001',
      records: async (object) => new Map([...emulator.records(object)].map(([k, v]) => [k, { ...v }])),
      maxBatch: () => emulator.stats.maxUsersSeen,
      rateLimited: () => emulator.stats.throttled,
      close: () => emulator.close(),
    };
  },
};
