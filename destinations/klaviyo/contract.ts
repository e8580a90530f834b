import type { ContractKit } from '../emulator-kit/contract.js';
import { KLAVIYO_PROFILES_OBJECT } from './adapter.js';
import { startKlaviyoEmulator } from './emulator.js';
import { klaviyoSchema } from './schema.js';

const LIST = 'VipL1st';

export const kit: ContractKit = {
  schema: klaviyoSchema,
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
      object: (mode) => (mode === 'audience' ? LIST : KLAVIYO_PROFILES_OBJECT),
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
      maxBatch: () => emulator.stats.maxProfilesSeen,
      rateLimited: () => emulator.server.count(429),
      exchanges,
      close: () => emulator.close(),
    };
  },
};
