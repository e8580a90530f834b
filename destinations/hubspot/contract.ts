import type { ContractEvent, ContractKit, EventShape, VendorSchema } from '../emulator-kit/contract.js';
import { sdkModels, type SdkModels } from '../emulator-kit/schemas/sdk-models.js';
import type { Exchange } from '../emulator-kit/server.js';
import { startHubSpotEmulator } from './emulator.js';
import { DOCUMENTED_ERROR_EXTRAS, HUBSPOT_SDK, operationOf, qualifiedEventName, type Operation } from './protocol.js';

/** The model modules of HubSpot's SDK, by the API they describe. */
const MODULES = {
  contacts: '@hubspot/api-client/lib/codegen/crm/contacts/models/all.js',
  properties: '@hubspot/api-client/lib/codegen/crm/properties/models/all.js',
  lists: '@hubspot/api-client/lib/codegen/crm/lists/models/all.js',
  oauth: '@hubspot/api-client/lib/codegen/oauth/models/all.js',
  events: '@hubspot/api-client/lib/codegen/events/send/models/all.js',
} as const;
type Module = keyof typeof MODULES;

/** A model of a module (`contacts:SimplePublicObject`); null: no body. */
type ModelRef = `${Module}:${string}` | null;

interface OperationContract {
  /** The module whose `Error` model describes the operation's error answers. */
  readonly module: Module;
  /** The request body's model; absent: no JSON body (a GET, the token endpoint's form). */
  readonly request?: ModelRef;
  /** The answer's model per success status, as HubSpot's SDK declares each operation (its *Api classes). */
  readonly responses: Readonly<Record<number, ModelRef>>;
}

/** A batch operation of the contacts API: its input, its results on success, and the same with errors on a 207. */
function batchContract(request: string, results: string, status = 200): OperationContract {
  return { module: 'contacts', request: `contacts:${request}`, responses: { [status]: `contacts:${results}`, 207: `contacts:${results}WithErrors` } };
}

/**
 * Each operation Tideline's adapter and emulator know, in both path families (protocol.ts: `operationOf`), with its
 * request and answer models from @hubspot/api-client (BasicApi, BatchApi, GDPRApi, CoreApi, MembershipsApi, TokensApi, and the
 * events send API's BasicApi and BatchApi).
 */
const CONTRACTS: Readonly<Record<Operation['name'], OperationContract>> = {
  'contacts-list': { module: 'contacts', responses: { 200: 'contacts:CollectionResponseSimplePublicObjectWithAssociationsForwardPaging' } },
  'batch-upsert': batchContract('BatchInputSimplePublicObjectBatchInputUpsert', 'BatchResponseSimplePublicUpsertObject'),
  'batch-create': batchContract('BatchInputSimplePublicObjectInputForCreate', 'BatchResponseSimplePublicObject', 201),
  'batch-update': batchContract('BatchInputSimplePublicObjectBatchInput', 'BatchResponseSimplePublicObject'),
  'batch-read': batchContract('BatchReadInputSimplePublicObjectId', 'BatchResponseSimplePublicObject'),
  'batch-archive': { module: 'contacts', request: 'contacts:BatchInputSimplePublicObjectId', responses: { 204: null } },
  'properties-read': { module: 'properties', responses: { 200: 'properties:CollectionResponsePropertyNoPaging' } },
  'properties-create': { module: 'properties', request: 'properties:PropertyCreate', responses: { 201: 'properties:Property' } },
  'list-memberships': { module: 'lists', request: 'lists:MembershipChangeRequest', responses: { 200: 'lists:MembershipsUpdateResponse' } },
  // The contacts GDPRApi's `purge`: 204 with no body, an `Error` otherwise (protocol.ts: GDPR_DELETE_DOC).
  'gdpr-delete': { module: 'contacts', request: 'contacts:PublicGdprDeleteInput', responses: { 204: null } },
  token: { module: 'oauth', responses: { 200: 'oauth:TokenResponseIF' } },
  // The events send API (BasicApi, BatchApi): 204 with no body, an `Error` otherwise.
  'event-send': { module: 'events', request: 'events:BehavioralEventHttpCompletionRequest', responses: { 204: null } },
  'event-batch': { module: 'events', request: 'events:BatchedBehavioralEventHttpCompletionRequest', responses: { 204: null } },
};

/**
 * HubSpot's contract as its SDK publishes it (protocol.ts: HUBSPOT_SDK): every request and answer of an operation
 * against the operation's models; error answers against the `Error` model with the fields HubSpot's docs add
 * (protocol.ts: DOCUMENTED_ERROR_EXTRAS); an operation or a status the map does not know is a problem.
 */
