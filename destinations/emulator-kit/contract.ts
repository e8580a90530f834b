import type { Exchange } from './server.js';

/**
 * What each destination gives the shared contract suite (test/destination-contract*.test.ts) in
 * destinations/<type>/contract.ts as `export const kit: ContractKit`. The suite syncs a fixed mapping — key
 * `external_id`, fields `email`, `first_name`, `orders` (see CONTRACT_MAPPING) — into a fresh environment per case,
 * and checks what the destination then holds.
 *
 * A destination that cannot take that mapping (an ads audience, which only takes identifiers it hashes) declares its
 * own `shape` instead: the mode, key field and identifier fields it syncs from generated contacts (`contacts()`,
 * raw identifiers as a warehouse holds them), and what it should then hold for those contacts. The suite's cases
 * then run in that shape: writes in the shape's mode, to `object(shape.mode)`, compared with `shape.expected`.
 */
export const CONTRACT_CASES = [
  'auth',
  'batch-limits',
  'rate-limit',
  'partial-failure',
  'idempotent-rerun',
  'audience',
  'mirror-delete',
  'thousand-records',
  'events-once',
  'events-late',
  'events-partial-failure',
  'events-too-old',
  'events-resend',
  'forget',
  'forget-events',
] as const;
export type ContractCase = (typeof CONTRACT_CASES)[number];

export const CONTRACT_MAPPING = {
  keyField: 'external_id',
  fields: ['email', 'first_name', 'orders'],
} as const;

/** A generated contact: raw identifiers, written the way a warehouse holds them (capitals, spaces, punctuation). */
export interface Contact {
  readonly id: number;
  readonly email: string | null;
  readonly phone: string | null;
  readonly first_name: string | null;
  readonly last_name: string | null;
  readonly orders: number;
}

/** Columns of a contact, in the source table of the suite's model. */
export const CONTACT_COLUMNS = [
  { name: 'id', type: 'integer' },
  { name: 'email', type: 'string' },
  { name: 'phone', type: 'string' },
  { name: 'first_name', type: 'string' },
  { name: 'last_name', type: 'string' },
  { name: 'orders', type: 'integer' },
] as const;

/** Distinct lower-case letters for a number (0 → a, 1 → b, 26 → ba): names that differ once reduced to a–z. */
function letters(n: number): string {
  return [...n.toString(26)].map((c) => String.fromCharCode(97 + Number.parseInt(c, 26))).join('');
}

/** The contact of an id: e-mail ` Contact<id>@Example.COM`, phone `+33 6 10 00 …<id>` (French mobile), names. */
export function contact(id: number): Contact {
  const d = String(10_000_000 + id);
  const name = letters(id);
  return {
    id,
    email: ` Contact${id}@Example.COM`,
    phone: `+33 6 ${d.slice(0, 2)} ${d.slice(2, 4)} ${d.slice(4, 6)} ${d.slice(6)}`,
    first_name: `Ann ${name[0]!.toUpperCase()}${name.slice(1)}`,
    last_name: `O'${name}-Lee`,
    orders: id % 7,
  };
}

export function contacts(count: number, start = 1): Contact[] {
  return Array.from({ length: count }, (_, i) => contact(start + i));
}

/** An identifier field a shape may map: the contact's column of the same name. */
export type ContactField = Exclude<keyof Contact, 'id' | 'orders'>;

/** The sync a destination needs instead of the contract mapping. */
export interface ContractShape {
  /** The mode of the suite's writes (removals, in audience mode, are the leavers of the model). */
  readonly mode: 'audience';
  /** The sync's key field; the key comes from the contact's id. */
  readonly keyField: string;
  /** Identifier fields, each mapped from the contact's column of the same name. */
  readonly fields: readonly ContactField[];
  /** What the destination should hold (as `records()` shows it) for exactly these contacts. */
  expected(contacts: readonly Contact[]): Map<string, Record<string, unknown>>;
  /**
   * A contact changed in a mapped field, for the rerun case. Default: a new first name and phone; a destination that
   * maps neither (LinkedIn takes e-mails only) changes what it maps.
   */
  change?(contact: Contact): Contact;
}

/**
 * An event of the suite's events cases (destinations whose modes include `events`): a row of the source table of
 * the events model, with raw identifiers as a warehouse holds them (see `contact`).
 */
export interface ContractEvent {
  /** The event's id, unique: `ev-<n>`. */
  readonly event_id: string;
  /** The contact it belongs to (contact(customer_id) holds its identifiers). */
  readonly customer_id: number;
  readonly email: string | null;
  readonly phone: string | null;
  /** `Purchase` or `Cart abandoned` (alternating). */
  readonly event_name: string;
  /** When it happened: ISO-8601 UTC text with milliseconds. */
  readonly event_time: string;
  /** Its value in `currency` (two decimals). */
  readonly value: number;
  readonly currency: string;
}

/** Columns of an event, in the source table of the events cases' model. */
export const EVENT_COLUMNS = [
  { name: 'event_id', type: 'string' },
  { name: 'customer_id', type: 'integer' },
  { name: 'email', type: 'string' },
  { name: 'phone', type: 'string' },
  { name: 'event_name', type: 'string' },
  { name: 'event_time', type: 'timestamp' },
  { name: 'value', type: 'float' },
  { name: 'currency', type: 'string' },
] as const;

/**
 * `count` events numbered from `start`, of contacts 1…20 in turn, happening `minutesApart` minutes apart and ending
 * `endMinutesAgo` minutes before `now` (the last event is the newest).
 */
