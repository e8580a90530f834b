import type { ContractEvent, ContractKit } from '../emulator-kit/contract.js';
import { KLAVIYO_PROFILES_OBJECT } from './adapter.js';
import { EVENT_KEY_FIELD, KLAVIYO_EVENTS_OBJECT } from './events.js';
import { toE164 } from './protocol.js';
import { startKlaviyoEmulator } from './emulator.js';
import { klaviyoSchema } from './schema.js';

const LIST = 'VipL1st';

/** What the emulator holds for an event of the suite: the metric, the time to the second, value, profile identifiers. */
function expectedEvent(event: ContractEvent): Record<string, unknown> {
  return {
    metric: event.event_name,
    time: new Date(Math.floor(Date.parse(event.event_time) / 1000) * 1000).toISOString(),
    value: event.value,
    value_currency: event.currency,
    email: event.email?.trim().toLowerCase(),
    phone_number: event.phone ? toE164(event.phone, undefined) : undefined,
    properties: {},
  };
}

export const kit: ContractKit = {
  schema: klaviyoSchema,
  // The abandoned-cart trigger: an event per cart, its profile by e-mail and phone, its value.
  events: {
    object: KLAVIYO_EVENTS_OBJECT,
    keyField: EVENT_KEY_FIELD,
    fields: { email: { from: 'email', transform: ['trim', 'lower'] }, phone_number: 'phone', value: 'value', value_currency: 'currency' },
    expected: expectedEvent,
  },
  notApplicable: {
    'mirror-delete': 'Klaviyo has no profile delete (only irreversible data-privacy deletion): mirror is not offered',
  },
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startKlaviyoEmulator({
      lists: [LIST],
      maxProfiles: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      reject: (attributes) => (rejected.has(String(attributes['external_id'])) ? 'Invalid email address.' : undefined),
      rejectEvent: (event) => (rejected.has(String(event['unique_id'])) ? 'Invalid event.' : undefined),
    });
    const exchanges = emulator.server.recordExchanges();
    return {
      destination: (o = {}) => ({
        type: 'klaviyo',
        api_key: o.badCredentials ? 'pk_not_the_right_key' : emulator.apiKey,
        base_url: emulator.endpoint,
        poll_interval_ms: 10,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        // Each batch is a job and its polls: under the emulator's burst of 10/s unless a case asks for 429s.
        requests_per_second: options.rateLimit ? 60 : 4,
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => (mode === 'audience' ? LIST : mode === 'events' ? KLAVIYO_EVENTS_OBJECT : KLAVIYO_PROFILES_OBJECT),
      records: async (object) => {
        const members = object === KLAVIYO_PROFILES_OBJECT ? undefined : new Set(emulator.members(object));
        const out = new Map<string, Record<string, unknown>>();
        for (const [id, profile] of emulator.profiles()) {
          if (members && !members.has(id)) continue;
          const { external_id: key, properties, ...attributes } = profile;
          out.set(String(key), { ...attributes, ...properties });
        }
        return out;
      },
      events: async () =>
        emulator.events().map(({ unique_id: id, profile, ...fields }) => {
          const identifiers = emulator.profiles().get(String(profile)) ?? {};
          return { id: String(id), fields: { ...fields, email: identifiers['email'], phone_number: identifiers['phone_number'] } };
        }),
      maxBatch: () => Math.max(emulator.stats.maxProfilesSeen, emulator.stats.maxEventsSeen),
      rateLimited: () => emulator.server.count(429),
      exchanges,
      close: () => emulator.close(),
    };
  },
};
