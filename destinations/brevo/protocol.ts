/**
 * The slice of Brevo's API v3 (`https://api.brevo.com/v3`) that the adapter and its emulator share: contacts, their
 * attributes, list membership, rate limits and errors. Every fact names its source. "Observed" means Brevo behaves so
 * without documenting it (the source is a report of that behaviour); "not documented" means the emulator holds a value
 * Brevo does not publish, chosen as said. Reference pages are under https://developers.brevo.com/reference/, guides
 * under https://developers.brevo.com/docs/.
 */

import type { CountryCode } from 'libphonenumber-js';
import { parsePhoneNumberFromString } from '../phone-numbers.js';
import type { ApiVersion } from '../kit/index.js';

/**
 * The API version: v3, in every path (`https://api.brevo.com/v3/…`). Brevo has one version and announces no end of
 * support for it (API reference and changelog, https://developers.brevo.com/reference/, read 2026-12-06).
 */
export const BREVO_API_VERSION: ApiVersion = { version: 'v3', sunset: undefined, source: 'https://developers.brevo.com/reference/ (v3, no end of support announced; read 2026-12-06)' };

/**
 * Every request carries the key in the `api-key` header; without it, or with a wrong one, Brevo answers 401
 * `unauthorized`. Source: docs/how-it-works ("Include your API key in the api-key header for every request"),
 * docs/api-key-authentication.
 */
export const API_KEY_HEADER = 'api-key';

/**
 * The error body of every 4xx: `{"code", "message"}`, `code` one of invalid_parameter, missing_parameter,
 * duplicate_parameter, document_not_found, unauthorized, … Source: the `Errors` section of each reference page (e.g.
 * reference/update-batch-contacts: "code (enum, required) — Error code displayed in case of a failure").
 */
export interface BrevoError {
  readonly code: string;
  readonly message: string;
}

/**
 * `POST /contacts` creates a contact and answers 201 `{id}`. With `updateEnabled: true` an existing contact (same
 * e-mail, or same ext_id) is updated instead and the answer is 204 with no body; without it, an existing contact is
 * a 400 `duplicate_parameter`. Sources: reference/create-contact; changelog 2019-02-08 "Operations and Management for
 * Contacts" ("Possibility to update and create a Contact with the same call. Also, added a 204 status code");
 * changelog 2023-03-10 (`ext_id` added to create, update and batch update).
 */
export interface CreateContactBody {
  readonly email?: string;
  readonly ext_id?: string;
  readonly attributes?: Readonly<Record<string, unknown>>;
  readonly listIds?: readonly number[];
  readonly updateEnabled?: boolean;
}

/**
 * `POST /contacts/batch` updates existing contacts only, answering 204. "Each contact in the array must be identified
 * by one of: email, id, or sms (only one identifier per contact)" (reference/update-batch-contacts). When one contact
 * of the batch is unknown, Brevo applies nothing and answers 404 `document_not_found` "No contact found for indexes
 * i,j" — observed, not documented (the reference promises no 404): sendinblue/APIv3-php-library#257,
 * getbrevo/brevo-php#7 ("updateBatchContacts results in 404 when one of emails not found").
 */
export const BATCH_IDENTIFIERS = ['email', 'id', 'sms'] as const;
/**
 * The same identifier twice in one batch: Brevo documents nothing. The emulator refuses it (400
 * `duplicate_parameter`) so that a client sending it notices; the adapter never does (it answers `duplicate_key`).
 */
export const UNKNOWN_INDEXES = /No contact found for indexes\s+([\d,\s]+)/;

/**
 * `POST /contacts/batch` names "only one of the supported contact identifiers" per contact, and the adapter sends a
 * contact with no attribute to learn whether Brevo knows it (the import's read-back, below): Brevo documents no
 * refusal of an empty update, and answers it like any other (204, or the 404 naming unknown indexes).
 *
 * Contacts per `POST /contacts/batch`: not documented (../shared/destinations.md: "max size not documented: make it
 * configurable, default 100"). The emulator refuses more than its configured size with a 400.
 */
export const DEFAULT_BATCH_CONTACTS = 100;

/**
 * Attributes are named in capitals ("The attribute's parameter should be passed in capital letter while creating a
 * contact", docs/synchronise-contact-lists); values of attributes the account does not have are not applied and not
 * refused (observed: ../shared/destinations.md, "unknown attributes are ignored"), which is why `tideline validate
 * --remote` reads `GET /contacts/attributes`.
 */
export function attributeName(field: string): string {
  return field.toUpperCase();
}

