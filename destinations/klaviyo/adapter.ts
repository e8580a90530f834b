import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ApiClient, noOutcome, BatchRejectedError, defineDestination, Outcomes, parseJson, RateLimitedError, rejected, scrubEmails, stopSync, StopSyncError, TransientError, type Batch, type ConfigProblem, type DestinationContext, type DestinationSession, type FieldValue, type HttpResponse, type Indexed, type OutboundRecord, type RecordOutcome, type SyncShape, pollJob } from '../kit/index.js';
import { KlaviyoEmulator, startKlaviyoEmulator } from './emulator.js';
import { checkEventSync, EVENT_KEY_FIELD, eventBytes, eventEntry, eventJob, KLAVIYO_EVENTS_OBJECT, type EventEntry } from './events.js';
import { AUTH_SCHEME, CONTENT_TYPE, DELETION, DELETION_METHOD, EVENT_DEDUPLICATION, EVENT_JOB, IDENTIFIERS, IMPORT_RATE_LIMIT, isIdentifier, KLAVIYO_BASE_URL, KLAVIYO_REVISION, klaviyoRevision, LIST_IDS_PER_REQUEST, LOCATION_ATTRIBUTES, LOOKUP_VALUES_PER_REQUEST, MAX_JOB_BYTES, MAX_JOB_PROFILES, MAX_PROFILE_BYTES, PATHS, PROFILE_ATTRIBUTES, SUBSCRIBE_PROFILES_PER_REQUEST, SUBSCRIBED, toE164, type Identifier, type ImportError, type ImportJob, type KlaviyoError } from './protocol.js';

export const klaviyoConfigSchema = z.strictObject({
  /**
   * Private API key with the scopes profiles:read, profiles:write, lists:read, lists:write (and subscriptions:write to
   * subscribe; events:write for events syncs; data-privacy:write and profiles:read for `tideline forget`).
   */
  api_key: z.string().min(1),
  /** The API revision sent in the `revision` header. */
  revision: z.string().regex(/^\d{4}-\d{2}-\d{2}(\.pre)?$/, 'a revision date such as 2026-10-15').default(KLAVIYO_REVISION),
  /** Country assumed for phone numbers written without a +country prefix (ISO 3166 alpha-2, e.g. US). */
  default_country: z.string().regex(/^[A-Z]{2}$/, 'an ISO country code such as US or GB').optional(),
  /** Profiles per import job (Klaviyo: at most 10,000). Events syncs send at most 1,000 events a request whatever it says. */
  batch_size: z.number().int().min(1).max(MAX_JOB_PROFILES).default(MAX_JOB_PROFILES),
  /** First wait before polling an import job; later polls back off ×1.5 up to 10 s. */
  poll_interval_ms: z.number().int().min(10).max(60_000).default(2_000),
  /** Overrides https://a.klaviyo.com (a proxy, the sandbox). */
  base_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
});
export type KlaviyoConfig = z.infer<typeof klaviyoConfigSchema>;

/** The object of upsert syncs. Audience syncs name a list id instead; events syncs `events`. */
export const KLAVIYO_PROFILES_OBJECT = 'profiles';
export { KLAVIYO_EVENTS_OBJECT } from './events.js';

/** The job envelope is small; what is left of 5 MB is the records'. */
const MAX_BATCH_BYTES = MAX_JOB_BYTES - 64 * 1024;

/**
 * Consent fields: a boolean per channel. `true` subscribes the profile to that channel's marketing (Bulk Subscribe
 * Profiles) when the record has the channel's identifier; `false` or null changes nothing. They are never sent as
 * profile properties.
 */
export const CONSENT_FIELDS = { email_consent: 'email', sms_consent: 'sms' } as const;
type Channel = (typeof CONSENT_FIELDS)[keyof typeof CONSENT_FIELDS];
const CHANNEL_IDENTIFIER: Readonly<Record<Channel, Identifier>> = { email: 'email', sms: 'phone_number' };
const isConsentField = (name: string): name is keyof typeof CONSENT_FIELDS => Object.hasOwn(CONSENT_FIELDS, name);

const MAX_POLL_WAIT_MS = 10_000;

