import type { ContractKit } from '../emulator-kit/contract.js';
import { startBrevoEmulator } from './emulator.js';

/** An account with the attributes FIRST_NAME and ORDERS; contacts keyed by `ext_id` (the contract's `external_id`). */
export const kit: ContractKit = {
  notApplicable: {
    'mirror-delete': 'Brevo has no batch delete of contacts: no mirror mode',
  },
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startBrevoEmulator({
      attributes: [
        { name: 'FIRST_NAME', type: 'text' },
        { name: 'ORDERS', type: 'float' },
      ],
      // Brevo's 10/s only when the case is about 429s: elsewhere it would only make the suite slow.
      rateLimit: { requests: options.requestsPerSecond ?? 10_000, perMs: 1000 },
      maxBatchRecords: options.maxBatchRecords,
      reject: (id) => (rejected.has(id) ? { message: 'Invalid phone number' } : undefined),
    });
    return {
      destination: (o = {}) => ({
        type: 'brevo',
        base_url: `${emulator.endpoint}/v3`,
        api_key: o.badCredentials ? 'xkeysib-not-the-key' : emulator.apiKey,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        ...(options.requestsPerSecond ? { requests_per_second: 100 } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => (mode === 'audience' ? 'list:7' : 'contacts'),
      records: async (object) => {
        const contacts = emulator.contacts();
        const ids = object.startsWith('list:') ? emulator.listMembers(object.slice(5)) : [...contacts.keys()];
        return new Map(
          ids.map((id) => {
            const { ext_id, email, FIRST_NAME, ORDERS } = contacts.get(id)!;
            return [String(ext_id), Object.fromEntries(Object.entries({ email, first_name: FIRST_NAME, orders: ORDERS }).filter(([, v]) => v !== undefined))];
          }),
        );
      },
      maxBatch: () => emulator.stats.maxBatchSeen,
      rateLimited: () => emulator.server.count(429),
      close: () => emulator.close(),
    };
  },
};
