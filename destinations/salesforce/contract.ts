import type { ContractKit } from '../emulator-kit/contract.js';
import { salesforceDocumentedShapes } from './documented-shapes.js';
import { startSalesforceEmulator } from './emulator.js';

/** The campaign of the audience case. */
const CAMPAIGN = '701000000000042';
/** Contacts (external ids 1…SEEDED) the org holds before an audience sync: campaign membership needs them. */
const SEEDED = 100;

/**
 * An org whose Contact has the contract mapping as fields, `external_id` being its External ID field. For the
 * audience case (campaign membership) the org has a campaign and Contacts for the people the case syncs, and the
 * contract mapping as custom CampaignMember fields.
 */
export const kit: ContractKit = {
  schema: salesforceDocumentedShapes(),
  notApplicable: {
    'rate-limit': 'Salesforce has no per-second limit: its daily org allowance (403 REQUEST_LIMIT_EXCEEDED) stops the sync, see salesforce.test.ts',
  },
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const mapping = [
      { name: 'email', type: 'email' },
      { name: 'first_name', type: 'string' },
      { name: 'orders', type: 'double' },
    ];
    const emulator = await startSalesforceEmulator({
      objects: {
        Contact: [{ name: 'Id', type: 'id', readOnly: true }, { name: 'external_id', type: 'string', externalId: true }, ...mapping],
        CampaignMember: mapping,
      },
      campaigns: [CAMPAIGN],
      maxBatchRecords: options.maxBatchRecords,
      reject: (id) => (rejected.has(id) ? { message: 'Email domain is not allowed by a validation rule' } : undefined),
    });
    const exchanges = emulator.server.recordExchanges();
    let seeded = false;
    return {
      exchanges,
      destination: (o = {}) => ({
        type: 'salesforce',
        instance_url: emulator.endpoint,
        access_token: o.badCredentials ? 'not-the-token' : emulator.token,
        ...(o.batchSize ? { batch_size: o.batchSize, bulk_batch_size: o.batchSize } : {}),
        // Erasure runs Bulk API 2.0 hardDelete jobs: the emulator's jobs end within two polls, so poll quickly.
        bulk_poll_seconds: 0.05,
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => {
        if (mode !== 'audience') return 'Contact';
        if (!seeded) for (let id = 1; id <= SEEDED; id++) emulator.insert('Contact', { external_id: String(id), email: `person${id}@example.com` });
        seeded = true;
        return `campaign:${CAMPAIGN}`;
      },
      records: async (object) => {
        const contacts = emulator.records('Contact');
        if (object.startsWith('campaign:')) {
          return new Map(
            [...emulator.members(object.slice('campaign:'.length)).values()].map((m) => {
              const { email, first_name, orders } = m;
              return [String(contacts.get(String(m['ContactId']))?.['external_id']), Object.fromEntries(Object.entries({ email, first_name, orders }).filter(([, v]) => v !== undefined))];
            }),
          );
        }
        return new Map(
          [...contacts.values()].map((r) => {
            const { Id: _id, external_id, ...fields } = r;
            return [String(external_id), fields];
          }),
        );
      },
      maxBatch: () => emulator.stats.maxBatchSeen,
      close: () => emulator.close(),
    };
  },
};