/**
 * Attribute categories (reference/get-attributes: normal, transactional, category, calculated, global). Calculated
 * and global attributes hold a formula or a value of the account (`calculatedValue`, reference/create-attribute: "use
 * value for calculated or global attributes"), so a contact cannot be given one: Tideline reports them read-only, and
 * the emulator refuses a contact write naming one with 400 invalid_parameter (Brevo's answer to such a write is not
 * documented).
 */
export const READ_ONLY_CATEGORIES: ReadonlySet<string> = new Set(['calculated', 'global']);

/**
 * Types of a `normal` attribute created with `POST /contacts/attributes/normal/{name}`: text, date, float, boolean
 * ("type 'boolean' is only available if the category is 'normal' attribute, type 'id' is only available if the
 * category is 'transactional'", CreateAttribute model of Brevo's generated SDKs; reference/create-attribute).
 */
export const NORMAL_ATTRIBUTE_TYPES: readonly string[] = ['text', 'date', 'float', 'boolean'];

/**
 * `POST /contacts/lists/{listId}/contacts/add` and `…/remove` take `{"emails": [...]}`, at most 150 a request ("You
 * can pass a maximum of 150 emails for addition in one request" / "for removal", AddContactToList and
 * RemoveContactFromList models of Brevo's generated SDKs, e.g. getbrevo/brevo-php docs/Model), and answer 201
 * `{"contacts": {"success": [...], "failure": [...]}}` (reference/add-contact-to-list, reference/remove-contact-from-list).
 */
export const LIST_EMAILS_PER_REQUEST = 150;

/**
 * Erasure (`tideline forget`): `DELETE /contacts/{identifier}?identifierType=…` deletes one contact
 * (https://developers.brevo.com/reference/delete-contact, read 2026-12-07; ContactsClient.deleteContact and
 * DeleteContactRequestIdentifierType of @getbrevo/brevo 6.0.3). "Option 1 only works if identifierType is email_id
 * (for EMAIL) or contact_id (for ID of the contact)": without identifierType the identifier is an e-mail or a contact
 * id; "Option 2 works for all identifierType": email_id, contact_id, ext_id, phone_id (SMS), whatsapp_id,
 * landline_number_id. The adapter always names the type, so that an ext_id that looks like an e-mail or a number is
 * never read as one. Answers: 204 "Contact deleted" without a body; errors 400, 404 and 405 (the SDK's BadRequestError,
 * NotFoundError, MethodNotAllowedError), each an ErrorModel. An unknown contact is 404 `document_not_found` "Contact
 * does not exist" (observed: sendinblue/APIv3-php-library#64): erasure is then already done. The endpoint is under
 * /v3/contacts: CONTACTS_RATE_LIMIT.
 *
 * What a deletion erases: "Deleting a contact will remove all of their information stored on your Brevo account. This
 * action is irreversible and all data will be permanently lost, including attributes, history, and other related
 * information. Deleting contacts is only recommended for General Data Protection Regulation (GDPR) compliance
 * purposes" (help.brevo.com/hc/en-us/articles/5313915904914, read 2026-12-07). A list member is a contact: removing
 * it from the list keeps the contact and its attributes, so erasure of a list's member deletes the contact.
 *
 * Events: Brevo's API has no operation that deletes an event (the Event API has `POST /events` and `POST
 * /events/batch` only, reference/create-event, reference/create-batch-events, read 2026-12-07); an event is part of
 * its contact's history, which the contact's deletion removes (above). The events plan is therefore manual
 * (EVENTS_ERASURE).
 */
export const CONTACT_PATH = (identifier: string) => `/contacts/${encodeURIComponent(identifier)}`;
export const DELETE_IDENTIFIER_TYPES = ['email_id', 'contact_id', 'ext_id', 'phone_id', 'whatsapp_id', 'landline_number_id'] as const;
export type DeleteIdentifierType = (typeof DELETE_IDENTIFIER_TYPES)[number];
export const CONTACT_DELETION_METHOD = 'Brevo contact deletion: DELETE /v3/contacts/{identifier}?identifierType=email_id|ext_id (developers.brevo.com/reference/delete-contact)';
export const EVENTS_ERASURE =
  "Brevo's API deletes no event (developers.brevo.com/reference/create-batch-events): an event is its contact's history, which Brevo erases with the contact. Erase the person through the sync that writes their contact (tideline forget deletes it: DELETE /v3/contacts/{identifier}), or delete the contact on Brevo's Contacts page (help.brevo.com/hc/en-us/articles/5313915904914): \"all data will be permanently lost, including attributes, history\".";

