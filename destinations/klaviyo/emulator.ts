import { randomBytes, randomUUID } from 'node:crypto';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, RateLimiter, requestObject, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimit, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import {
  ACCEPTED_ATTRIBUTES,
  CONTENT_TYPE,
  DELETION,
  DELETION_IDENTIFIERS,
  E164,
  EVENT_JOB,
  IDENTIFIERS,
  IMPORT_RATE_LIMIT,
  LIST_IDS_PER_REQUEST,
  LOOKUP_VALUES_PER_REQUEST,
  MAX_JOB_BYTES,
  MAX_JOB_PROFILES,
  MAX_PROFILE_BYTES,
  phoneCountry,
  SUBSCRIBE_PROFILES_PER_REQUEST,
  SUBSCRIBED,
  type ImportError,
  type ImportJob,
  type KlaviyoError,
} from './protocol.js';

/** Where the emulator keeps profiles (by profile id) and list members (`list:<id>`, by profile id). */
export const KLAVIYO_PROFILES = 'profiles';
/** Marketing consent by profile id: `{ email?: 'SUBSCRIBED', sms?: 'SUBSCRIBED' }`. */
export const KLAVIYO_SUBSCRIPTIONS = 'subscriptions';
export const listObject = (listId: string) => `list:${listId}`;
/** Events, one per profile, metric and unique_id (the first recorded is kept): key `<profile id> <metric> <unique_id>`. */
export const KLAVIYO_EVENTS = 'events';
/** Events of deleted profiles, redacted (metric and time only), by a number of their own. */
export const KLAVIYO_REDACTED_EVENTS = 'redacted-events';


/**
 * Klaviyo's rate limit, as documented (protocol.ts): per account and per endpoint, in fixed windows, a burst window of
 * one second and a steady window of one minute. The emulator gives every endpoint the bulk import tier, 10/s and
 * 150/min (the kit's server has one limit for all endpoints): Get Profiles, Get List and Bulk Subscribe Profiles
 * are allowed 75/s and 750/min by Klaviyo, so the emulator is stricter there, never looser.
 */
export const KLAVIYO_RATE_LIMIT: readonly RateLimitSpec[] = [
  { requests: IMPORT_RATE_LIMIT.burst, perMs: 1_000, algorithm: 'fixed-window' },
  { requests: IMPORT_RATE_LIMIT.steadyPerMinute, perMs: 60_000, algorithm: 'fixed-window' },
];

/** A profile as the emulator keeps it: its attributes, with `properties` merged over time. */
export type EmulatedProfile = Readonly<Record<string, unknown>> & { readonly properties?: Readonly<Record<string, unknown>> };

/** Why the import refuses one profile (an import error), or undefined to import it. */
export type KlaviyoProfileRule = (attributes: Readonly<Record<string, unknown>>) => string | undefined;

export interface KlaviyoEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  readonly apiKey?: string;
  /** Lists that exist. Absent (the sandbox): any list id is created on first use. */
  readonly lists?: readonly string[];
  /** Most profiles per import job (Klaviyo: 10,000). */
  readonly maxProfiles?: number;
  /** Most profile ids per list relationship request (Klaviyo: 1,000). */
  readonly maxListProfiles?: number;
  /** How long a job stays `processing` before it is `complete`. */
  readonly processingMs?: number;
  /**
   * Each endpoint's quota (per account, per endpoint; fixed windows). Default: Klaviyo's tier of the bulk import and
   * list endpoints, 10 a second (burst) and 150 a minute (steady) — `KLAVIYO_RATE_LIMIT`.
   */
  readonly rateLimit?: RateLimit;
  /** Milliseconds of a monotonic clock for the rate windows (tests move time themselves). */
  readonly clock?: () => number;
  readonly faults?: FaultPlan;
  readonly reject?: KlaviyoProfileRule;
  /** Most events per Bulk Create Events request (Klaviyo: 1,000). */
  readonly maxEvents?: number;
  /**
   * Why Klaviyo refuses one event of a Bulk Create Events request (its attributes, with `unique_id`, and its profile's),
   * or undefined: the whole request is then refused (400, nothing processed), as Klaviyo refuses it.
   */
  readonly rejectEvent?: (event: Readonly<Record<string, unknown>>, profile: Readonly<Record<string, unknown>>) => string | undefined;
  /**
   * Countries the account has an SMS sending number for: SMS consent for a number of another country is refused
   * (400), as Klaviyo refuses it. Absent (the sandbox): every country.
   */
  readonly smsCountries?: readonly string[];
  readonly port?: number;
}

export interface KlaviyoStats {
  maxProfilesSeen: number;
  /** Most events seen in one Bulk Create Events request. */
  maxEventsSeen: number;
  jobs: number;
}

interface StoredJob {
  readonly job: ImportJob;
  readonly readyAt: number;
  readonly errors: readonly ImportError[];
}

