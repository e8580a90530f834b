/**
 * Masking for display (`tideline plan` samples, `tideline audience preview` members, `tideline show`, `tideline
 * rejected` keys): output that ends up in CI logs shows no personal data. It fails safe: text is masked unless its
 * column is known not to hold personal data.
 *
 * Masked:
 *  - a sync's key (it identifies a person: an e-mail, a phone number, a customer id);
 *  - a column or field whose name says it holds a person's e-mail, phone, name, address, birth date, IP or device
 *    identifier, or the id or name of a customer, user, contact or member;
 *  - any other text, date, list or object whose column's name does not say what it holds (`notes`, `contact`,
 *    `handle`, `nom`…): lists and objects element by element;
 *  - a value hashed by the mapping (`sha256`, `md5`): hashed identifiers are still personal data;
 *  - any text that looks like an e-mail address, a phone number or a hex digest, whatever its column.
 * Shown: constants of the mapping, numbers and booleans, and the values of columns whose name says they are not
 * personal (SHOWN_WORDS: segment and audience names, channels, statuses, tiers, lifecycle stages, event and order
 * ids, times and dates of events) — unless a value there looks like an e-mail, a phone or a digest.
 *
 * Masked text keeps its first character and its shape — an e-mail its `@` and the end of its domain — so a reader
 * can tell a value from a blank; hex digests keep 8 characters.
 */
export function maskValue(value: unknown): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value ?? null;
  const text = value instanceof Date ? value.toISOString() : String(value);
  if (HEX_DIGEST.test(text)) return `${text.slice(0, 8)}…`;
  const at = text.indexOf('@');
  if (at > 0) {
    const domain = text.slice(at + 1);
    const dot = domain.lastIndexOf('.');
    return `${maskText(text.slice(0, at))}@${dot > 0 ? `${maskText(domain.slice(0, dot))}${domain.slice(dot)}` : maskText(domain)}`;
  }
  return maskText(text);
}

/**
 * `value` masked if it is personal: its column is (`personal`), or it looks like an e-mail, a phone or a digest. A list
 * is masked element by element, an object by its own keys.
 */
export function maskIfPersonal(value: unknown, personal: boolean): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value ?? null;
  if (Array.isArray(value)) return value.map((item) => maskIfPersonal(item, personal));
  if (typeof value === 'object' && !(value instanceof Date)) return maskRecord(value as Record<string, unknown>, (key) => personal || personalName(key));
  return personal || looksPersonal(value instanceof Date ? value.toISOString() : String(value)) ? maskValue(value) : value;
}

/** Each value of `record` masked if it is personal; `personal(column)` says which columns are. */
export function maskRecord(record: Readonly<Record<string, unknown>>, personal: (column: string) => boolean = personalName): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, maskIfPersonal(v, personal(k))]));
}

const HEX_DIGEST = /^[0-9a-f]{32,}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9][0-9 ().-]{5,}[0-9]$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}/;

function looksPersonal(text: string): boolean {
  return EMAIL.test(text) || HEX_DIGEST.test(text) || (PHONE.test(text) && !ISO_DATE.test(text) && text.replace(/\D/g, '').length >= 7);
}

/** Words (or two adjacent words run together: `first_name` → `firstname`) that make a name personal. */
const PERSONAL_WORDS = new Set([
  ...['email', 'mail', 'emailaddress', 'emailhash', 'phone', 'phonenumber', 'mobile', 'cell', 'sms', 'msisdn', 'tel', 'telephone', 'fax', 'whatsapp'],
  ...['firstname', 'lastname', 'fullname', 'surname', 'givenname', 'familyname', 'middlename', 'nickname', 'username', 'displayname', 'fname', 'lname', 'login', 'handle'],
  ...['address', 'addr', 'street', 'city', 'zip', 'zipcode', 'postcode', 'postal', 'postalcode'],
  ...['birth', 'birthday', 'birthdate', 'dob', 'ip', 'ipaddress', 'ssn', 'passport', 'iban', 'idfa', 'gaid', 'madid', 'maid', 'deviceid', 'gclid', 'fbclid', 'externalid'],
]);
/** Whose identifier or name (`customer_id`, `contact_name`) is personal. */
const PERSON_WORDS = new Set(['customer', 'user', 'person', 'people', 'contact', 'member', 'client', 'lead', 'subscriber', 'profile', 'visitor', 'recipient']);
const ID_WORDS = new Set(['id', 'key', 'ref', 'uuid', 'guid', 'number', 'no', 'name']);
/** Whole names that are personal: a bare `id` or `name`, and Meta's short keys for hashed identifiers. */
const PERSONAL_NAMES = new Set(['id', 'name', 'em', 'ph', 'fn', 'ln', 'ct', 'st', 'zp', 'db', 'doby', 'dobm', 'dobd', 'fi', 'ge']);
/** Words that say a column holds no personal data (unless a personal word is there too): its values are shown. */
const SHOWN_WORDS = new Set([
  ...['segment', 'audience', 'group', 'list', 'channel', 'status', 'state', 'tier', 'stage', 'lifecycle', 'lifecyclestage', 'type', 'kind', 'category'],
  ...['currency', 'country', 'language', 'locale', 'source', 'campaign', 'event', 'op', 'operation', 'reason', 'consent', 'priority', 'decision'],
  ...['rule', 'metric', 'model', 'sync', 'destination', 'object', 'mode', 'order', 'product', 'sku', 'brand', 'store', 'level', 'label', 'tag', 'flag'],
  ...['at', 'date', 'time', 'timestamp', 'day', 'week', 'month', 'year', 'created', 'updated', 'since', 'until', 'first', 'last'],
  ...['count', 'total', 'amount', 'revenue', 'score', 'rank', 'probability', 'predicted', 'clv', 'ltv', 'churn', 'rfm', 'recency', 'frequency', 'monetary'],
  ...['holdout', 'control', 'variant', 'cohort', 'bucket', 'program', 'message', 'template'],
]);

/** The words of a name: `lastName` → last, name. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** Whether a word, or the singular of a plural (`emails`, `addresses`), is in a set. */
function within(set: ReadonlySet<string>, word: string): boolean {
  return set.has(word) || (word.endsWith('s') && set.has(word.slice(0, -1))) || (word.endsWith('es') && set.has(word.slice(0, -2)));
}

/** Whether a column or field name says it holds personal data. */
function saysPersonal(words: readonly string[]): boolean {
  if (PERSONAL_NAMES.has(words.join(''))) return true;
  for (let i = 0; i < words.length; i++) {
    if (within(PERSONAL_WORDS, words[i]!) || (i + 1 < words.length && within(PERSONAL_WORDS, words[i]! + words[i + 1]!))) return true;
  }
  return words.some((w) => within(PERSON_WORDS, w)) && words.some((w) => within(ID_WORDS, w));
}

/**
 * Whether a column or field's values are to be masked (see the module's comment): its name says personal data, or
 * does not say it is something else. Fails safe: an unknown name is personal.
 */
export function personalName(name: string): boolean {
  const words = wordsOf(name);
  if (saysPersonal(words)) return true;
  return !words.some((w) => within(SHOWN_WORDS, w));
}

function maskText(text: string): string {
  if (text.length === 0) return text;
  const chars = [...text];
  return chars[0] + '*'.repeat(Math.min(chars.length - 1, 8));
}