/**
 * Rate limit of every endpoint under /v3/contacts on the general tier: 10 requests a second and 36,000 an hour
 * (docs/api-limits). Past it Brevo answers 429 with `x-sib-ratelimit-limit`, `-remaining` and `-reset`, the reset "in
 * the granularity unit (typically seconds)"; there is no Retry-After (docs/limit-headers).
 */
export const CONTACTS_RATE_LIMIT = { perSecond: 10, perHour: 36_000 } as const;
export const RATE_HEADERS = { limit: 'x-sib-ratelimit-limit', remaining: 'x-sib-ratelimit-remaining', reset: 'x-sib-ratelimit-reset' } as const;

/**
 * The e-mail check of the emulator: `local@domain.tld`, no spaces, one `@`. Brevo refuses an invalid address with 400
 * `invalid_parameter` but does not document its rule; this is the minimum any address passes.
 */
export function isPlausibleEmail(value: string): boolean {
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value.trim());
}

/**
 * `POST /contacts/import` (reference/import-contacts): an asynchronous upsert of many contacts. The JSON form takes
 * `jsonBody: [{email, attributes}]` (changelog 2022-03-17 "Contact import endpoint now supports JSON body"; the
 * SDK's ImportContactsRequest.JsonBody.Item has exactly `email` and `attributes`, so contacts keyed by ext_id are
 * not imported: they are created one by one with `POST /contacts`), `listIds` — "Mandatory if newList is not
 * defined": every import lands in a list, which is why an upsert sync imports only when it names `import_list_id` —
 * `updateExistingContacts` (existing contacts are updated: the import is an upsert, safe to send again),
 * `emptyContactsAttributes` ("empty fields in your import will erase any attribute", only with
 * updateExistingContacts), `disableNotification`, `notifyUrl`. "Maximum allowed json body size is 10MB. However we
 * recommend a safe limit of around 8 MB": the adapter's batches stay under IMPORT_SAFE_BYTES. No maximum number of
 * contacts is documented (the help centre's file imports: "There is no limit on the number of contacts you can
 * import at once", help.brevo.com/hc/en-us/articles/208729849). It answers 202 `{processId}`
 * (ImportContactsResponse); "Any contact attribute that doesn't exist in your account will be ignored".
 */
export const IMPORT_PATH = '/contacts/import';
export const IMPORT_MAX_BYTES = 10 * 1024 * 1024;
export const IMPORT_SAFE_BYTES = 8 * 1024 * 1024;

/**
 * `GET /processes/{processId}` (reference/get-process): `{id, name, status, info?}`, status one of queued,
 * in_process, processing, completed, failed, cancelled (GetProcessResponse.Status). A completed IMPORTUSER process
 * has `info.import`: URLs of CSV reports "with details about problematic records" — invalid_emails,
 * duplicate_contact_id, duplicate_ext_id, duplicate_email_id, duplicate_phone_id, duplicate_whatsapp_id,
 * duplicate_landline_number_id — each null when there is none. The CSV format of those reports is not documented,
 * so the adapter does not parse them: when a report is present it reads back which contacts of the import Brevo
 * knows (POST /contacts/batch with the e-mails only, see BATCH_IDENTIFIERS) and rejects those it does not
 * (`import_rejected`, naming the reports). Contacts that do exist were imported or updated: accepted.
 */