/**
 * Klaviyo's JSON:API as Tideline uses it: `POST /api/profile-bulk-import-jobs` (≤ 10,000 profiles, ≤ 5 MB, ≤ 100 KB
 * each; 202 and a job), `GET …/{id}` (queued → processing → complete), `GET …/{id}/import-errors` (paginated, with
 * `source.pointer` and `original_payload`), `GET /api/profiles?filter=any(field,[…])`, `GET /api/lists/{id}`,
 * `POST|DELETE /api/lists/{id}/relationships/profiles` (≤ 1,000 ids). Profiles are matched by external_id, then
 * email, then phone_number, and updated in place (an upsert). Every request needs the `revision` header; an unknown
 * profile attribute refuses the request (400); a profile without identifier, with a bad e-mail, a phone number not in
 * E.164, or an identifier repeated within the job becomes an import error. `POST /api/data-privacy-deletion-jobs`
 * (protocol.ts: DELETION) takes exactly one of id, email, phone_number (else 400), is limited on its own to 3 a second
 * and 60 a minute, and answers 202: every matching profile is deleted at once (Klaviyo does it asynchronously) with
 * its list memberships and consent, and its events are redacted; a request that matches no profile is accepted too.
 */
export class KlaviyoEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly apiKey: string,
    readonly stats: Readonly<KlaviyoStats>,
  ) {
    super(server);
  }

  profiles(): ReadonlyMap<string, EmulatedProfile> {
    return this.server.store.object(KLAVIYO_PROFILES);
  }

  /** Marketing consent of a profile, by channel. */
  subscriptions(profileId: string): Readonly<Record<string, string>> {
    return (this.server.store.object(KLAVIYO_SUBSCRIPTIONS).get(profileId) ?? {}) as Record<string, string>;
  }

  /** Every event of a profile, in arrival order: profile (its id), metric, unique_id, time, value, value_currency, properties. */
  events(): readonly Readonly<Record<string, unknown>>[] {
    return [...this.server.store.object(KLAVIYO_EVENTS).values()];
  }

  /** What is left of the events of deleted profiles: their metric and time, nobody's. */
  redactedEvents(): readonly Readonly<Record<string, unknown>>[] {
    return [...this.server.store.object(KLAVIYO_REDACTED_EVENTS).values()];
  }

  /** Profile ids in a list. */
  members(listId: string): readonly string[] {
    return [...this.server.store.object(listObject(listId)).keys()];
  }
}

