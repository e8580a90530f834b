import type { ContractKit } from '../emulator-kit/contract.js';
import { startHubSpotEmulator } from './emulator.js';

/** The contract mapping as custom contact properties of the emulated account; `external_id` is the unique idProperty. */
export const kit: ContractKit = {
  notApplicable: {},
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startHubSpotEmulator({
      properties: [
        { name: 'external_id', type: 'string', unique: true },
        { name: 'first_name', type: 'string' },
        { name: 'orders', type: 'number' },
      ],
      rateLimit: options.requestsPerSecond ? { requests: options.requestsPerSecond, perMs: 1000 } : undefined,
      maxBatchRecords: options.maxBatchRecords,
      reject: (id) => (rejected.has(id) ? { message: 'Property values were not valid: first_name is not allowed' } : undefined),
    });
    return {
      destination: (o = {}) => ({
        type: 'hubspot',
        base_url: emulator.endpoint,
        token: o.badCredentials ? 'pat-na1-not-the-token' : emulator.token,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        // Above the emulator's ceiling when the case is about 429s: the sync must then wait, not lose records.
        ...(options.requestsPerSecond ? { requests_per_10_seconds: 1000 } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => (mode === 'audience' ? 'list:42' : 'contacts'),
      records: async (object) => {
        const contacts = emulator.contacts();
        const ids = object.startsWith('list:') ? emulator.listMembers(object.slice(5)) : [...contacts.keys()];
        return new Map(
          ids.map((id) => {
            const { external_id, email, first_name, orders } = contacts.get(id)!;
            const fields = Object.fromEntries(Object.entries({ email, first_name, orders: orders === undefined ? undefined : Number(orders) }).filter(([, v]) => v !== undefined));
            return [String(external_id), fields];
          }),
        );
      },
      maxBatch: () => emulator.stats.maxBatchSeen,
      rateLimited: () => emulator.server.count(429),
      close: () => emulator.close(),
    };
  },
};