/**
 * Klaviyo profiles through bulk import jobs (JSON:API, `revision` header); protocol facts in protocol.ts.
 * - upsert: one `POST /api/profile-bulk-import-jobs` per batch (≤ 10,000 profiles, ≤ 5 MB), then polling of the job
 *   inside `apply` until it is complete (bounded by the batch's signal: a job still running when the time budget is
 *   spent is a TransientError, and the re-sent job is an idempotent upsert). Import errors are mapped back to their
 *   records by `source.pointer` (…/profiles/data/<i>/…) or, failing that, by the identifiers of `original_payload`.
 *   Polling is the one wait an adapter does itself: reading a job's status is not a retry, and a 429 on a read
 *   waits its Retry-After rather than re-sending the job.
 * - consent: records whose `email_consent` / `sms_consent` field is true are then subscribed to that channel's
 *   marketing (`POST /api/profile-subscription-bulk-create-jobs`, ≤ 1,000 profiles a request; in an audience sync
 *   with the list, whose opt-in setting applies). A refused subscription request refuses the batch, which the engine
 *   splits down to the record. Nothing is ever unsubscribed.
 * - audience: the object is a list id. `add` is the same import job with the list as relationship (profiles are
 *   created or updated, then added); `remove` looks the profiles up by the key identifier (`any(…)`, 100 at a time)
 *   and `DELETE /api/lists/{id}/relationships/profiles` (≤ 1,000 ids); a profile not found is not a member.
 * - events: one `POST /api/event-bulk-create-jobs` per batch (≤ 1,000 events: `maxEventsPerBatch`; ≤ 5 MB), one
 *   entry per event with its profile (events.ts). Klaviyo answers 202 or refuses the whole request:
 *   the engine halves a refused batch down to the event. The key is the event's unique_id, on which Klaviyo keeps one
 *   event per profile and metric, so an event sent again after a lost answer or a crash is recorded once.
 * - forget (`tideline forget`): each person's profile is deleted with Request Profile Deletion, one request a
 *   profile, in every mode: a list member is a profile, and an event's person is its profile (whose events Klaviyo
 *   then redacts). The profile is named by the e-mail or phone number the sync keys by (or, for events, retains), or
 *   looked up by external_id and named by its id; one that does not exist is already erased. protocol.ts: DELETION.
 * - mirror: not supported. Klaviyo's API has no profile delete: its only deletion is the irreversible, asynchronous
 *   data-privacy job, and suppression changes consent — neither is what "left the model" means. Sync membership to a
 *   list (an audience sync) and let Klaviyo act on it.
 * Fields: the key is an identifier (email, phone_number or external_id); first_name, last_name, organization,
 * locale, title, image and `location.<part>` are profile attributes; everything else (or `properties.<name>`) is a
 * custom property. Phone numbers are normalised to E.164 (`default_country` for national numbers); an invalid one
 * rejects its record without being sent. Nulls are not sent: a bulk import does not clear a field.
 */