export async function startKlaviyoEmulator(options: KlaviyoEmulatorOptions = {}): Promise<KlaviyoEmulator> {
  const apiKey = options.apiKey ?? `pk_${randomBytes(17).toString('hex')}`;
  const maxProfiles = options.maxProfiles ?? MAX_JOB_PROFILES;
  const maxListProfiles = options.maxListProfiles ?? LIST_IDS_PER_REQUEST;
  const processingMs = options.processingMs ?? 0;
  const lists = new Set(options.lists ?? []);
  const lenient = options.lists === undefined;
  const jobs = new Map<string, StoredJob>();
  const stats: KlaviyoStats = { maxProfilesSeen: 0, maxEventsSeen: 0, jobs: 0 };
  const maxEvents = options.maxEvents ?? EVENT_JOB.maxEvents;

  // Request Profile Deletion has its own, stricter tier: limited here on top of the server's limit of every endpoint.
  const deletionLimiter = new RateLimiter(
    [
      { requests: DELETION.burst, perMs: 1_000, algorithm: 'fixed-window' },
      { requests: DELETION.steadyPerMinute, perMs: 60_000, algorithm: 'fixed-window' },
    ],
    options.clock,
  );

  const listExists = (id: string) => {
    if (!lists.has(id) && lenient) lists.add(id);
    return lists.has(id);
  };

  const api: ApiContract = {
    authenticate: (request) =>
      request.headers['authorization'] === `Klaviyo-API-Key ${apiKey}`
        ? undefined
        : errors(401, { code: 'not_authenticated', title: 'Authentication credentials were not provided.', detail: 'Missing or invalid private key.' }),
    tooManyRequests: (state) => {
      const seconds = Math.max(1, Math.ceil(state.retryAfterMs / 1000));
      return {
        ...errors(429, { code: 'throttled', title: 'Request was throttled.', detail: `Request was throttled. Expected available in ${seconds} second${seconds === 1 ? '' : 's'}.` }),
        headers: { 'content-type': CONTENT_TYPE, 'retry-after': String(seconds) },
      };
    },
    serverError: (status) => errors(status, { code: 'error', title: 'A server error occurred.', detail: 'A server error occurred.' }),
    // Klaviyo's headers describe the steady (longest) window, not the burst one.
    rateHeaders: (_state, windows) => {
      const steady = windows.reduce((a, b) => (b.windowMs > a.windowMs ? b : a));
      return { 'ratelimit-limit': String(steady.limit), 'ratelimit-remaining': String(steady.remaining), 'ratelimit-reset': String(Math.ceil(steady.resetMs / 1000)) };
    },
    // One quota per endpoint: the method and the path with its ids replaced.
    rateScope: (request) => {
      const [, resource, id, ...rest] = request.path.replace(/\/+$/, '').split('/').slice(1);
      return [request.method, resource, id === undefined ? '' : '{id}', ...rest].join(' ');
    },
    handle: (request, store) => {
      if (!request.headers['revision']) return errors(400, { code: 'invalid', title: 'Invalid input.', detail: 'The revision header is required.' });
      const parts = request.path.replace(/\/+$/, '').split('/').slice(1);
      if (parts[0] !== 'api') return notFound();
      const [, resource, id, sub, relation] = parts;
      if (resource === 'profile-bulk-import-jobs') {
        if (!id && request.method === 'POST') return createJob(request, store);
        const stored = id ? jobs.get(id) : undefined;
        if (!stored) return notFound();
        if (!sub && request.method === 'GET') return ok(200, { data: jobView(stored), links: self(request.path) });
        if (sub === 'import-errors' && request.method === 'GET') return importErrors(request, stored);
        return notFound();
      }
      if (resource === 'profiles' && !id && request.method === 'GET') return findProfiles(request, store);
      if (resource === 'event-bulk-create-jobs' && !id && request.method === 'POST') return createEvents(request, store);
      if (resource === 'data-privacy-deletion-jobs' && !id && request.method === 'POST') {
        const taken = deletionLimiter.take();
        return taken.ok ? deleteProfiles(request, store) : api.tooManyRequests(taken.state, taken.windows);
      }
      if (resource === 'profile-subscription-bulk-create-jobs' && !id && request.method === 'POST') return subscribe(request, store);
      if (resource === 'lists' && id) {
        if (!listExists(id)) return notFound();
        if (!sub && request.method === 'GET') return ok(200, { data: { type: 'list', id, attributes: { name: id }, links: self(request.path) }, links: self(request.path) });
        if (sub === 'relationships' && relation === 'profiles' && (request.method === 'POST' || request.method === 'DELETE')) return listProfiles(request, store, id);
      }
      return notFound();
    },
  };

  function createJob(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    if (request.body.length > MAX_JOB_BYTES) return errors(413, { code: 'invalid', title: 'Request entity too large.', detail: `The payload exceeds ${MAX_JOB_BYTES} bytes.` });
    const body = requestObject(request);
    const data = body?.['data'] as Record<string, unknown> | undefined;
    if (data?.['type'] !== 'profile-bulk-import-job') return invalid('/data/type', "type must be 'profile-bulk-import-job'");
    const profiles = ((data['attributes'] as Record<string, unknown> | undefined)?.['profiles'] as Record<string, unknown> | undefined)?.['data'];
    if (!Array.isArray(profiles) || profiles.length === 0) return invalid('/data/attributes/profiles/data', 'profiles must be a non-empty list');
    if (profiles.length > maxProfiles) return invalid('/data/attributes/profiles/data', `A bulk import job accepts at most ${maxProfiles} profiles.`);
    for (const [i, profile] of (profiles as Record<string, unknown>[]).entries()) {
      const pointer = `/data/attributes/profiles/data/${i}`;
      if (profile?.['type'] !== 'profile') return invalid(`${pointer}/type`, "type must be 'profile'");
      const attributes = profile['attributes'];
      if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes)) return invalid(`${pointer}/attributes`, 'attributes must be an object');
      for (const name of Object.keys(attributes)) if (!ACCEPTED_ATTRIBUTES.has(name)) return invalid(`${pointer}/attributes/${name}`, `'${name}' is not a valid field for the resource 'profile'.`);
      if (Buffer.byteLength(JSON.stringify(profile)) > MAX_PROFILE_BYTES) return invalid(pointer, `A profile may take at most ${MAX_PROFILE_BYTES} bytes.`);
    }
    const listIds = ((((data['relationships'] as Record<string, unknown> | undefined)?.['lists'] as Record<string, unknown> | undefined)?.['data'] ?? []) as { id?: string }[]).map((l) => String(l.id));
    if (listIds.length > 1) return invalid('/data/relationships/lists/data', 'A bulk import job adds profiles to at most one list.');
    for (const listId of listIds) if (!listExists(listId)) return errors(404, { code: 'not_found', title: 'Not found.', detail: `List ${listId} does not exist.` });
    stats.maxProfilesSeen = Math.max(stats.maxProfilesSeen, profiles.length);
    stats.jobs++;

    const importErrors: ImportError[] = [];
    const seen = new Map<string, number>();
    (profiles as { attributes: Record<string, unknown> }[]).forEach(({ attributes }, i) => {
      const problem = profileProblem(attributes, seen, i) ?? options.reject?.(attributes);
      if (problem) {
        importErrors.push({
          type: 'import-error',
          id: randomUUID(),
          attributes: { code: 'invalid', title: 'Invalid input.', detail: problem, source: { pointer: `/data/attributes/profiles/data/${i}/attributes` }, original_payload: attributes },
        });
        return;
      }
      const profileId = upsertProfile(store, attributes);
      for (const listId of listIds) store.object(listObject(listId)).set(profileId, {});
    });
    const now = new Date().toISOString();
    const job: ImportJob = {
      type: 'profile-bulk-import-job',
      id: randomUUID().replaceAll('-', ''),
      attributes: { status: 'queued', total_count: profiles.length, completed_count: profiles.length - importErrors.length, failed_count: importErrors.length, created_at: now, completed_at: null },
    };
    const stored: StoredJob = { job, readyAt: Date.now() + processingMs, errors: importErrors };
    jobs.set(job.id, stored);
    return ok(202, { data: { ...job, attributes: { ...job.attributes, completed_count: 0, failed_count: 0 }, links: self(`${request.path}/${job.id}`) }, links: self(request.path) });
  }

  /** The job as a GET sees it: processing until `readyAt`, then complete with its counts. */
  function jobView(stored: StoredJob): ImportJob & { links: { self: string } } {
    const links = self(`/api/profile-bulk-import-jobs/${stored.job.id}`);
    if (Date.now() < stored.readyAt) return { ...stored.job, attributes: { ...stored.job.attributes, status: 'processing', completed_count: 0, failed_count: 0 }, links };
    return { ...stored.job, attributes: { ...stored.job.attributes, status: 'complete', completed_at: new Date(stored.readyAt).toISOString() }, links };
  }

  function importErrors(request: EmulatorRequest, stored: StoredJob): EmulatorReply {
    const size = Math.min(100, Math.max(1, Number(request.query.get('page[size]') ?? 20)));
    const start = Number(request.query.get('page[cursor]') ?? 0);
    const visible = Date.now() < stored.readyAt ? [] : stored.errors;
    const page = visible.slice(start, start + size);
    // `next` only when there is a next page (CollectionLinks.next is an optional string).
    const next = start + size < visible.length ? `https://a.klaviyo.com${request.path}?page[size]=${size}&page[cursor]=${start + size}` : undefined;
    return ok(200, { data: page, links: { ...self(request.path), ...(next ? { next } : {}) } });
  }

  function findProfiles(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const filter = request.query.get('filter') ?? '';
    const size = Number(request.query.get('page[size]') ?? 20);
    if (!Number.isInteger(size) || size < 1 || size > LOOKUP_VALUES_PER_REQUEST) return invalid('page[size]', `page[size] must be between 1 and ${LOOKUP_VALUES_PER_REQUEST}`);
    const match = /^(any|equals)\((email|phone_number|external_id|id),(.*)\)$/.exec(filter);
    if (filter && !match) return errors(400, { code: 'invalid', title: 'Invalid input.', detail: `Invalid filter: ${filter}` });
    let wanted: Set<string> | undefined;
    if (match) {
      try {
        const values = JSON.parse(match[1] === 'any' ? match[3]! : `[${match[3]}]`) as unknown[];
        wanted = new Set(values.map(String));
      } catch {
        return errors(400, { code: 'invalid', title: 'Invalid input.', detail: `Invalid filter: ${filter}` });
      }
    }
    const field = match?.[2];
    const found = [...store.object(KLAVIYO_PROFILES).entries()]
      .filter(([id, p]) => !wanted || wanted.has(String(field === 'id' ? id : p[field!])))
      .slice(0, size)
      .map(([id, attributes]) => ({ type: 'profile', id, attributes: sparse(attributes, request.query.get('fields[profile]')), links: self(`/api/profiles/${id}`) }));
    return ok(200, { data: found, links: self(request.path) });
  }

  /**
   * Bulk Subscribe Profiles: ≤ 1,000 profiles, each with an email or a phone_number; a channel's consent is
   * SUBSCRIBED; SMS needs a phone_number in E.164 for a country with a sending number, e-mail an email; the whole
   * request is refused (400) otherwise. Profiles are found by email, then phone_number, or created; with a list, they
   * join it. 202 without a body (the job runs later).
   */
  function subscribe(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const data = requestObject(request)?.['data'] as Record<string, unknown> | undefined;
    if (data?.['type'] !== 'profile-subscription-bulk-create-job') return invalid('/data/type', "type must be 'profile-subscription-bulk-create-job'");
    const attributes = data['attributes'] as Record<string, unknown> | undefined;
    const profiles = (attributes?.['profiles'] as Record<string, unknown> | undefined)?.['data'];
    if (!Array.isArray(profiles) || profiles.length === 0) return invalid('/data/attributes/profiles/data', 'profiles must be a non-empty list');
    if (profiles.length > SUBSCRIBE_PROFILES_PER_REQUEST) return invalid('/data/attributes/profiles/data', `At most ${SUBSCRIBE_PROFILES_PER_REQUEST} profiles per request.`);
    if (attributes?.['historical_import'] === true) return invalid('/data/attributes/historical_import', 'historical_import is not supported by this emulator.');
    const wanted: { attributes: Record<string, unknown>; channels: string[] }[] = [];
    for (const [i, profile] of (profiles as Record<string, unknown>[]).entries()) {
      const at = `/data/attributes/profiles/data/${i}/attributes`;
      const a = (profile?.['attributes'] ?? {}) as Record<string, unknown>;
      if (profile?.['type'] !== 'profile') return invalid(`/data/attributes/profiles/data/${i}/type`, "type must be 'profile'");
      const email = a['email'];
      const phone = a['phone_number'];
      if (typeof email !== 'string' && typeof phone !== 'string') return invalid(at, 'A profile needs an email or a phone_number.');
      if (email !== undefined && (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))) return invalid(`${at}/email`, 'Invalid email address.');
      if (phone !== undefined && (typeof phone !== 'string' || !E164.test(phone))) return invalid(`${at}/phone_number`, 'Invalid phone number format (expected E.164, e.g. +14155552671).');
      const subscriptions = (a['subscriptions'] ?? {}) as Record<string, { marketing?: { consent?: unknown } } | undefined>;
      const channels: string[] = [];
      for (const [channel, parameters] of Object.entries(subscriptions)) {
        if (channel !== 'email' && channel !== 'sms') return invalid(`${at}/subscriptions/${channel}`, `The ${channel} channel is not supported by this emulator.`);
        const consent = parameters?.marketing?.consent;
        if (consent !== SUBSCRIBED) return invalid(`${at}/subscriptions/${channel}/marketing/consent`, `consent must be '${SUBSCRIBED}'`);
        if (channel === 'email' && typeof email !== 'string') return invalid(`${at}/subscriptions/email`, 'Email consent requires an email.');
        if (channel === 'sms') {
          if (typeof phone !== 'string') return invalid(`${at}/subscriptions/sms`, 'SMS consent requires a phone_number.');
          const country = phoneCountry(phone);
          if (options.smsCountries && (!country || !options.smsCountries.includes(country))) return invalid(`${at}/phone_number`, 'SMS consent cannot be set for this phone number: the account has no sending number for its country.');
        }
        channels.push(channel);
      }
      wanted.push({ attributes: { ...(typeof email === 'string' ? { email } : {}), ...(typeof phone === 'string' ? { phone_number: phone } : {}) }, channels });
    }
    const list = ((data['relationships'] as Record<string, unknown> | undefined)?.['list'] as { data?: { id?: unknown } } | undefined)?.data?.id;
    if (list !== undefined && (typeof list !== 'string' || !listExists(list))) return errors(404, { code: 'not_found', title: 'Not found.', detail: `List ${String(list)} does not exist.` });
    for (const { attributes: identifiers, channels } of wanted) {
      const profileId = upsertProfile(store, identifiers, ['email', 'phone_number']);
      const current = store.object(KLAVIYO_SUBSCRIPTIONS).get(profileId) ?? {};
      store.object(KLAVIYO_SUBSCRIPTIONS).set(profileId, { ...current, ...Object.fromEntries(channels.map((c) => [c, SUBSCRIBED])) });
      if (list !== undefined) store.object(listObject(list)).set(profileId, {});
    }
    return { status: 202 };
  }

  /**
   * Bulk Create Events (protocol.ts, EVENT_JOB): ≤ 1,000 events and ≤ 5 MB a request, no string over 100 KB; each
   * entry a profile with an identifier and its events, each with properties (≤ 400), a metric name under 128
   * characters, a time after 1990 and at most a year ahead. All or nothing: the first problem refuses the request
   * (400, with the pointer of the event); a unique_id repeated for one profile and metric within the request too.
   * Then each profile is created or updated and each event recorded unless the profile already has one of that
   * metric and unique_id (the first is kept). 202 without a body.
   */
  function createEvents(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    if (request.body.length > EVENT_JOB.maxBytes) return errors(413, { code: 'invalid', title: 'Request entity too large.', detail: `The payload exceeds ${EVENT_JOB.maxBytes} bytes.` });
    const data = requestObject(request)?.['data'] as Record<string, unknown> | undefined;
    if (data?.['type'] !== 'event-bulk-create-job') return invalid('/data/type', "type must be 'event-bulk-create-job'");
    const root = '/data/attributes/events-bulk-create/data';
    const entries = ((data['attributes'] as Record<string, unknown> | undefined)?.['events-bulk-create'] as Record<string, unknown> | undefined)?.['data'];
    if (!Array.isArray(entries) || entries.length === 0) return invalid(root, 'events-bulk-create must hold a non-empty list');
    const accepted: { profile: Record<string, unknown>; events: Record<string, unknown>[] }[] = [];
    let count = 0;
    const seen = new Set<string>();
    for (const [i, entry] of (entries as Record<string, unknown>[]).entries()) {
      const at = `${root}/${i}`;
      if (entry?.['type'] !== 'event-bulk-create') return invalid(`${at}/type`, "type must be 'event-bulk-create'");
      const attributes = (entry['attributes'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
      const profileData = attributes['profile']?.['data'] as Record<string, unknown> | undefined;
      if (profileData?.['type'] !== 'profile') return invalid(`${at}/attributes/profile/data/type`, "type must be 'profile'");
      const profile = (profileData['attributes'] ?? {}) as Record<string, unknown>;
      for (const name of Object.keys(profile)) if (!ACCEPTED_ATTRIBUTES.has(name)) return invalid(`${at}/attributes/profile/data/attributes/${name}`, `'${name}' is not a valid field for the resource 'profile'.`);
      const problem = identityProblem(profile);
      if (problem) return invalid(`${at}/attributes/profile/data/attributes`, problem);
      const events = attributes['events']?.['data'];
      if (!Array.isArray(events) || events.length === 0) return invalid(`${at}/attributes/events/data`, 'events must be a non-empty list');
      for (const [j, event] of (events as Record<string, unknown>[]).entries()) {
        const pointer = `${at}/attributes/events/data/${j}`;
        if (event?.['type'] !== 'event') return invalid(`${pointer}/type`, "type must be 'event'");
        const e = (event['attributes'] ?? {}) as Record<string, unknown>;
        const refused = eventProblem(e) ?? options.rejectEvent?.(e, profile);
        if (refused) return invalid(`${pointer}/attributes`, refused);
        const metric = metricName(e)!;
        const uniqueId = typeof e['unique_id'] === 'string' ? e['unique_id'] : secondOf(e['time']);
        const id = `${profileKey(profile)}\u0000${metric}\u0000${uniqueId}`;
        if (seen.has(id)) return invalid(`${pointer}/attributes/unique_id`, 'A unique_id is repeated for the same profile and metric: no events were processed.');
        seen.add(id);
      }
      count += events.length;
      if (count > maxEvents) return invalid(root, `A request accepts at most ${maxEvents} events.`);
      accepted.push({ profile, events: (events as { attributes: Record<string, unknown> }[]).map((e) => e.attributes) });
    }
    stats.maxEventsSeen = Math.max(stats.maxEventsSeen, count);
    const held = store.object(KLAVIYO_EVENTS);
    for (const { profile, events } of accepted) {
      const profileId = upsertProfile(store, profile);
      for (const e of events) {
        const metric = metricName(e)!;
        const time = secondOf(e['time'] ?? new Date().toISOString());
        const uniqueId = typeof e['unique_id'] === 'string' ? e['unique_id'] : time;
        const key = `${profileId} ${metric} ${uniqueId}`;
        if (held.has(key)) continue;
        const value = typeof e['value'] === 'number' ? { value: e['value'] } : {};
        const currency = typeof e['value_currency'] === 'string' ? { value_currency: e['value_currency'] } : {};
        store.created(KLAVIYO_EVENTS, key);
        held.set(key, { profile: profileId, metric, unique_id: uniqueId, time, ...value, ...currency, properties: (e['properties'] ?? {}) as Record<string, unknown> });
      }
    }
    return { status: 202 };
  }

  /**
   * Request Profile Deletion (protocol.ts: DELETION): one identifier — the profile's id, or one of its email and
   * phone_number — else 400. Every profile it matches is deleted with its list memberships and subscriptions; its
   * events are kept redacted (metric and time). 202 without a body, whether or not a profile matched.
   */
  function deleteProfiles(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const data = requestObject(request)?.['data'] as Record<string, unknown> | undefined;
    if (data?.['type'] !== DELETION.type) return invalid('/data/type', `type must be '${DELETION.type}'`);
    const profile = (((data['attributes'] as Record<string, unknown> | undefined)?.['profile'] as Record<string, unknown> | undefined)?.['data'] ?? undefined) as Record<string, unknown> | undefined;
    const at = '/data/attributes/profile/data';
    if (profile?.['type'] !== 'profile') return invalid(`${at}/type`, "type must be 'profile'");
    const attributes = profile['attributes'];
    if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes)) return invalid(`${at}/attributes`, 'attributes is required and must be an object');
    for (const name of Object.keys(attributes)) if (!(DELETION_IDENTIFIERS as readonly string[]).includes(name)) return invalid(`${at}/attributes/${name}`, `'${name}' is not a valid field for the resource 'profile'.`);
    const given: [string, unknown][] = [...(profile['id'] !== undefined && profile['id'] !== null ? [['id', profile['id']] as [string, unknown]] : []), ...Object.entries(attributes).filter(([, v]) => v !== null && v !== undefined)];
    if (given.length !== 1) return invalid(`${at}`, 'Exactly one of id, email or phone_number must be provided.');
    const [field, value] = given[0]!;
    if (typeof value !== 'string' || value === '') return invalid(`${at}/${field === 'id' ? 'id' : `attributes/${field}`}`, `${field} must be a non-empty string`);
    const profiles = store.object(KLAVIYO_PROFILES);
    const matched = field === 'id' ? (profiles.has(value) ? [value] : []) : [...profiles].filter(([, p]) => (field === 'email' ? String(p[field] ?? '').toLowerCase() === value.trim().toLowerCase() : p[field] === value)).map(([id]) => id);
    const events = store.object(KLAVIYO_EVENTS);
    const redacted = store.object(KLAVIYO_REDACTED_EVENTS);
    for (const id of matched) {
      profiles.delete(id);
      store.object(KLAVIYO_SUBSCRIPTIONS).delete(id);
      for (const name of Object.keys(store.snapshot())) if (name.startsWith('list:')) store.object(name).delete(id);
      for (const [key, event] of events) {
        if (event['profile'] !== id) continue;
        events.delete(key);
        redacted.set(String(redacted.size + 1), { metric: event['metric'], time: event['time'] });
      }
    }
    return { status: 202 };
  }

  function listProfiles(request: EmulatorRequest, store: RecordStore, listId: string): EmulatorReply {
    const data = requestObject(request)?.['data'];
    if (!Array.isArray(data)) return invalid('/data', 'data must be a list of profile identifiers');
    if (data.length > maxListProfiles) return invalid('/data', `At most ${maxListProfiles} profiles per request.`);
    const profiles = store.object(KLAVIYO_PROFILES);
    const members = store.object(listObject(listId));
    for (const [i, item] of (data as { type?: string; id?: string }[]).entries()) {
      if (item?.type !== 'profile' || typeof item.id !== 'string') return invalid(`/data/${i}`, 'each entry is {"type":"profile","id":…}');
      if (!profiles.has(item.id)) return invalid(`/data/${i}/id`, `Profile ${item.id} does not exist.`);
    }
    for (const { id } of data as { id: string }[]) {
      if (request.method === 'POST') members.set(id, {});
      else members.delete(id);
    }
    return { status: 204 };
  }

  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit ?? KLAVIYO_RATE_LIMIT, faults: options.faults, port: options.port, clock: options.clock });
  server.restore(options.saved);
  return new KlaviyoEmulator(server, apiKey, stats);
}

