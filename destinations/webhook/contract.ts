import { heldCopy, SUITE_RETRIES, type ContractKit } from '../emulator-kit/contract.js';
import { startWebhookEmulator } from './emulator.js';

export const kit: ContractKit = {
  notApplicable: {},
  events: {
    object: 'events',
    keyField: 'event_id',
    fields: { customer_id: 'customer_id', value: 'value', currency: 'currency' },
    expected: (e) => ({ customer_id: e.customer_id, value: e.value, currency: e.currency, event_name: e.event_name, event_time: e.event_time }),
  },
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startWebhookEmulator({
      maxBatchRecords: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      reject: (record) => (rejected.has(record.key) ? { code: 'invalid_email', message: 'the e-mail address is not deliverable' } : undefined),
    });
    return {
      destination: (o = {}) => ({
        type: 'webhook',
        url: `${emulator.endpoint}/hook`,
        secret: o.badCredentials ? 'not-the-right-secret-at-all' : emulator.secret,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        retries: SUITE_RETRIES,
      }),
      object: (mode) => (mode === 'audience' ? 'vip_list' : 'contacts'),
      records: async (object) => heldCopy(emulator.records(object)),
      events: async (object) => [...emulator.records(object)].map(([id, fields]) => ({ id, fields: { ...fields } })),
      maxBatch: () => emulator.stats.maxBatchSeen,
      rateLimited: () => emulator.server.count(429),
      close: () => emulator.close(),
    };
  },
};
