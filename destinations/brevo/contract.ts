import type { ContractEvent, ContractKit, EventShape, VendorSchema } from '../emulator-kit/contract.js';
import { tsTypes, type TsTypes } from '../emulator-kit/schemas/ts-types.js';
import type { Exchange } from '../emulator-kit/server.js';
import { startBrevoEmulator } from './emulator.js';
import { brevoEventName, SCHEMA_ERROR, SCHEMA_OPERATIONS, SCHEMA_PACKAGE, SCHEMA_VERSION } from './protocol.js';

let types: TsTypes | undefined;
let missing: string | undefined;
function loadTypes(): TsTypes | undefined {
  if (!types && !missing) {
    try {
      types = tsTypes(SCHEMA_PACKAGE, { exportName: 'Brevo' });
    } catch (error) {
      missing = (error as Error).message;
    }
  }
  return types;
}

/**
 * Every exchange against Brevo's SDK types (protocol.ts, SCHEMA_OPERATIONS): the request body against the
 * operation's request type, a 2xx answer against its answer type, any other answer against ErrorModel. An operation
 * the adapter calls that is not mapped there is a problem.
 */
export const brevoSchema: VendorSchema = {
  source: `${SCHEMA_PACKAGE} ${SCHEMA_VERSION} (TypeScript types of Brevo's Node SDK)`,
  unavailable: () => (loadTypes() ? undefined : missing),
  check(exchange: Exchange): string[] {
    const operation = SCHEMA_OPERATIONS.find((o) => o.method === exchange.method && o.path.test(exchange.path));
    if (!operation) return [`${exchange.method} ${exchange.path} is not an operation of the vendor schema the adapter is checked against`];
    const problems: string[] = [];
    const entries: { type: string; value: unknown; side: string }[] = [];
    if (operation.request === null) {
      if (exchange.request !== undefined) problems.push('request: the operation takes no body');
    } else entries.push({ type: operation.request, value: exchange.request, side: 'request' });
    const ok = exchange.status >= 200 && exchange.status < 300;
    const answer = operation.statuses?.[exchange.status] ?? (ok ? operation.response : SCHEMA_ERROR);
    if (answer === null) {
      if (exchange.response !== undefined && exchange.response !== '') problems.push(`response: the operation answers no body, got ${JSON.stringify(exchange.response).slice(0, 80)}`);
    } else if (exchange.response !== undefined || ok) entries.push({ type: answer, value: exchange.response, side: 'response' });
    const found = loadTypes()!.check(entries);
    entries.forEach((e, i) => problems.push(...found[i]!.map((p) => `${e.side} (${e.type}) ${p}`)));
    return problems;
  },
};

/** The event id of the events cases, as an event property (Brevo has no de-duplication key). */
const EVENT_KEY = 'event_id';

/** The events cases: events of the contact by e-mail, value and currency as event properties. */
const events: EventShape = {
  object: 'events',
  keyField: EVENT_KEY,
  fields: { email: 'email', value: 'value', currency: 'currency' },
  expected: (event: ContractEvent) => ({
    event_name: brevoEventName(event.event_name),
    event_date: event.event_time,
    identifiers: { email_id: event.email?.trim().toLowerCase() },
    event_properties: { value: event.value, currency: event.currency },
  }),
};

/** The event id an event carries (EVENT_KEY among its event_properties). */
function eventId(event: Readonly<Record<string, unknown>>): string {
  const properties = (event['event_properties'] ?? {}) as Record<string, unknown>;
  return String(properties[EVENT_KEY] ?? '');
}

/** An account with the attributes FIRST_NAME and ORDERS; contacts keyed by `ext_id` (the contract's `external_id`). */
export const kit: ContractKit = {
  schema: brevoSchema,
  events,
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
      rateLimit: options.rateLimit ?? { requests: 10_000, perMs: 1000 },
      maxBatchRecords: options.maxBatchRecords,
      reject: (id) => (rejected.has(id) ? { message: 'Invalid phone number' } : undefined),
      rejectEvent: (event) => (rejected.has(eventId(event)) ? { message: 'event_properties: invalid value' } : undefined),
    });
    const exchanges = emulator.server.recordExchanges();
    return {
      destination: (o = {}) => ({
        type: 'brevo',
        base_url: `${emulator.endpoint}/v3`,
        api_key: o.badCredentials ? 'xkeysib-not-the-key' : emulator.apiKey,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        ...(options.rateLimit ? { requests_per_second: 100 } : {}),
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
      exchanges,
      rateLimited: () => emulator.server.count(429),
      events: async () =>
        emulator.events().map((event) => {
          const { [EVENT_KEY]: _id, ...properties } = (event['event_properties'] ?? {}) as Record<string, unknown>;
          const { event_name, event_date, identifiers } = event;
          return { id: eventId(event), fields: { event_name, event_date, identifiers, event_properties: properties } };
        }),
      close: () => emulator.close(),
    };
  },
};