/** Why Klaviyo would refuse a profile's identifiers and properties (an import, an event's profile), or undefined. */
function identityProblem(attributes: Record<string, unknown>): string | undefined {
  const given = IDENTIFIERS.filter((k) => typeof attributes[k] === 'string' && attributes[k] !== '');
  if (!given.length) return 'A profile needs an email, a phone_number or an external_id.';
  const email = attributes['email'];
  if (email !== undefined && email !== null && (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))) return 'Invalid email address.';
  const phone = attributes['phone_number'];
  if (phone !== undefined && phone !== null && (typeof phone !== 'string' || !E164.test(phone))) return 'Invalid phone number format (expected E.164, e.g. +14155552671).';
  const properties = attributes['properties'];
  if (properties !== undefined && (typeof properties !== 'object' || properties === null || Array.isArray(properties))) return 'properties must be an object.';
  return undefined;
}

/** Why Klaviyo would refuse one profile of a job, or undefined. */
function profileProblem(attributes: Record<string, unknown>, seen: Map<string, number>, index: number): string | undefined {
  const problem = identityProblem(attributes);
  if (problem) return problem;
  const given = IDENTIFIERS.filter((k) => typeof attributes[k] === 'string' && attributes[k] !== '');
  for (const k of given) {
    const id = `${k}\u0000${String(attributes[k])}`;
    if (seen.has(id)) return `The same ${k} appears more than once in this job.`;
    seen.set(id, index);
  }
  return undefined;
}