export const klaviyo = defineDestination<KlaviyoConfig>({
  type: 'klaviyo',
  summary: 'Klaviyo profiles via bulk import jobs (with polling and import errors), e-mail/SMS consent via bulk subscribe jobs, list membership for audiences, events via Bulk Create Events (unique_id de-duplicated)',
  configSchema: klaviyoConfigSchema,
  modes: ['upsert', 'audience', 'events'],
  channel: 'email',
  secrets: (config) => [config.api_key],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    // Bulk Create Events takes 1,000 events a request, the import job 10,000 profiles: an events batch is one job.
    maxEventsPerBatch: EVENT_JOB.maxEvents,
    maxBatchBytes: MAX_BATCH_BYTES,
    // Klaviyo counts each endpoint in fixed windows: 10 a second (burst) and 150 a minute (steady) for bulk import
    // jobs, list relationships and Bulk Create Events. One batch is one import job (its polls and error pages go to other endpoints,
    // whose quotas the polling back-off keeps far from), so pacing batches under the steady rate keeps a long sync
    // clear of 429s: 2.4/s = 144/min, a margin so that timer jitter never puts a 151st job into a window. A burst
    // would not help a long sync and would spend the steady window early.
    requestsPerSecond: (IMPORT_RATE_LIMIT.steadyPerMinute - 6) / 60,
    concurrency: 3,
    // An import job may take minutes to process.
    timeoutMs: 600_000,
  }),
  checkSync: (_config, sync) => (sync.mode === 'events' ? checkEventSync(sync, Object.keys(CONSENT_FIELDS)) : checkKlaviyoSync(sync)),
  // Klaviyo documents no maximum age (any time after 1990, EVENT_JOB); it keeps one event per unique_id.
  events: { maxAgeDays: () => undefined, deduplication: EVENT_DEDUPLICATION },
  recordBytes: (record) => (record.event ? eventBytes(record) : Buffer.byteLength(JSON.stringify(record.fields)) + Buffer.byteLength(record.key) + 32),
  // The person's profile is Klaviyo's unit of erasure, whatever the sync wrote of it (protocol.ts: DELETION).
  erasure: () => ({ operation: 'forget', method: DELETION_METHOD }),
  // An event names its person only through these fields: the snapshot keeps them so that `forget` can find the profile.
  retainFields: () => IDENTIFIERS,
  apiVersion: (config) => klaviyoRevision(config.revision),
  lockScope: (config, object) => `klaviyo:${new URL(config.base_url ?? KLAVIYO_BASE_URL).host}#${object}`,
  open: async (config, context) => new KlaviyoSession(config, context),
  // No remoteFields: a Klaviyo profile takes any field (those that are not profile attributes are custom
  // properties), which is what an absent remoteFields says; checkSync checks the attribute names that are fixed.
  emulator: {
    start: (context) => startKlaviyoEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof KlaviyoEmulator)) throw new Error('the klaviyo sandbox needs a klaviyo emulator');
      return { ...config, api_key: emulator.apiKey, base_url: emulator.endpoint, poll_interval_ms: 50 };
    },
  },
});

function checkKlaviyoSync(sync: SyncShape): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (sync.keyField === EVENT_KEY_FIELD) problems.push({ at: ['key'], message: `${EVENT_KEY_FIELD} is the id of an event: ${sync.mode} syncs write their key to ${IDENTIFIERS.join(', ')}` });
  else if (!isIdentifier(sync.keyField)) problems.push({ at: ['key'], message: `a Klaviyo profile is matched by ${IDENTIFIERS.join(', ')}: write the key to one of them, not "${sync.keyField}"` });
  if (sync.mode !== 'audience' && sync.object !== KLAVIYO_PROFILES_OBJECT) problems.push({ at: ['object'], message: `the Klaviyo object is "${KLAVIYO_PROFILES_OBJECT}" (audience syncs name a list id, events syncs "${KLAVIYO_EVENTS_OBJECT}")` });
  if (sync.mode === 'audience' && !/^[A-Za-z0-9]+$/.test(sync.object)) problems.push({ at: ['object'], message: 'an audience sync names a Klaviyo list by its id' });
  const mapped = new Set([...sync.fields, sync.keyField]);
  for (const field of sync.fields) {
    if (field.startsWith('location.') && !(LOCATION_ATTRIBUTES as readonly string[]).includes(field.slice(9))) {
      problems.push({ at: ['fields', field], message: `location takes ${LOCATION_ATTRIBUTES.join(', ')}` });
    }
    if (isConsentField(field) && !mapped.has(CHANNEL_IDENTIFIER[CONSENT_FIELDS[field]])) {
      problems.push({ at: ['fields', field], message: `${field} subscribes by ${CHANNEL_IDENTIFIER[CONSENT_FIELDS[field]]}: map that field too` });
    }
  }
  return problems;
}

/** A profile ready to import, with the channels its record consents to; or the outcome of a record that cannot be sent. */
type Prepared =
  | { readonly attributes: Record<string, unknown>; readonly identifier: string; readonly subscribe: readonly Channel[] }
  | { readonly outcome: RecordOutcome };