export function contractEvents(count: number, options: { readonly start?: number; readonly now?: Date; readonly endMinutesAgo?: number; readonly minutesApart?: number } = {}): ContractEvent[] {
  const start = options.start ?? 1;
  const now = (options.now ?? new Date()).getTime();
  const apart = (options.minutesApart ?? 5) * 60_000;
  const end = now - (options.endMinutesAgo ?? 10) * 60_000;
  return Array.from({ length: count }, (_, i) => {
    const n = start + i;
    const who = contact(((n - 1) % 20) + 1);
    return {
      event_id: `ev-${n}`,
      customer_id: who.id,
      email: who.email,
      phone: who.phone,
      event_name: n % 2 ? 'Purchase' : 'Cart abandoned',
      event_time: new Date(end - (count - 1 - i) * apart).toISOString(),
      value: Math.round(((n * 37) % 20_000) + 99) / 100,
      currency: 'EUR',
    };
  });
}

/** A mapped field of an events sync: a column of EVENT_COLUMNS, with clean-ups, or a constant (as sync YAML writes it). */
export type EventFieldSpec = string | { readonly from?: string; readonly constant?: string | number | boolean; readonly transform?: readonly string[] };

/**
 * How the events cases sync events to a destination (its modes include `events`): the sync's object, key field and
 * fields, and what the destination should hold for the events sent. The event's name and time come from the
 * columns `event_name` and `event_time`; its id (the sync key) from `event_id`.
 */
export interface EventShape {
  /** The object of the events sync (`events`, `dataset:<id>`…). */
  readonly object: string;
  /** The destination field the event id fills (`event_id`, `unique_id`…). */
  readonly keyField: string;
  /** Destination field → column of EVENT_COLUMNS or constant. */
  readonly fields: Readonly<Record<string, EventFieldSpec>>;
  /**
   * What the destination holds for one event, as `events()` reports it (the id aside): checked for every event the
   * suite sent, so the adapter's mapping (name, time, value, hashed identifiers) is what the vendor received.
   */
  expected(event: ContractEvent): Record<string, unknown>;
}

/** An event as the destination holds it: every copy it kept, in arrival order (a destination that de-duplicates keeps one). */
export interface HeldEvent {
  readonly id: string;
  readonly fields: Record<string, unknown>;
}

export interface ContractOptions {
  /** A folder for the environment's files. */
  readonly dir: string;
  /** The emulator refuses requests with more records than this. */
  readonly maxBatchRecords?: number;
  /**
   * The emulator's request ceiling, answered with the API's 429 beyond it: a token bucket, a burst of `requests`
   * refilled at `requests` per `perMs`. The rate-limit case keeps both small, so that a sync meets 429s however slow
   * the machine runs it.
   */
  readonly rateLimit?: { readonly requests: number; readonly perMs: number };
  /** Keys (contact or person ids, event ids) the destination refuses one by one (a partial failure, in the API's own format). */
  readonly rejectKeys?: readonly string[];
}

export interface ContractEnvironment {
  /** The `destinations:` entry (without `name`) pointing at the environment; with wrong credentials if asked. */
  destination(options?: { readonly badCredentials?: boolean; readonly batchSize?: number }): Record<string, unknown>;
  /** The object name to sync to, for a mode. */
  object(mode: string): string;
  /** What the destination holds in `object`: key → fields (as the contract mapping names them). */
  records(object: string): Promise<Map<string, Record<string, unknown>>>;
  /** Most records (people, members) seen in one request, when the environment can tell. */
  maxBatch?(): number;
  /** Every request and answer so far (from `EmulatorServer.recordExchanges()`): required with a kit's `schema`. */
  exchanges?(): readonly Exchange[];
  /** Rate-limit answers given so far, when the environment has a rate limit. */
  rateLimited?(): number;
  /** Every event the destination holds in `object` (required when the kit has `events`). */
  events?(object: string): Promise<readonly HeldEvent[]>;
  close(): Promise<void>;
}

/** What a case asks of the destination entry: wrong credentials (the auth case), a batch size. */
export type DestinationOptions = NonNullable<Parameters<ContractEnvironment['destination']>[0]>;

/** Retries of the suite's destinations: quick, so that a case's faults are retried within its time. */
export const SUITE_RETRIES = { attempts: 5, base_ms: 20, max_ms: 200 } as const;


/** `records()` of an emulator's store: a copy of each record it holds under the object, by key. */
export function heldCopy(records: Iterable<readonly [string, object]>): Map<string, Record<string, unknown>> {
  return new Map([...records].map(([k, v]) => [k, { ...v }]));
}

/**
 * The vendor's published contract, as the contract suite checks it: after every case, each request the adapter made
 * and each answer the emulator gave is checked against the vendor's schema for that operation. `check` answers the
 * problems of one exchange (`[]` when it conforms); an operation the schema does not know is itself a problem, so an
 * adapter cannot call an endpoint nobody checked.
 */
export interface VendorSchema {
  /** Where the schema comes from: the npm package and version, or the documentation page of documented shapes. */
  readonly source: string;
  /** Why the schema cannot be read here (its package is not installed): the checks are skipped, loudly. */
  unavailable?(): string | undefined;
  check(exchange: Exchange): readonly string[] | Promise<readonly string[]>;
}

export interface ContractKit {
  /** The vendor's published contract the emulator's exchanges are checked against (CRM and marketing tools). */
  readonly schema?: VendorSchema;
  /** Cases that cannot apply to this destination, each with the reason (printed as the skip reason). */
  readonly notApplicable: Partial<Record<ContractCase, string>>;
  /** The sync shape the cases use instead of the contract mapping, for a destination that cannot take it. */
  readonly shape?: ContractShape;
  /** How the events cases sync events, for a destination whose modes include `events` (required then). */
  readonly events?: EventShape;
  start(options: ContractOptions): Promise<ContractEnvironment>;
}
