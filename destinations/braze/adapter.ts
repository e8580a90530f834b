import { z } from 'zod';
import { ApiClient, bearer, defineDestination, Outcomes, parseJson, rejected, stopSync, type Batch, type Indexed, type ConfigProblem, type DestinationSession, type FieldValue, type HttpResponse, type OutboundRecord, type RecordOutcome } from '../kit/index.js';
import { BrazeEmulator, startBrazeEmulator } from './emulator.js';
import { checkEventSync, eventObject } from './events.js';
import { BRAZE_DELETE_DOCS, BRAZE_USERS_OBJECT, DELETE_IDENTIFIERS, DELETE_IDS_PER_REQUEST, isBrazeEventObject, type DeleteIdentifier, RATE_HEADERS, TRACK_OBJECTS_PER_REQUEST, TRACK_RATE_LIMIT, UPDATE_EXISTING_ONLY, type TrackResponse } from './protocol.js';

export { BRAZE_USERS_OBJECT } from './protocol.js';

export const brazeConfigSchema = z.strictObject({
  /** REST API key with the `users.track` permission (events and purchases too; `users.delete` for mirror syncs and `tideline forget`). */
  api_key: z.string().min(1),
  /** The workspace's REST endpoint, e.g. https://rest.iad-01.braze.com (Settings → APIs and identifiers). */
  rest_endpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL such as https://rest.iad-01.braze.com' }),
  /**
   * Objects per /users/track request. Braze's docs differ between 75 per array and 75 combined: Tideline sends one
   * array per request, so 75 is safe either way. Workspaces on "Monthly Active Users CY 24-25" take 50 combined.
   */
  objects_per_request: z.number().int().min(1).max(TRACK_OBJECTS_PER_REQUEST).default(TRACK_OBJECTS_PER_REQUEST),
  /** The array custom attribute that audience syncs add their object name to (and remove it from). */
  audience_attribute: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'a custom attribute name (letters, digits, _)').default('tideline_audiences'),
});
export type BrazeConfig = z.infer<typeof brazeConfigSchema>;

/**
 * Braze users through `/users/track` attributes, keyed by `external_id`.
 * - upsert: attributes objects (Braze creates unknown users). A field mapped to null under `null_policy: overwrite`
 *   removes the attribute.
 * - mirror: `delete` is `POST /users/delete` — irreversible: the user, their history and their devices are gone.
 * - audience: the sync's object is an audience name added to (removed from) the array custom attribute
 *   `audience_attribute` of each user (segment on "`tideline_audiences` includes value"). Removals never create a
 *   user (`_update_existing_only`). Braze caps array attributes (25 values by default, up to 100 in the dashboard).
 * - events: the object is `events` (custom events) or `purchases`, one /users/track object per record (events.ts):
 *   the event name (the product_id of a purchase), its time, the user's identifiers, properties with the event id
 *   under the key's field name. Braze keeps every copy it receives (no de-duplication): a run that dies may leave
 *   duplicates of the events in flight.
 * - forget (`tideline forget`, every mode): `POST /users/delete` of the person's user — by the key (external_id) of
 *   users and audience syncs; by the external_id (else braze_id) an events sync retained of the event's user, since
 *   Braze erases events only with the profile that holds them. An event that named its user by e-mail or phone only
 *   is rejected with what to do instead.
 * Non-fatal errors (`errors[]` with an `index`) reject the record they name; the rest were processed.
 * Rate: 3,000 /users/track requests per 3 s, with X-RateLimit-Reset (epoch seconds) honoured on 429.
 */
