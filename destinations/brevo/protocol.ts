/**
 * The slice of Brevo's API v3 (`https://api.brevo.com/v3`) that the adapter and its emulator share: contacts, their
 * attributes, list membership, rate limits and errors. Every fact names its source. "Observed" means Brevo behaves so
 * without documenting it (the source is a report of that behaviour); "not documented" means the emulator holds a value
 * Brevo does not publish, chosen as said. Reference pages are under https://developers.brevo.com/reference/, guides
 * under https://developers.brevo.com/docs/.
 */

import type { ApiVersion } from '../destination.js';

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