/** The profile attributes of a record: identifiers, fixed attributes, location and custom properties; its consents. */
export function profileOf(record: OutboundRecord, keyField: string, defaultCountry: string | undefined): Prepared {
  const attributes: Record<string, unknown> = {};
  const properties: Record<string, FieldValue> = {};
  const location: Record<string, FieldValue> = {};
  const consents: Channel[] = [];
  for (const [name, value] of Object.entries({ ...record.fields, [keyField]: record.key })) {
    if (isConsentField(name)) {
      if (value === true) consents.push(CONSENT_FIELDS[name]);
      continue;
    }
    // Bulk Import Profiles does not clear a field sent as null: nulls are left out.
    if (value === null || value === undefined) continue;
    if (name === 'phone_number' && typeof value === 'string') {
      const phone = toE164(value, defaultCountry);
      if (!phone) return { outcome: rejected('invalid_phone', `phone_number is not a valid phone number${defaultCountry ? '' : ' (set default_country for national numbers)'}`) };
      attributes[name] = phone;
    } else if (isIdentifier(name) || (PROFILE_ATTRIBUTES as readonly string[]).includes(name)) attributes[name] = value;
    else if (name.startsWith('location.')) location[name.slice(9)] = value;
    else properties[name.startsWith('properties.') ? name.slice(11) : name] = value;
  }
  if (Object.keys(location).length) attributes['location'] = location;
  if (Object.keys(properties).length) attributes['properties'] = properties;
  if (Buffer.byteLength(JSON.stringify(attributes)) > MAX_PROFILE_BYTES) return { outcome: rejected('too_large', `the profile takes more than ${MAX_PROFILE_BYTES} bytes`) };
  // A channel is subscribed only when the record has its identifier: consent to SMS without a phone number is kept
  // by nobody, and the profile is imported all the same.
  const subscribe = consents.filter((channel) => typeof attributes[CHANNEL_IDENTIFIER[channel]] === 'string');
  return { attributes, identifier: String(attributes[keyField]), subscribe };
}

/** A record of the batch with its prepared profile. */
type Sent = Indexed & { readonly attributes: Record<string, unknown>; readonly identifier: string; readonly subscribe: readonly Channel[] };

class KlaviyoSession implements DestinationSession {
  readonly #client: ApiClient;