/** The metric name of an event's attributes, or undefined. */
function metricName(event: Record<string, unknown>): string | undefined {
  const name = (((event['metric'] as Record<string, unknown> | undefined)?.['data'] as Record<string, unknown> | undefined)?.['attributes'] as Record<string, unknown> | undefined)?.['name'];
  return typeof name === 'string' ? name : undefined;
}

/** Why Klaviyo would refuse one event of Bulk Create Events (EVENT_JOB), or undefined. */
function eventProblem(event: Record<string, unknown>): string | undefined {
  const properties = event['properties'];
  if (!properties || typeof properties !== 'object' || Array.isArray(properties)) return 'properties is required and must be an object.';
  if (Object.keys(properties).length > EVENT_JOB.maxProperties) return `An event takes at most ${EVENT_JOB.maxProperties} properties.`;
  const name = metricName(event);
  if (name === undefined || name === '' || name.length > EVENT_JOB.maxMetricName) return `The metric name is required and must be less than ${EVENT_JOB.maxMetricName + 1} characters.`;
  const time = event['time'];
  if (time !== undefined && time !== null) {
    const at = typeof time === 'string' ? Date.parse(time) : Number.NaN;
    if (Number.isNaN(at)) return 'time must be a date-time.';
    if (at <= Date.parse(EVENT_JOB.earliest) || at > Date.now() + EVENT_JOB.maxFutureDays * 86_400_000) return 'The time must be after the year 1990 and can only be up to 1 year in the future.';
  }
  if (event['value'] !== undefined && event['value'] !== null && typeof event['value'] !== 'number') return 'value must be a number.';
  if (event['unique_id'] !== undefined && event['unique_id'] !== null && typeof event['unique_id'] !== 'string') return 'unique_id must be a string.';
  if (longString(event)) return `A single string cannot exceed ${EVENT_JOB.maxStringBytes} bytes.`;
  return undefined;
}