export const braze = defineDestination<BrazeConfig>({
  type: 'braze',
  summary: 'Braze users via /users/track attributes (audiences as an array attribute), custom events and purchases, deletes via /users/delete',
  configSchema: brazeConfigSchema,
  modes: ['upsert', 'mirror', 'audience', 'events'],
  // No maximum age is documented, and Braze treats "duplicate" events as separate events (protocol.ts).
  events: { maxAgeDays: () => undefined, deduplication: undefined },
  secrets: (config) => [config.api_key],
  limits: (config) => ({
    maxBatchRecords: config.objects_per_request,
    maxBatchBytes: 4_000_000,
    requestsPerSecond: TRACK_RATE_LIMIT.requests / (TRACK_RATE_LIMIT.perMs / 1000),
    concurrency: 8,
    timeoutMs: 30_000,
  }),
  checkSync: (config, sync) => (sync.mode === 'events' ? checkEventSync(sync) : checkBrazeSync(config, sync)),
  lockScope: (config, object) => `braze:${new URL(endpointOf(config)).host}#${object}`,
  // Whatever the sync wrote — attributes, an audience value, events — Braze erases it by deleting the user, and only
  // so (protocol.ts, BRAZE_DELETE_DOCS); removing the audience value would keep the profile.
  erasure: (_config, sync) => ({
    operation: 'forget',
    method: `Braze delete users: POST /users/delete ${sync.mode === 'events' ? "of the event's user, with their events and purchases" : 'by external_id'} (${BRAZE_DELETE_DOCS})`,
  }),
  // The user an event named, so that `tideline forget` can delete them (users syncs key by external_id already).
  retainFields: () => USER_IDS,
  open: async (config, context) => new BrazeSession(config, context.mode === 'audience'),
  emulator: {
    start: (context) => startBrazeEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof BrazeEmulator)) throw new Error('the braze sandbox needs a braze emulator');
      return { ...config, rest_endpoint: emulator.endpoint, api_key: emulator.apiKey };
    },
  },
});

function checkBrazeSync(config: BrazeConfig, sync: { object: string; mode: string; keyField: string; fields: readonly string[] }): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (sync.keyField !== 'external_id') problems.push({ at: ['key'], message: `Braze users are keyed by external_id: write the key to field "external_id", not "${sync.keyField}"` });
  if (sync.mode !== 'audience' && sync.object !== BRAZE_USERS_OBJECT) problems.push({ at: ['object'], message: `the Braze object is "${BRAZE_USERS_OBJECT}" (audience syncs name an audience; events syncs send events or purchases)` });
  for (const field of sync.fields) {
    if (field.startsWith('$')) problems.push({ at: ['fields', field], message: 'Braze attribute names may not start with $' });
    if (field === config.audience_attribute) problems.push({ at: ['fields', field], message: `"${field}" is the destination's audience_attribute` });
  }
  return problems;
}

function endpointOf(config: BrazeConfig): string {
  return config.rest_endpoint.replace(/\/+$/, '');
}

type Attributes = Record<string, FieldValue | { add?: string[]; remove?: string[] }>;

/** The user identifiers an events sync's snapshot keeps, in the order erasure prefers them. */
const USER_IDS = ['external_id', 'braze_id'] as const;
const DELETE_LIST: Readonly<Record<(typeof USER_IDS)[number], DeleteIdentifier>> = { external_id: 'external_ids', braze_id: 'braze_ids' };

class BrazeSession implements DestinationSession {
  readonly #client: ApiClient;