  constructor(
    private readonly config: KlaviyoConfig,
    private readonly context: Pick<DestinationContext, 'mode' | 'object' | 'logger'>,
  ) {
    this.#client = new ApiClient({
      vendor: 'klaviyo',
      baseUrl: config.base_url ?? KLAVIYO_BASE_URL,
      headers: { authorization: `${AUTH_SCHEME} ${config.api_key}`, revision: config.revision },
      contentType: CONTENT_TYPE,
      detail: detailOf,
      refused: (response, what) => {
        // A 404 names a list (or a job) that does not exist: every batch would meet it.
        if (response.status === 404) return stopSync(`${what} (check the sync's object "${context.object}": audience syncs name a Klaviyo list by its id)`);
        return new BatchRejectedError(what, `klaviyo_${firstError(response)?.code ?? response.status}`);
      },
    });
  }

  async check(): Promise<void> {
    // A key made for events may hold events:write alone, and Klaviyo has no read that scope allows: wrong
    // credentials then stop the sync at the first batch's 401/403, before anything is recorded as sent.
    if (this.context.mode === 'events') return;
    // Reads only; an audience sync also learns whether its list exists (404 stops the sync).
    const signal = AbortSignal.timeout(30_000);
    await this.#client.request('GET', PATHS.profiles, { query: { 'page[size]': 1 }, signal });
    if (this.context.mode === 'audience') await this.#client.request('GET', PATHS.list(this.context.object), { signal });
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    if (batch.operation === 'track') return this.track(batch);
    if (batch.operation === 'forget') return this.forget(batch);
    if (batch.operation !== 'upsert' && batch.operation !== 'add' && batch.operation !== 'remove') throw new StopSyncError(`Klaviyo does not support the ${batch.operation} operation`);
    const outcomes = new Outcomes(batch, 'klaviyo');
    const sent: Sent[] = [];
    for (const item of outcomes.distinct(identityOf(batch.keyField))) {
      const prepared = profileOf(item.record, batch.keyField, this.config.default_country);
      if ('outcome' in prepared) outcomes.settle(item.index, prepared.outcome);
      else sent.push({ ...item, ...prepared });
    }
    if (batch.operation === 'remove') await this.removeFromList(batch, sent);
    else if (sent.length) {
      const list = batch.operation === 'add' ? batch.object : undefined;
      await this.importProfiles(batch, sent, list, outcomes);
      await this.subscribe(batch, sent.filter((s) => s.subscribe.length && !outcomes.get(s.index)), list);
    }
    outcomes.settleAll(sent, () => ({ ok: true }));
    return outcomes.done();
  }

  async close(): Promise<void> {}

  /**
   * One Bulk Create Events request for the batch's events. Klaviyo answers 202 for all of them or refuses the request
   * (a BatchRejectedError from the client, which the engine splits down to the refused event).
   */
  private async track(batch: Batch): Promise<readonly RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'klaviyo');
    const sent: (Indexed & { readonly entry: EventEntry })[] = [];
    for (const item of outcomes.distinct()) {
      const prepared = eventEntry(item.record, this.config.default_country);
      if ('outcome' in prepared) outcomes.settle(item.index, prepared.outcome);
      else sent.push({ ...item, entry: prepared.entry });
    }
    if (sent.length) await this.#client.request('POST', PATHS.eventJobs, { body: eventJob(sent.map((s) => s.entry)), signal: batch.signal });
    outcomes.settleAll(sent, () => ({ ok: true }));
    return outcomes.done();
  }

  /** One import job for the batch; polls it; settles the records its import errors name. */
  private async importProfiles(batch: Batch, sent: readonly Sent[], listId: string | undefined, outcomes: Outcomes): Promise<void> {
    const body = {
      data: {
        type: 'profile-bulk-import-job',
        attributes: { profiles: { data: sent.map((s) => ({ type: 'profile', attributes: s.attributes })) } },
        ...(listId ? { relationships: { lists: { data: [{ type: 'list', id: listId }] } } } : {}),
      },
    };
    const jobId = (await this.#client.json<{ data?: ImportJob }>('POST', PATHS.importJobs, { body, signal: batch.signal }))?.data?.id;
    if (!jobId) throw new TransientError(`POST ${PATHS.importJobs} answered without a job id`);
    const job = await this.poll(jobId, batch.signal);
    if (job.attributes.status === 'cancelled') {
      outcomes.settleAll(sent, () => ({ ok: false, code: 'job_cancelled', message: `import job ${jobId} was cancelled`, retryable: true }));
      return;
    }
    if (!(job.attributes.failed_count > 0)) return;
    let matched = 0;
    for (const error of await this.importErrors(jobId, batch.signal)) {
      const at = sentIndex(error, sent, batch.keyField);
      if (at === undefined) continue;
      matched++;
      outcomes.settle(sent[at]!.index, rejected(errorCode(error.attributes.detail), scrubPersonal(error.attributes.detail || error.attributes.title)));
    }
    if (matched < job.attributes.failed_count) {
      // Some failed profile is not named: none of the others can be counted as imported (nor subscribed). They are
      // sent again, which the import, an upsert, allows.
      this.context.logger.warn({ job: jobId, failed: job.attributes.failed_count, matched }, 'some Klaviyo import errors could not be matched to a record: the unmatched records are sent again');
      outcomes.settleAll(sent, () => noOutcome('klaviyo'));
    }
  }

  /** Subscribes the consenting profiles to their channels' marketing, a request per 1,000 profiles. */
  private async subscribe(batch: Batch, consenting: readonly Sent[], listId: string | undefined): Promise<void> {
    for (let start = 0; start < consenting.length; start += SUBSCRIBE_PROFILES_PER_REQUEST) {
      const profiles = consenting.slice(start, start + SUBSCRIBE_PROFILES_PER_REQUEST).map((s) => ({
        type: 'profile',
        attributes: {
          ...(typeof s.attributes['email'] === 'string' ? { email: s.attributes['email'] } : {}),
          ...(typeof s.attributes['phone_number'] === 'string' ? { phone_number: s.attributes['phone_number'] } : {}),
          subscriptions: Object.fromEntries(s.subscribe.map((channel) => [channel, { marketing: { consent: SUBSCRIBED } }])),
        },
      }));
      const body = {
        data: {
          type: 'profile-subscription-bulk-create-job',
          attributes: { profiles: { data: profiles } },
          ...(listId ? { relationships: { list: { data: { type: 'list', id: listId } } } } : {}),
        },
      };
      await this.#client.request('POST', PATHS.subscribeJobs, { body, signal: batch.signal });
    }
  }

  /** Polls the job until it is complete or cancelled, within the batch's time budget. */
  private poll(jobId: string, signal: AbortSignal): Promise<ImportJob> {
    return pollJob({
      name: `Klaviyo import job ${jobId}`,
      intervalMs: this.config.poll_interval_ms,
      maxIntervalMs: MAX_POLL_WAIT_MS,
      signal,
      read: async (s) => parseJson<{ data?: ImportJob }>((await this.read(PATHS.importJob(jobId), {}, s)).text)?.data,
      status: (job) => job.attributes.status,
      finished: (status) => status === 'complete' || status === 'cancelled',
    });
  }

  /** Every import error of a job, following `links.next`. */
  private async importErrors(jobId: string, signal: AbortSignal): Promise<ImportError[]> {
    const out: ImportError[] = [];
    let path: string | null = PATHS.importErrors(jobId);
    let query: Record<string, string | number> = { 'page[size]': 100 };
    while (path) {
      const page: { data?: ImportError[]; links?: { next?: string | null } } | undefined = parseJson((await this.read(path, query, signal)).text);
      out.push(...(page?.data ?? []));
      // `next` is a whole link (Klaviyo's own host), read as a path on the configured base URL.
      const next: string | null | undefined = page?.links?.next;
      path = next ? (/^https?:\/\//.test(next) ? `${new URL(next).pathname}${new URL(next).search}` : next) : null;
      query = {};
    }
    return out;
  }

  /** Takes the records' profiles out of the list: profile ids from the snapshot or looked up by the key identifier. */
  private async removeFromList(batch: Batch, sent: readonly Sent[]): Promise<void> {
    const key = batch.keyField as Identifier;
    const ids = new Set<string>();
    const lookup: Sent[] = [];
    for (const s of sent) {
      if (s.record.destinationId) ids.add(s.record.destinationId);
      else lookup.push(s);
    }
    for (const found of (await this.profileIds(key, lookup.map((c) => c.identifier), batch.signal)).values()) for (const id of found) ids.add(id);
    const all = [...ids];
    for (let start = 0; start < all.length; start += LIST_IDS_PER_REQUEST) {
      const data = all.slice(start, start + LIST_IDS_PER_REQUEST).map((id) => ({ type: 'profile', id }));
      await this.#client.request('DELETE', PATHS.listProfiles(batch.object), { body: { data }, signal: batch.signal });
    }
    // A record whose profile does not exist is not in the list: removed as far as the list is concerned.
  }

  /** The ids of the profiles whose `field` has each of `values` (Get Profiles, `any(…)`, a page of values a request). */
  private async profileIds(field: Identifier, values: readonly string[], signal: AbortSignal): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    for (let start = 0; start < values.length; start += LOOKUP_VALUES_PER_REQUEST) {
      const filter = `any(${field},${JSON.stringify(values.slice(start, start + LOOKUP_VALUES_PER_REQUEST))})`;
      const response = await this.read(PATHS.profiles, { filter, 'page[size]': LOOKUP_VALUES_PER_REQUEST, 'fields[profile]': field }, signal);
      for (const profile of parseJson<{ data?: { id: string; attributes?: Record<string, unknown> }[] }>(response.text)?.data ?? []) {
        const value = String(profile.attributes?.[field] ?? '');
        found.set(value, [...(found.get(value) ?? []), profile.id]);
      }
    }
    return found;
  }

  /**
   * Erasure: a Request Profile Deletion per profile (protocol.ts: DELETION). A record names its profile by the sync's
   * key when that is an e-mail or a phone number, else (events) by the e-mail or phone number it retained; a profile
   * known only by its external_id is looked up and deleted by id. A record whose profile no longer exists is erased.
   */
  private async forget(batch: Batch): Promise<RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'klaviyo');
    const byExternalId: { readonly index: number; readonly externalId: string }[] = [];
    const targets: { readonly index: number; readonly profile: { readonly id?: string; readonly attributes: Record<string, string> } }[] = [];
    for (const { index, record } of outcomes.distinct(identityOf(batch.keyField))) {
      const named = { ...record.fields, ...(isIdentifier(batch.keyField) ? { [batch.keyField]: record.key } : {}) };
      const value = (field: Identifier) => (typeof named[field] === 'string' && named[field] !== '' ? String(named[field]) : undefined);
      // The key's identifier first: it is who the person is to this sync.
      const order: readonly Identifier[] = isIdentifier(batch.keyField) ? [batch.keyField, ...IDENTIFIERS.filter((f) => f !== batch.keyField)] : IDENTIFIERS;
      const field = order.find((f) => value(f) !== undefined);
      if (field === undefined) outcomes.settle(index, rejected('missing_identifier', `the record names no profile (${IDENTIFIERS.join(', ')}): erase it in Klaviyo by hand`));
      else if (field === 'external_id') byExternalId.push({ index, externalId: value(field)! });
      else if (field === 'email') targets.push({ index, profile: { attributes: { email: value(field)!.trim().toLowerCase() } } });
      else {
        const phone = toE164(value(field)!, this.config.default_country);
        if (phone) targets.push({ index, profile: { attributes: { phone_number: phone } } });
        else outcomes.settle(index, rejected('invalid_phone', `phone_number is not a valid phone number${this.config.default_country ? '' : ' (set default_country for national numbers)'}`));
      }
    }
    const ids = await this.profileIds('external_id', byExternalId.map((r) => r.externalId), batch.signal);
    for (const { index, externalId } of byExternalId) {
      const found = ids.get(externalId) ?? [];
      for (const id of found) targets.push({ index, profile: { id, attributes: {} } });
      if (!found.length) outcomes.settle(index, { ok: true });
    }
    for (const { index, profile } of targets) {
      const body = { data: { type: DELETION.type, attributes: { profile: { data: { type: 'profile', ...profile } } } } };
      await this.waitingOut(() => this.#client.request('POST', PATHS.deletionJobs, { body, signal: batch.signal, accept: [404] }), batch.signal);
    }
    for (const index of new Set(targets.map((t) => t.index))) outcomes.settle(index, { ok: true });
    return outcomes.done();
  }

  /** A GET that waits out a 429 (Retry-After) instead of failing the batch: reads have no effect to repeat. */
  private read(path: string, query: Record<string, string | number>, signal: AbortSignal): Promise<HttpResponse> {
    return this.waitingOut(() => this.#client.request('GET', path, { query, signal }), signal);
  }

  /**
   * A request that waits out a 429 (Retry-After) instead of failing the batch: for reads, which have no effect to
   * repeat, and deletion requests, which Klaviyo paces at 60 a minute and which ask again for what is asked already.
   */
  private async waitingOut(request: () => Promise<HttpResponse>, signal: AbortSignal): Promise<HttpResponse> {
    for (;;) {
      try {
        return await request();
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        await sleep(error.retryAfterMs ?? 1000, undefined, { signal });
      }
    }
  }
}

