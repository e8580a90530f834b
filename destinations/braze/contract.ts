import type { ContractKit } from '../emulator-kit/contract.js';
import { BRAZE_USERS_OBJECT } from './adapter.js';
import { brazeSchema } from './documented-shapes.js';
import { BRAZE_USERS, startBrazeEmulator } from './emulator.js';

const AUDIENCE_ATTRIBUTE = 'tideline_audiences';
/** The property the events cases write the event id to (Braze has no event id of its own). */
const EVENT_KEY = 'event_id';

export const kit: ContractKit = {
  notApplicable: {},
  // Custom events (purchases have their own tests in braze.test.ts): the user by external_id, value and currency as
  // properties, the event id with them.
  events: {
    object: 'events',
    keyField: EVENT_KEY,
    fields: { external_id: 'customer_id', value: 'value', currency: 'currency' },
    expected: (event) => ({ name: event.event_name, time: event.event_time, external_id: String(event.customer_id), properties: { value: event.value, currency: event.currency, [EVENT_KEY]: event.event_id } }),
  },
  schema: brazeSchema,
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startBrazeEmulator({
      maxObjects: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      reject: (externalId) => (rejected.has(externalId) ? "Invalid 'email' attribute" : undefined),
      rejectEvent: (object) => (rejected.has(String((object['properties'] as Record<string, unknown> | undefined)?.[EVENT_KEY])) ? "Invalid 'properties' for this event" : undefined),
    });
    const exchanges = emulator.server.recordExchanges();
    return {
      destination: (o = {}) => ({
        type: 'braze',
        rest_endpoint: emulator.endpoint,
        api_key: o.badCredentials ? 'not-the-right-key' : emulator.apiKey,
        audience_attribute: AUDIENCE_ATTRIBUTE,
        ...(o.batchSize ? { objects_per_request: Math.min(o.batchSize, 75) } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => (mode === 'audience' ? 'vip_list' : mode === 'events' ? 'events' : BRAZE_USERS_OBJECT),
      events: async (object) =>
        emulator.events(object === 'purchases' ? 'purchases' : 'events').map((fields) => ({ id: String((fields['properties'] as Record<string, unknown> | undefined)?.[EVENT_KEY]), fields: { ...fields } })),
      records: async (object) => {
        const out = new Map<string, Record<string, unknown>>();
        for (const [id, attributes] of emulator.server.store.object(BRAZE_USERS)) {
          const { [AUDIENCE_ATTRIBUTE]: audiences, ...rest } = attributes;
          if (object === BRAZE_USERS_OBJECT) out.set(id, rest);
          else if (Array.isArray(audiences) && audiences.includes(object)) out.set(id, {});
        }
        return out;
      },
      maxBatch: () => emulator.stats.maxObjectsSeen,
      exchanges,
      rateLimited: () => emulator.server.count(429),
      close: () => emulator.close(),
    };
  },
};
