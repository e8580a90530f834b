import type { ContractKit } from '../emulator-kit/contract.js';
import { startMetaEmulator } from './emulator.js';

/**
 * Meta Custom Audiences take only mode audience, and only audience keys (email, phone, names, …) as fields. The
 * shared cases sync the contract mapping (`email`, `first_name`, `orders`) in upsert or mirror mode, and compare
 * fields Meta never holds back (it keeps hashes, not values). Their equivalents — bad credentials, batch ceilings,
 * throttling, reruns, removals, a full resync with usersreplace, a thousand members — run through the real engine in
 * destinations/meta/meta.test.ts.
 */
const AUDIENCE_ONLY = 'Meta Custom Audiences take mode audience with audience keys only; covered in meta.test.ts';

export const kit: ContractKit = {
  notApplicable: {
    auth: AUDIENCE_ONLY,
    'batch-limits': AUDIENCE_ONLY,
    'rate-limit': AUDIENCE_ONLY,
    'partial-failure': 'Meta counts invalid rows (num_invalid_entries) without naming them: no per-record refusal exists',
    'idempotent-rerun': AUDIENCE_ONLY,
    audience: 'the contract mapping\'s `orders` is not a Meta audience key; covered in meta.test.ts',
    'mirror-delete': 'Meta audiences have no mirror mode: members are added and removed (audience)',
    'thousand-records': AUDIENCE_ONLY,
  },
  async start(options) {
    const emulator = await startMetaEmulator({
      maxRows: options.maxBatchRecords,
      rateLimit: options.requestsPerSecond ? { requests: options.requestsPerSecond, perMs: 1000 } : undefined,
    });
    return {
      destination: (o = {}) => ({
        type: 'meta',
        endpoint: emulator.endpoint,
        access_token: o.badCredentials ? 'EAAB-not-the-right-token' : emulator.accessToken,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: () => '23850000000000001',
      records: async (object) => new Map([...emulator.records(object)].map(([k, v]) => [k, { ...v }])),
      maxBatch: () => emulator.stats.maxRowsSeen,
      rateLimited: () => emulator.stats.throttled,
      close: () => emulator.close(),
    };
  },
};
