import { e164Phone as phone, refusedIdentifiers, sha256 as sha } from '../emulator-kit/ads-contract.js';
import { heldCopy, SUITE_RETRIES, type Contact, type ContractKit, type ContractShape } from '../emulator-kit/contract.js';
import { startGoogleAdsEmulator } from './emulator.js';

/** Google's normalised e-mail of a contact (no whitespace, lower case), written out here rather than taken from the adapter; its phone: E.164 with its `+`. */
const email = (c: Contact) => c.email!.replace(/\s+/g, '').toLowerCase();

/**
 * Customer Match takes only mode audience, keyed by a customer id kept in Tideline's state, with identifiers as
 * fields. The suite syncs contacts' raw e-mails and phones; the list then holds, per member (keyed by its hashed
 * e-mail), the SHA-256 of each normalised identifier, as the Data Manager API names them.
 */
export const shape: ContractShape = {
  mode: 'audience',
  keyField: 'customer_id',
  fields: ['email', 'phone'],
  expected: (contacts) => new Map(contacts.map((c) => [sha(email(c)), { emailAddress: [sha(email(c))], phoneNumber: [sha(phone(c))] }])),
};

export const kit: ContractKit = {
  shape,
  notApplicable: {
    'mirror-delete': 'Customer Match has no mirror mode: members are added and removed (audience)',
  },
  async start(options) {
    // Refused by Google's fast-fail model: the whole request answers 400 with a field violation per refused member.
    const rejected = refusedIdentifiers(options, (c) => sha(email(c)));
    const emulator = await startGoogleAdsEmulator({
      maxMembersPerRequest: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      reject: rejected.size
        ? (record) => ('userData' in record && record.userData?.userIdentifiers.some((i) => 'emailAddress' in i && rejected.has(i.emailAddress)) ? 'INVALID_AUDIENCE_MEMBER' : undefined)
        : undefined,
    });
    const { clientId, clientSecret, refreshToken, customerId } = emulator.oauth;
    return {
      destination: (o = {}) => ({
        type: 'google_ads',
        endpoint: emulator.endpoint,
        token_url: emulator.tokenUrl,
        customer_id: customerId,
        credentials: { client_id: clientId, client_secret: clientSecret, refresh_token: o.badCredentials ? '1//not-the-right-refresh-token' : refreshToken },
        customer_match_terms: 'accepted',
        status_poll_seconds: 0.02,
        // The emulator's quota, not the adapter's pace, is what the rate-limit case measures.
        requests_per_second: 1000,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        retries: SUITE_RETRIES,
      }),
      object: (mode) => (mode === 'insert' ? 'conversion_actions/200' : 'user_lists/100'),
      records: async (object) => heldCopy(emulator.records(object)),
      maxBatch: () => emulator.stats.maxMembersSeen,
      rateLimited: () => emulator.server.count(429),
      close: async () => {
        if (emulator.schemaErrors.length) throw new Error(`the emulator answered outside Google's schema: ${emulator.schemaErrors.join('\n')}`);
        await emulator.close();
      },
    };
  },
};
