import type { ContractKit } from '../emulator-kit/contract.js';
import { startSalesforceEmulator } from './emulator.js';

/** An org whose Contact has the contract mapping as fields, `external_id` being its External ID field. */
export const kit: ContractKit = {
  notApplicable: {
    'rate-limit': 'Salesforce has no per-second limit: its daily org allowance (403 REQUEST_LIMIT_EXCEEDED) stops the sync, see salesforce.test.ts',
    audience: 'Salesforce syncs take modes upsert and mirror (campaign membership is not built)',
  },
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startSalesforceEmulator({
      objects: {
        Contact: [
          { name: 'Id', type: 'id', readOnly: true },
          { name: 'external_id', type: 'string', externalId: true },
          { name: 'email', type: 'email' },
          { name: 'first_name', type: 'string' },
          { name: 'orders', type: 'double' },
        ],
      },
      maxBatchRecords: options.maxBatchRecords,
      reject: (id) => (rejected.has(id) ? { message: 'Email domain is not allowed by a validation rule' } : undefined),
    });
    return {
      destination: (o = {}) => ({
        type: 'salesforce',
        instance_url: emulator.endpoint,
        access_token: o.badCredentials ? 'not-the-token' : emulator.token,
        ...(o.batchSize ? { batch_size: o.batchSize, bulk_batch_size: o.batchSize } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: () => 'Contact',
      records: async (object) =>
        new Map(
          [...emulator.records(object).values()].map((r) => {
            const { Id: _id, external_id, ...fields } = r;
            return [String(external_id), fields];
          }),
        ),
      maxBatch: () => emulator.stats.maxBatchSeen,
      close: () => emulator.close(),
    };
  },
};