/** Whether a value holds a string longer than Klaviyo takes. */
function longString(value: unknown): boolean {
  if (typeof value === 'string') return Buffer.byteLength(value) > EVENT_JOB.maxStringBytes;
  if (value && typeof value === 'object') return Object.values(value).some(longString);
  return false;
}

/** A time truncated to the second, as Klaviyo records it. */
function secondOf(time: unknown): string {
  const at = typeof time === 'string' ? Date.parse(time) : Date.now();
  return new Date(Math.floor(at / 1000) * 1000).toISOString();
}

/** A profile's identity within one request: its identifiers (which the request's events repeat per profile). */
function profileKey(profile: Record<string, unknown>): string {
  return IDENTIFIERS.map((k) => String(profile[k] ?? '')).join('\u0000');
}

/** Finds the profile by external_id, email, then phone_number, and merges the attributes into it; returns its id. */
function upsertProfile(store: RecordStore, attributes: Record<string, unknown>, by: readonly string[] = ['external_id', 'email', 'phone_number']): string {
  const profiles = store.object(KLAVIYO_PROFILES);
  let id: string | undefined;
  for (const k of by) {
    const value = attributes[k];
    if (typeof value !== 'string' || value === '' || id) continue;
    id = [...profiles.entries()].find(([, p]) => p[k] === value)?.[0];
  }
  const existing = id ? profiles.get(id) : undefined;
  const { properties, location, ...rest } = attributes as { properties?: Record<string, unknown>; location?: Record<string, unknown> };
  const next: Record<string, unknown> = { ...existing, ...rest };
  if (location) next['location'] = { ...(existing?.['location'] as object | undefined), ...location };
  if (properties) next['properties'] = { ...(existing?.['properties'] as object | undefined), ...properties };
  for (const [k, v] of Object.entries(next)) if (v === null) delete next[k];
  if (!id) {
    id = `01${randomBytes(12).toString('hex').toUpperCase()}`;
    store.created(KLAVIYO_PROFILES, id);
  }
  profiles.set(id, next);
  return id;
}

