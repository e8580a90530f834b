import type { ContractKit } from '../emulator-kit/contract.js';
import { BRAZE_USERS_OBJECT } from './adapter.js';
import { brazeSchema } from './documented-shapes.js';
import { BRAZE_USERS, startBrazeEmulator } from './emulator.js';

const AUDIENCE_ATTRIBUTE = 'tideline_audiences';

export const kit: ContractKit = {
  notApplicable: {},
  schema: brazeSchema,
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startBrazeEmulator({
      maxObjects: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      reject: (externalId) => (rejected.has(externalId) ? "Invalid 'email' attribute" : undefined),
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
      object: (mode) => (mode === 'audience' ? 'vip_list' : BRAZE_USERS_OBJECT),
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