  constructor(
    private readonly config: BrazeConfig,
    private readonly audience: boolean,
  ) {
    this.#client = new ApiClient({
      vendor: 'braze',
      baseUrl: endpointOf(config),
      // Authorization: Bearer <REST API key> (https://www.braze.com/docs/api/basics/#rest-api-key).
      headers: bearer(config.api_key),
      rateLimit: (response) => untilReset(response.headers),
      detail: messageOf,
      // A fatal 4xx refuses the request as a whole (a malformed object, too many objects): the engine splits it;
      // 404/405 mean the endpoint is not Braze's REST endpoint.
      refused: (response, what) => (response.status === 404 || response.status === 405 ? stopSync(`${what}: check the destination's rest_endpoint`) : undefined),
    });
  }

  /**
   * Nothing to ask: Braze has no read-only endpoint that every key allowed to call /users/track may call. Wrong
   * credentials surface as the first batch's 401, which stops the sync before any record is recorded as sent.
   */
  async check(): Promise<void> {}

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    if (batch.operation === 'delete' || batch.operation === 'forget') return this.delete(batch);
    if (batch.operation === 'track') return this.track(batch);
    const objects = batch.records.map((record) => this.attributes(batch, record));
    const body = await this.#client.json<TrackResponse>('POST', '/users/track', { body: { attributes: objects }, signal: batch.signal });
    const refused = nonFatal(body, 'attributes');
    return batch.records.map((_, i): RecordOutcome => {
      const type = refused.get(i);
      return type === undefined ? { ok: true } : rejected(codeOf(type), type);
    });
  }

  async close(): Promise<void> {}

  /** The batch's events (or purchases) in one /users/track request; a non-fatal error rejects the object it indexes. */
  private async track(batch: Batch): Promise<readonly RecordOutcome[]> {
    const array = batch.object;
    if (!isBrazeEventObject(array)) throw stopSync(`the Braze object of an events sync is events or purchases, not "${array}"`);
    const outcomes = new Outcomes(batch, 'braze');
    const sent: (Indexed & { readonly object: Record<string, unknown> })[] = [];
    for (const item of outcomes.distinct()) {
      const prepared = eventObject(item.record, array, batch.keyField);
      if ('outcome' in prepared) outcomes.settle(item.index, prepared.outcome);
      else sent.push({ ...item, object: prepared.object });
    }
    if (!sent.length) return outcomes.done();
    const body = await this.#client.json<TrackResponse>('POST', '/users/track', { body: { [array]: sent.map((s) => s.object) }, signal: batch.signal });
    for (const [index, type] of nonFatal(body, array)) if (sent[index]) outcomes.settle(sent[index].index, rejected(codeOf(type), type));
    outcomes.settleAll(sent, () => ({ ok: true }));
    return outcomes.done();
  }

  private attributes(batch: Batch, record: OutboundRecord): Attributes {
    const attribute = this.config.audience_attribute;
    if (batch.operation === 'remove') return { external_id: record.key, [UPDATE_EXISTING_ONLY]: true, [attribute]: { remove: [batch.object] } };
    const object: Attributes = { ...record.fields, external_id: record.key };
    if (this.audience) object[attribute] = { add: [batch.object] };
    return object;
  }

  /**
   * Deletes users through /users/delete, at most 50 ids of one kind a request (an id Braze no longer holds is counted,
   * not refused: protocol.ts). A users or audience record is the user of its key; an event record (forget in an
   * events sync) the user it named, as the snapshot retained them.
   */
  private async delete(batch: Batch): Promise<readonly RecordOutcome[]> {
    const events = isBrazeEventObject(batch.object);
    const outcomes = new Outcomes(batch, 'braze');
    const ids: Record<DeleteIdentifier, Set<string>> = { external_ids: new Set(), braze_ids: new Set() };
    batch.records.forEach((record, index) => {
      // As events.ts sent it: the identifier's text.
      const named = events ? USER_IDS.find((field) => record.fields[field] !== undefined && record.fields[field] !== null && record.fields[field] !== '') : undefined;
      if (!events) ids.external_ids.add(record.key);
      else if (named) ids[DELETE_LIST[named]].add(String(record.fields[named]));
      else outcomes.settle(index, rejected('no_user_id', "the event named its user by e-mail or phone only: Braze erases events with the user's profile; find the user in Braze's dashboard (Audience > Search Users) and delete them there"));
    });
    for (const list of DELETE_IDENTIFIERS) {
      const all = [...ids[list]];
      for (let start = 0; start < all.length; start += DELETE_IDS_PER_REQUEST) {
        await this.#client.request('POST', '/users/delete', { body: { [list]: all.slice(start, start + DELETE_IDS_PER_REQUEST) }, signal: batch.signal });
      }
    }
    batch.records.forEach((_, index) => outcomes.get(index) ?? outcomes.settle(index, { ok: true }));
    return outcomes.done();
  }
}

/** The non-fatal errors of an answer about one array: index in that array → Braze's error type. */
function nonFatal(body: TrackResponse | undefined, array: string): Map<number, string> {
  const refused = new Map<number, string>();
  for (const error of body?.errors ?? []) {
    if (typeof error === 'object' && error.input_array === array && typeof error.index === 'number') refused.set(error.index, error.type ?? 'refused by Braze');
  }
  return refused;
}

/** Milliseconds until X-RateLimit-Reset (epoch seconds); undefined when absent. */
export function untilReset(headers: Headers, now = Date.now()): number | undefined {
  const reset = Number(headers.get(RATE_HEADERS.reset));
  if (!headers.get(RATE_HEADERS.reset) || !Number.isFinite(reset)) return undefined;
  // Whole seconds: wait at least a little so a reset "now" is not hammered.
  return Math.max(250, reset * 1000 - now);
}

function codeOf(type: string): string {
  if (/external_id|braze_id|user_alias/.test(type)) return 'missing_identifier';
  if (/email/i.test(type)) return 'invalid_email';
  if (/time/i.test(type)) return 'invalid_time';
  if (/currency|price|quantity|product_id/i.test(type)) return 'invalid_purchase';
  if (/propert/i.test(type)) return 'invalid_property';
  return 'invalid_attribute';
}

function messageOf(response: HttpResponse): string {
  const body = parseJson<{ message?: unknown }>(response.text);
  return typeof body?.message === 'string' ? body.message.slice(0, 300) : '';
}