export const PROCESS_STATUSES = ['queued', 'in_process', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type ProcessStatus = (typeof PROCESS_STATUSES)[number];
export const PROCESS_RUNNING: ReadonlySet<string> = new Set(['queued', 'in_process', 'processing']);
export const IMPORT_REPORTS = ['invalid_emails', 'duplicate_contact_id', 'duplicate_ext_id', 'duplicate_email_id', 'duplicate_phone_id', 'duplicate_whatsapp_id', 'duplicate_landline_number_id'] as const;
export type ImportReport = Partial<Record<(typeof IMPORT_REPORTS)[number], string | null>>;
export interface ProcessAnswer {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  readonly info?: { readonly import?: ImportReport };
}

/**
 * Endpoints outside /v3/contacts — `GET /processes/{id}`, `GET /account` — share "all other endpoints": 100
 * requests an hour on the general tier (docs/api-limits). Polls therefore start at `poll_interval_ms` and back off
 * ×1.5 up to MAX_POLL_WAIT_MS, and one batch is one import. The emulator keeps one rate for every endpoint (its
 * server has a single limiter): this hourly budget is not emulated.
 */
export const OTHER_ENDPOINTS_RATE_LIMIT = { perHour: 100 } as const;
export const MAX_POLL_WAIT_MS = 30_000;

/**
 * The SMS attribute holds the contact's mobile number "with proper country code. For example: {"SMS":"+91xxxxxxxxxx"}
 * or {"SMS":"0091xxxxxxxxxx"}" (UpdateBatchContactsRequest attributes; reference/create-contact: "phone number of the
 * contact (to be passed as "SMS" field in "attributes" along with proper country code)", accepted formats 91…, +91…,
 * 0091…). SMS campaigns reach the contacts of a list through it. WHATSAPP holds the WhatsApp number the same way
 * (help.brevo.com/hc/en-us/articles/208729849: EMAIL, SMS, WHATSAPP, LANDLINE_NUMBER, EXT_ID identify a contact).
 * Tideline sends E.164 (`+33612345678`), the first documented form. These numbers are identifiers: "if the contact
 * being created shares an identifier (email, SMS, ext_id, whatsapp, landline) with an existing contact … a 4xx error
 * is returned on identifier conflict" (reference/create-contact, `forceMerge`); an import reports them in
 * `duplicate_phone_id` / `duplicate_whatsapp_id`. The emulator answers such a conflict 400 `duplicate_parameter`.
 */
export const PHONE_ATTRIBUTES: ReadonlySet<string> = new Set(['SMS', 'WHATSAPP']);

/** A phone number in E.164 (`+14155552671`), `defaultCountry` for national numbers; undefined when not valid. */
export function toE164(value: string, defaultCountry: string | undefined): string | undefined {
  const parsed = parsePhoneNumberFromString(value, defaultCountry as CountryCode | undefined);
  return parsed?.isValid() ? parsed.number : undefined;
}

/**
 * The emulator's check of a phone attribute, the three documented forms: `+` or `00` or nothing, then the country
 * code and number (digits only, 7 to 15 of them: E.164's length). Answers the digits (the identity two numbers share).
 */
export function phoneDigits(value: unknown): string | undefined {
  const match = typeof value === 'string' ? /^(?:\+|00)?([1-9]\d{6,14})$/.exec(value) : null;
  return match?.[1];
}

/**
 * The vendor schema the contract suite checks exchanges against: the TypeScript types of Brevo's official Node SDK,
 * @getbrevo/brevo 6.0.3 (Fern-generated from Brevo's OpenAPI document, github.com/getbrevo/brevo-node). Its client
 * sends request objects as they are (`body: request`, or the request without its path parameters) and returns
 * `_response.body` untyped-cast: no serialisation layer renames anything, so the wire names are the TypeScript
 * property names. Each operation the adapter calls maps to its request type (body) and answer type; error answers
 * are `ErrorModel` ({code?, message}).
 */
export const SCHEMA_PACKAGE = '@getbrevo/brevo';
export const SCHEMA_VERSION = '6.0.3';
export interface SchemaOperation {
  readonly method: string;
  readonly path: RegExp;
  /** The request body's type (a type expression over the package's `Brevo` namespace), or null: no body. */
  readonly request: string | null;
  /** The success answer's type, or null: no body (204, 201 without content). */
  readonly response: string | null;
  /** Answers of particular statuses whose type is not `response` (2xx) or ErrorModel (the others). */
  readonly statuses?: Readonly<Record<number, string>>;
}
export const SCHEMA_OPERATIONS: readonly SchemaOperation[] = [
  { method: 'GET', path: /^\/v3\/account$/, request: null, response: 'Brevo.GetAccountResponse' },
  { method: 'GET', path: /^\/v3\/contacts\/attributes$/, request: null, response: 'Brevo.GetAttributesResponse' },
  { method: 'POST', path: /^\/v3\/contacts\/attributes\/[^/]+\/[^/]+$/, request: "Omit<Brevo.CreateAttributeRequest, 'attributeCategory' | 'attributeName'>", response: null },
  { method: 'POST', path: /^\/v3\/contacts$/, request: 'Brevo.CreateContactRequest', response: 'Brevo.CreateContactResponse' },
  // Contact deletion (CONTACT_PATH): 204 without a body; 400, 404, 405 ErrorModel.
  { method: 'DELETE', path: /^\/v3\/contacts\/[^/]+$/, request: null, response: null },
  { method: 'POST', path: /^\/v3\/contacts\/batch$/, request: 'Brevo.UpdateBatchContactsRequest', response: null },
  { method: 'POST', path: /^\/v3\/contacts\/import$/, request: 'Brevo.ImportContactsRequest', response: 'Brevo.ImportContactsResponse' },
  { method: 'GET', path: /^\/v3\/processes\/\d+$/, request: null, response: 'Brevo.GetProcessResponse' },
  { method: 'POST', path: /^\/v3\/contacts\/lists\/\d+\/contacts\/add$/, request: 'Brevo.AddContactToListRequestBody', response: 'Brevo.PostContactInfo' },
  { method: 'POST', path: /^\/v3\/contacts\/lists\/\d+\/contacts\/remove$/, request: 'Brevo.RemoveContactFromListRequestBody', response: 'Brevo.PostContactInfo' },
  { method: 'POST', path: /^\/v3\/events$/, request: 'Brevo.CreateEventRequest', response: null },
  // EVENTS_BATCH_PATH: 202 BatchAcceptedResponse; 207, and 400 when every event failed, BatchEventsResponse; a 400
  // refusing the request itself (not JSON, no `events`) is Brevo's usual ErrorModel.
  {
    method: 'POST',
    path: /^\/v3\/events\/batch$/,
    request: 'Brevo.CreateBatchEventsRequest',
    response: 'Brevo.BatchAcceptedResponse',
    statuses: { 207: 'Brevo.BatchEventsResponse', 400: 'Brevo.BatchEventsResponse | Brevo.ErrorModel' },
  },
];
export const SCHEMA_ERROR = 'Brevo.ErrorModel';

// ---- events ----

/**
 * Brevo's Events API (read 2026-12-07):
 *  - `POST /events` creates one event (reference/create-event; 204), `POST /events/batch` many (reference/
 *    create-batch-events, added 2026-03-03: changelog/2026/3/3 "Batch event creation"). Tideline sends batches.
 *  - an event: `event_name` (required; "Limited to 255 characters; only alphanumeric characters, hyphens (-), and
 *    underscores (_) are allowed"), `event_date` ("ISO 8601 timestamp of when the event occurred … If no value is
 *    passed, the timestamp of the event creation is used"), `identifiers` (required; "At least one identifier is
 *    required": contact_id, email_id, ext_id, landline_number_id, phone_id, whatsapp_id), `contact_properties`
 *    (contact attributes updated with the event, "FIRSTNAME": "Jane"), `event_properties` ("Keys are limited to 255
 *    characters, alphanumerical characters and - _ only. Size is limited to 50KB"), `object`. The SDK's
 *    CreateEventRequest and CreateBatchEventsRequest (@getbrevo/brevo 6.0.3) say the same.
 *  - the batch's answers: 202 BatchAcceptedResponse `{message, count}` ("Batch accepted - all events have been added
 *    to the processing queue"); "if some events fail validation, the API returns a 207 status with a breakdown of
 *    successful and failed events, including per-event error messages" (changelog 2026-03-03): BatchEventsResponse
 *    `{status, total_events, successful_events, failed_events, errors: [{eventIndex: [0-based], message}]}`; 400 with
 *    the same body when "all events in the batch failed validation" (Brevo's OpenAPI document of the Event API, as
 *    mirrored by api-evangelist/brevo openapi/brevo-event-api-openapi.yml, 2026-10-12). The events of a 207 that no
 *    error names were accepted.
 *  - events per batch: not documented. The adapter sends `batch_size` (default 100) and the emulator refuses more
 *    than its configured size, as for contacts (DEFAULT_BATCH_CONTACTS).
 *  - rate: `POST /v3/events` 36,000 an hour and 10 a second on the general tier (docs/api-limits); `/v3/events/batch`
 *    is not in that table. The destination keeps its 10 requests a second.
 *  - no de-duplication key and no oldest event_date are documented: every event sent is kept, and none is too old.
 */
export const EVENTS_BATCH_PATH = '/events/batch';
export const EVENT_NAME = /^[A-Za-z0-9_-]{1,255}$/;
export const EVENT_PROPERTY_KEY = /^[A-Za-z0-9_-]{1,255}$/;
export const EVENT_PROPERTIES_MAX_BYTES = 50 * 1024;
export const EVENT_IDENTIFIERS = ['contact_id', 'email_id', 'ext_id', 'landline_number_id', 'phone_id', 'whatsapp_id'] as const;
export type EventIdentifier = (typeof EVENT_IDENTIFIERS)[number];

/** A batch answer naming failed events (207, or 400 when all failed): BatchEventsResponse. */
export interface BatchEventsAnswer {
  readonly status: string;
  readonly total_events: number;
  readonly successful_events: number;
  readonly failed_events: number;
  readonly errors: readonly { readonly eventIndex?: readonly number[]; readonly message?: string }[];
}

/**
 * An event name as Brevo takes it: characters other than letters, digits, `-` and `_` become `_` (`Cart abandoned` →
 * `Cart_abandoned`), at most 255. Tideline's convention, so that models can name events as they please.
 */
export function brevoEventName(name: string): string {
  return name.trim().replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 255);
}
