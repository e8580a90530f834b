import type { ContractKit } from '../emulator-kit/contract.js';
import { startWebhookEmulator } from './emulator.js';

export const kit: ContractKit = {
  notApplicable: {},
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startWebhookEmulator({
      maxBatchRecords: options.maxBatchRecords,
      rateLimit: options.requestsPerSecond ? { requests: options.requestsPerSecond, perMs: 1000 } : undefined,
      reject: (record) => (rejected.has(record.key) ? { code: 'invalid_email', message: 'the e-mail address is not deliverable' } : undefined),
    });
    return {
      destination: (o = {}) => ({
        type: 'webhook',
        url: `${emulator.endpoint}/hook`,
        secret: o.badCredentials ? 'not-the-right-secret-at-all' : emulator.secret,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => (mode === 'audience' ? 'vip_list' : 'contacts'),
      records: async (object) => new Map([...emulator.records(object)].map(([k, v]) => [k, { ...v }])),
      maxBatch: () => emulator.stats.maxBatchSeen,
      rateLimited: () => emulator.server.count(429),
      close: () => emulator.close(),
    };
  },
};
