import { hashedEmail, sha256 as sha, tokenDestination } from '../emulator-kit/ads-contract.js';
import { heldCopy, type Contact, type ContractEvent, type ContractKit, type ContractShape, type EventShape } from '../emulator-kit/contract.js';
import { startMetaEmulator } from './emulator.js';
import { MAX_EVENTS } from './protocol.js';
import { sdkDefinitions } from './sdk-definitions.js';

/** Meta's normalised names (lower-case letters only), written out here rather than taken from the adapter. */
const name = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '');

/**
 * Meta Custom Audiences take only mode audience with audience keys. The suite syncs contacts keyed by
 * `external_id` (sent unhashed as EXTERN_ID) with their raw e-mail, phone and names; the audience then holds, per
 * member (keyed by EXTERN_ID), the SHA-256 of each normalised value (phone: digits with the country code, no `+`).
 * The emulator validates every request against the official Business SDK's definitions of a CustomAudience (its
 * fields and edges, sdk-definitions.ts) and refuses what they lack.
 */
export const shape: ContractShape = {
  mode: 'audience',
  keyField: 'external_id',
  fields: ['email', 'phone', 'first_name', 'last_name'],
  expected: (contacts) =>
    new Map(
      contacts.map((c: Contact) => [
        String(c.id),
        { EXTERN_ID: String(c.id), EMAIL: hashedEmail(c), PHONE: sha(c.phone!.replace(/\D/g, '')), FN: sha(name(c.first_name!)), LN: sha(name(c.last_name!)) },
      ]),
    ),
};

const DATASET = '1234567890123456';

/**
 * The events cases: in-store purchases to a dataset, keyed by the event id, with the customer's raw e-mail and phone,
 * value and currency. Meta then holds each event with its name, time (Unix seconds), action_source, the hashes of
 * the normalised e-mail and phone (lists, as the SDK sends them) and the value and currency.
 */
export const events: EventShape = {
  object: `dataset:${DATASET}`,
  keyField: 'event_id',
  fields: { email: 'email', phone: 'phone', value: 'value', currency: 'currency', action_source: { constant: 'physical_store' } },
  expected: (event: ContractEvent) => ({
    event_name: event.event_name,
    event_time: Math.floor(Date.parse(event.event_time) / 1000),
    action_source: 'physical_store',
    ...(event.email ? { em: [sha(event.email.trim().toLowerCase())] } : {}),
    ...(event.phone ? { ph: [sha(event.phone.replace(/\D/g, ''))] } : {}),
    value: event.value,
    currency: event.currency,
  }),
};

export const kit: ContractKit = {
  shape,
  events,
  notApplicable: {
    'partial-failure': 'Meta counts invalid rows (num_invalid_entries) without naming them: no per-record refusal exists',
    'mirror-delete': 'Meta audiences have no mirror mode: members are added and removed (audience)',
  },
  async start(options) {
    const emulator = await startMetaEmulator({
      definitions: sdkDefinitions(),
      maxRows: options.maxBatchRecords,
      rateLimit: options.rateLimit,
      ...(options.maxBatchRecords ? { maxEvents: Math.min(MAX_EVENTS, options.maxBatchRecords) } : {}),
      ...(options.rejectKeys ? { rejectKeys: options.rejectKeys } : {}),
    });
    return {
      destination: (o = {}) => tokenDestination('meta', emulator, o, 'EAAB-not-the-right-token'),
      object: () => '23850000000000001',
      records: async (object) => heldCopy(emulator.records(object)),
      // What the dataset holds of each copy: the event's own keys, its user_data and custom_data side by side.
      events: async (object) =>
        emulator.events(object.replace(/^dataset:/, '')).map((e) => ({
          id: String(e['event_id']),
          fields: { event_name: e['event_name'], event_time: e['event_time'], action_source: e['action_source'], ...(e['user_data'] as object), ...(e['custom_data'] as object | undefined) },
        })),
      maxBatch: () => Math.max(emulator.stats.maxRowsSeen, emulator.stats.maxEventsSeen),
      rateLimited: () => emulator.stats.throttled,
      close: async () => {
        // A request outside Meta's definitions fails the case even when the sync recovered from its answer.
        await emulator.close();
        if (emulator.stats.contractViolations) throw new Error(`${emulator.stats.contractViolations} request(s) broke the SDK's definitions of a CustomAudience`);
      },
    };
  },
};