export function hubspotSchema(): VendorSchema {
  let loaded: Record<Module, SdkModels> | undefined;
  let missing: string | undefined;
  const models = (): Record<Module, SdkModels> => {
    loaded ??= Object.fromEntries(Object.entries(MODULES).map(([name, entry]) => [name, sdkModels(entry)])) as Record<Module, SdkModels>;
    return loaded;
  };
  const against = (ref: ModelRef, value: unknown, side: string): string[] => {
    if (ref === null) return value === undefined || value === '' ? [] : [`${side}: no body expected, got one`];
    const [module, type] = ref.split(':') as [Module, string];
    if (value === undefined) return [`${side}: no body, ${type} expected`];
    return models()[module].check(type, value, side);
  };
  return {
    source: `${HUBSPOT_SDK.name} ${HUBSPOT_SDK.version} (${HUBSPOT_SDK.models})`,
    unavailable: () => {
      if (missing === undefined) {
        try {
          models();
          missing = '';
        } catch (error) {
          missing = `${HUBSPOT_SDK.name} is not installed (${(error as Error).message.split('\n')[0]})`;
        }
      }
      return missing || undefined;
    },
    check: (exchange: Exchange): string[] => {
      const operation = operationOf(exchange.method, exchange.path);
      if (!operation) return [`${exchange.method} ${exchange.path} is not an operation of HubSpot's schema here`];
      const contract = CONTRACTS[operation.name];
      const problems: string[] = [];
      if (contract.request !== undefined) problems.push(...against(contract.request, exchange.request, 'request'));
      else if (exchange.request !== null && typeof exchange.request === 'object') problems.push(`request: ${operation.name} takes no JSON body`);
      if (exchange.status >= 400) problems.push(...errorProblems(operation, exchange));
      else if (exchange.status in contract.responses) problems.push(...against(contract.responses[exchange.status]!, exchange.response, 'response'));
      else problems.push(`response: ${operation.name} does not answer ${exchange.status}`);
      return problems;
    },
  };

  function errorProblems(operation: Operation, exchange: Exchange): string[] {
    const body = exchange.response;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return [`response: an error answer without HubSpot's error envelope`];
    if (operation.name === 'token') {
      const allowed: readonly string[] = DOCUMENTED_ERROR_EXTRAS.token;
      return Object.keys(body).flatMap((key) => (allowed.includes(key) ? [] : [`response.${key}: not a field of HubSpot's token refusals (${allowed.join(', ')})`]));
    }
    const extras: readonly string[] = exchange.status === 429 ? DOCUMENTED_ERROR_EXTRAS.rateLimit : DOCUMENTED_ERROR_EXTRAS.api;
    const rest = Object.fromEntries(Object.entries(body).filter(([key, value]) => !(extras.includes(key) && typeof value === 'string')));
    return models()[CONTRACTS[operation.name].module].check('ModelError', rest, 'response');
  }
}

/** The emulated account's Hub ID: the events cases' event names are qualified with it (`pe12345_purchase`). */
const PORTAL_ID = 12345;

/**
 * The events cases: custom event occurrences of the contact by e-mail, the event id as `uuid`, value and currency as
 * event properties; event names qualified with the portal (`Cart abandoned` → `pe12345_cart_abandoned`).
 */
const events: EventShape = {
  object: 'events',
  keyField: 'uuid',
  fields: { email: 'email', value: 'value', currency: 'currency' },
  expected: (event: ContractEvent) => ({
    eventName: qualifiedEventName(event.event_name, PORTAL_ID),
    email: event.email?.trim().toLowerCase(),
    occurredAt: event.event_time,
    properties: { value: String(event.value), currency: event.currency },
  }),
};

/** The contract mapping as custom contact properties of the emulated account; `external_id` is the unique idProperty. */
export const kit: ContractKit = {
  notApplicable: {},
  schema: hubspotSchema(),
  events,
  async start(options) {
    const rejected = new Set(options.rejectKeys ?? []);
    const emulator = await startHubSpotEmulator({
      properties: [
        { name: 'external_id', type: 'string', unique: true },
        { name: 'first_name', type: 'string' },
        { name: 'orders', type: 'number' },
      ],
      rateLimit: options.rateLimit,
      maxBatchRecords: options.maxBatchRecords,
      reject: (id) => (rejected.has(id) ? { message: 'Property values were not valid: first_name is not allowed' } : undefined),
      eventDefinitions: ['Purchase', 'Cart abandoned'].map((name) => ({ fullyQualifiedName: qualifiedEventName(name, PORTAL_ID)!, properties: ['value', 'currency'] })),
      rejectEvent: (uuid) => (rejected.has(uuid) ? { message: 'property value: Property values were not valid' } : undefined),
    });
    const exchanges = emulator.server.recordExchanges();
    return {
      destination: (o = {}) => ({
        type: 'hubspot',
        base_url: emulator.endpoint,
        token: o.badCredentials ? 'pat-na1-not-the-token' : emulator.token,
        portal_id: PORTAL_ID,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        // Above the emulator's ceiling when the case is about 429s: the sync must then wait, not lose records.
        ...(options.rateLimit ? { requests_per_10_seconds: 1000 } : {}),
        retries: { attempts: 5, base_ms: 20, max_ms: 200 },
      }),
      object: (mode) => (mode === 'audience' ? 'list:42' : 'contacts'),
      records: async (object) => {
        const contacts = emulator.contacts();
        const ids = object.startsWith('list:') ? emulator.listMembers(object.slice(5)) : [...contacts.keys()];
        return new Map(
          ids.map((id) => {
            const { external_id, email, first_name, orders } = contacts.get(id)!;
            const fields = Object.fromEntries(Object.entries({ email, first_name, orders: orders === undefined ? undefined : Number(orders) }).filter(([, v]) => v !== undefined));
            return [String(external_id), fields];
          }),
        );
      },
      maxBatch: () => emulator.stats.maxBatchSeen,
      exchanges,
      rateLimited: () => emulator.server.count(429),
      events: async () => emulator.occurrences().map(({ uuid, eventName, email, occurredAt, properties }) => ({ id: uuid ?? '', fields: { eventName, email, occurredAt, properties } })),
      close: () => emulator.close(),
    };
  },
};
