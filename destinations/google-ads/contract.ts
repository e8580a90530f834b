import { createHash } from 'node:crypto';
import { contact, type Contact, type ContractKit, type ContractShape } from '../emulator-kit/contract.js';
import { startGoogleAdsEmulator } from './emulator.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
/** Google's normalised e-mail of a contact (trimmed, lower case), written out here rather than taken from the adapter. */
const email = (c: Contact) => c.email!.trim().toLowerCase();
/** Google's normalised phone: E.164 with its `+`. */
const phone = (c: Contact) => `+${c.phone!.replace(/\D/g, '')}`;

/**
 * Customer Match takes only mode audience, keyed by a customer id kept in Tideline's state, with identifiers as
 * fields. The suite syncs contacts' raw e-mails and phones; the list then holds, per member (keyed by its hashed
 * e-mail), the SHA-256 of each normalised identifier. Each member carries 2 identifiers (email, phone): the request
 * ceiling the suite asks for in records is set in identifiers, and `maxBatch` reports operations (members).
 */
const IDENTIFIERS_PER_MEMBER = 2;
export const shape: ContractShape = {
  mode: 'audience',
  keyField: 'customer_id',
  fields: ['email', 'phone'],
  expected: (contacts) => new Map(contacts.map((c) => [sha(email(c)), { hashedEmail: [sha(email(c))], hashedPhoneNumber: [sha(phone(c))] }])),
};

export const kit: ContractKit = {
  shape,
  notApplicable: {
    'mirror-delete': 'Customer Match has no mirror mode: members are added and removed (audience)',
  },
  async start(options) {
    // Refused one by one through partialFailureError, by operation index: the rejected contacts' hashed e-mails.
    const rejected = new Set((options.rejectKeys ?? []).map((k) => sha(email(contact(Number(k))))));
    const emulator = await startGoogleAdsEmulator({
      maxIdentifiersPerRequest: options.maxBatchRecords === undefined ? undefined : options.maxBatchRecords * IDENTIFIERS_PER_MEMBER,
      rateLimit: options.requestsPerSecond ? { requests: options.requestsPerSecond, perMs: 1000 } : undefined,
      reject: rejected.size ? (user) => (user.userIdentifiers.some((i) => rejected.has(i.hashedEmail ?? '')) ? 'INVALID_USER_IDENTIFIER' : undefined) : undefined,
    });
    const { accessToken, developerToken, customerId } = emulator.credentials;
    return {
      destination: (o = {}) => ({
        type: 'google_ads',
        endpoint: emulator.endpoint,
        customer_id: customerId,
        developer_token: developerToken,
        access_token: o.badCredentials ? 'ya29.not-the-right-token' : accessToken,
        job_poll_seconds: 0.02,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => (mode === 'insert' ? 'conversion_actions/200' : 'user_lists/100'),
      records: async (object) => new Map([...emulator.records(object)].map(([k, v]) => [k, { ...v }])),
      maxBatch: () => emulator.stats.maxOperationsSeen,
      rateLimited: () => emulator.server.count(429),
      close: () => emulator.close(),
    };
  },
};
