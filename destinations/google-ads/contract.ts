import type { ContractKit } from '../emulator-kit/contract.js';
import { startGoogleAdsEmulator } from './emulator.js';

/**
 * Customer Match takes only mode audience, and only identifiers (email, phone, an address) as fields; conversions
 * take only mode insert. The shared cases sync the contract mapping (`email`, `first_name`, `orders`) in upsert or
 * mirror mode, and compare fields Google never holds back (it keeps hashes, not values). Their equivalents — bad
 * credentials, batch ceilings, rate limits, partial failures by index, reruns, removals, a full resync, a thousand
 * members — run through the real engine in destinations/google-ads/google-ads.test.ts.
 */
const AUDIENCE_ONLY = 'Customer Match takes mode audience with identifier fields only; covered in google-ads.test.ts';

export const kit: ContractKit = {
  notApplicable: {
    auth: AUDIENCE_ONLY,
    'batch-limits': AUDIENCE_ONLY,
    'rate-limit': AUDIENCE_ONLY,
    'partial-failure': AUDIENCE_ONLY,
    'idempotent-rerun': AUDIENCE_ONLY,
    audience: 'the contract mapping\'s `orders` and a lone `first_name` are not Customer Match identifiers; covered in google-ads.test.ts',
    'mirror-delete': 'Customer Match has no mirror mode: members are added and removed (audience)',
    'thousand-records': AUDIENCE_ONLY,
  },
  async start(options) {
    const emulator = await startGoogleAdsEmulator({
      maxIdentifiersPerRequest: options.maxBatchRecords,
      rateLimit: options.requestsPerSecond ? { requests: options.requestsPerSecond, perMs: 1000 } : undefined,
    });
    const { accessToken, developerToken, customerId } = emulator.credentials;
    return {
      destination: (o = {}) => ({
        type: 'google_ads',
        endpoint: emulator.endpoint,
        customer_id: customerId,
        developer_token: developerToken,
        access_token: o.badCredentials ? 'ya29.not-the-right-token' : accessToken,
        job_poll_seconds: 0.02,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => (mode === 'insert' ? 'conversion_actions/200' : 'user_lists/100'),
      records: async (object) => new Map([...emulator.records(object)].map(([k, v]) => [k, { ...v }])),
      maxBatch: () => emulator.stats.maxIdentifiersSeen,
      rateLimited: () => emulator.server.count(429),
      close: () => emulator.close(),
    };
  },
};
