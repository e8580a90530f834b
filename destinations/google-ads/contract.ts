import { e164Phone as phone, refusedIdentifiers, sha256 as sha } from '../emulator-kit/ads-contract.js';
import { heldCopy, SUITE_RETRIES, type Contact, type ContractEvent, type ContractKit, type ContractShape, type EventShape, type HeldEvent } from '../emulator-kit/contract.js';
import { startGoogleAdsEmulator } from './emulator.js';
import { googleAdsSchema } from './schema.js';

/** Google's normalised e-mail of a contact (no whitespace, lower case), written out here rather than taken from the adapter; its phone: E.164 with its `+`. */
const email = (c: Pick<Contact, 'email'>) => c.email!.replace(/\s+/g, '').toLowerCase();

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

/**
 * The events cases sync in-store purchases to a conversion action: the event id is the transaction id Google
 * de-duplicates by, its time the conversion time, its value and currency the conversion's, identifiers hashed. Google
 * holds, per conversion, what it was sent (the time as RFC 3339, so `events()` reports it as ISO-8601 with ms).
 */
export const events: EventShape = {
  object: 'conversion_actions/300',
  keyField: 'transaction_id',
  fields: { email: 'email', phone: 'phone', conversion_value: 'value', currency_code: 'currency', event_source: { constant: 'IN_STORE' } },
  expected: (e: ContractEvent) => ({
    eventTimestamp: e.event_time,
    userData: {
      userIdentifiers: [...(e.email ? [{ emailAddress: sha(email(e)) }] : []), ...(e.phone ? [{ phoneNumber: sha(`+${e.phone.replace(/\D/g, '')}`) }] : [])],
    },
    currency: e.currency,
    conversionValue: e.value,
    eventSource: 'IN_STORE',
  }),
};

/** Keys of the suite's cases: numbers are contacts (audience cases), the others event ids (`ev-<n>`). */
const isContactKey = (key: string) => /^\d+$/.test(key);

export const kit: ContractKit = {
  schema: googleAdsSchema,
  shape,
  events,
  notApplicable: {
    'mirror-delete': 'Customer Match has no mirror mode: members are added and removed (audience)',
  },
  async start(options) {
    // Refused by Google's fast-fail model: the whole request answers 400 with a field violation per refused record.
    const keys = options.rejectKeys ?? [];
    const members = refusedIdentifiers({ ...options, rejectKeys: keys.filter(isContactKey) }, (c) => sha(email(c)));
    const conversions = new Set(keys.filter((k) => !isContactKey(k)));
    const emulator = await startGoogleAdsEmulator({
      maxMembersPerRequest: options.maxBatchRecords,
      maxEventsPerRequest: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      reject: (record) => {
        if ('transactionId' in record) return conversions.has(record.transactionId) ? 'INVALID_EVENT' : undefined;
        return record.userData?.userIdentifiers.some((i) => 'emailAddress' in i && members.has(i.emailAddress)) ? 'INVALID_AUDIENCE_MEMBER' : undefined;
      },
    });
    const exchanges = emulator.server.recordExchanges();
    const { clientId, clientSecret, refreshToken, customerId } = emulator.oauth;
    return {
      exchanges,
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
      object: (mode) => (mode === 'events' ? events.object : mode === 'insert' ? 'conversion_actions/200' : 'user_lists/100'),
      records: async (object) => heldCopy(emulator.records(object)),
      // Google keeps one conversion per transaction id (the event id), in the order it received them.
      events: async (object): Promise<readonly HeldEvent[]> =>
        [...emulator.records(object)].map(([id, held]) => {
          const { transactionId: _id, eventTimestamp, ...rest } = held;
          return { id, fields: { eventTimestamp: new Date(String(eventTimestamp)).toISOString(), ...rest } };
        }),
      maxBatch: () => Math.max(emulator.stats.maxMembersSeen, emulator.stats.maxEventsSeen),
      rateLimited: () => emulator.server.count(429),
      close: async () => {
        if (emulator.schemaErrors.length) throw new Error(`the emulator answered outside Google's schema: ${emulator.schemaErrors.join('\n')}`);
        await emulator.close();
      },
    };
  },
};