/** An error answer: the SDK's error document (GetAccounts4XXResponse: id, code, title, detail, source). */
function errors(status: number, error: Omit<KlaviyoError, 'id' | 'status'>): EmulatorReply {
  return { status, headers: { 'content-type': CONTENT_TYPE }, body: { errors: [{ id: randomUUID(), ...error }] } };
}

/** A JSON:API document answer. */
function ok(status: number, body: unknown): EmulatorReply {
  return { status, headers: { 'content-type': CONTENT_TYPE }, body };
}

/** A resource's `links.self`, as every Klaviyo resource object carries it. */
const self = (path: string) => ({ self: `https://a.klaviyo.com${path}` });

/** Sparse fieldsets: `fields[profile]=email,external_id` answers those attributes only. */
function sparse(attributes: Readonly<Record<string, unknown>>, fields: string | null): Readonly<Record<string, unknown>> {
  if (!fields) return attributes;
  const wanted = new Set(fields.split(','));
  return Object.fromEntries(Object.entries(attributes).filter(([k]) => wanted.has(k)));
}

function invalid(pointer: string, detail: string): EmulatorReply {
  return errors(400, { code: 'invalid', title: 'Invalid input.', detail, source: { pointer } });
}

function notFound(): EmulatorReply {
  return errors(404, { code: 'not_found', title: 'Not found.', detail: 'The requested resource was not found.' });
}