/** The key as Klaviyo compares it: e-mail addresses without case. */
function identityOf(keyField: string): (record: OutboundRecord) => string {
  return keyField === 'email' ? (r) => r.key.trim().toLowerCase() : (r) => r.key;
}

/** Which sent profile an import error is about: by `source.pointer` index, else by the identifiers of its payload. */
export function sentIndex(error: ImportError, sent: readonly { readonly identifier: string }[], keyField: string): number | undefined {
  const pointer = /\/profiles\/data\/(\d+)(\/|$)/.exec(error.attributes.source?.pointer ?? '');
  if (pointer && Number(pointer[1]) < sent.length) return Number(pointer[1]);
  const value = (error.attributes.original_payload ?? {})[keyField];
  if (value === undefined) return undefined;
  const found = sent.findIndex((s) => s.identifier === String(value));
  return found === -1 ? undefined : found;
}

function errorCode(detail: string): string {
  if (/phone/i.test(detail)) return 'invalid_phone';
  if (/email/i.test(detail)) return 'invalid_email';
  if (/more than once|duplicate/i.test(detail)) return 'duplicate';
  return 'invalid';
}

/** E-mail addresses and phone numbers a vendor repeats in its messages, kept out of logs and the rejected table. */
function scrubPersonal(text: string): string {
  return scrubEmails(text).replace(/\+?\d[\d ().-]{5,}\d/g, '<phone>');
}

function firstError(response: HttpResponse): KlaviyoError | undefined {
  return parseJson<{ errors?: KlaviyoError[] }>(response.text)?.errors?.[0];
}

/** The vendor's words for a refused request: errors[0]'s title, detail and where (the ApiClient scrubs them). */
function detailOf(response: HttpResponse): string {
  const error = firstError(response);
  if (!error) return '';
  return scrubPersonal([error.title, error.detail, error.source?.pointer ? `at ${error.source.pointer}` : ''].filter(Boolean).join(' '));
}
