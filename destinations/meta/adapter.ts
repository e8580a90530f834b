import { randomInt } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { redactor } from '../../src/log/redact.js';
import { didYouMean } from '../../src/project/suggest.js';
import { identified, identifier, IDENTIFIER_FIELDS, META, removesMembers } from '../ads-identifiers.js';
import { ApiClient, AuthError, BatchRejectedError, defineDestination, describeRequest, Outcomes, parseJson, RateLimitedError, rejected, scrubEmails, StopSyncError, TransientError, type Batch, type CallOptions, type ConfigProblem, type DestinationContext, type DestinationSession, type HttpRequest, type HttpResponse, type OutboundRecord, type RecordOutcome, type SyncShape } from '../kit/index.js';
import { MetaEmulator, startMetaEmulator } from './emulator.js';
import { API_VERSION_PATTERN, BUSINESS_USAGE_HEADER, CALLS_PER_HOUR, CHECK_FIELDS, DATASET_OBJECT, DEFAULT_API_VERSION, EVENT_SYNC_FIELDS, EVENTS_ERASURE, MEMBER_ERASURE, FIELD_OF, FLAGGED_OPERATION_STATUS, marketingApiVersion, MAX_DELETE_URL_CHARS, MAX_EVENTS, MAX_ROWS, maxEventAgeDays, regainAccessMs, SCHEMA_KEYS, stopAnswer, THROTTLE_CODES, TRANSIENT_CODES, type ErrorBody, type Payload, type ReplaceSession, type SchemaKey, type UsersResponse } from './protocol.js';
import { MetaEvents } from './events.js';

export const metaConfigSchema = z.strictObject({
  /** A system-user or user access token with `ads_management` (from an environment variable). */
  access_token: z.string().min(1),
  /** The ad account owning the audiences (`act_<id>`), for the lock and messages. */
  ad_account_id: z.string().regex(/^(act_)?\d+$/, 'an ad account id: act_<digits>').optional(),
  /** The Marketing API version (protocol.ts lists Meta's versions and their expiry). */
  api_version: z.string().regex(API_VERSION_PATTERN, `a Marketing API version such as ${DEFAULT_API_VERSION}`).default(DEFAULT_API_VERSION),
  endpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://graph.facebook.com'),
  /** Country of phone numbers written without their country code (ISO alpha-2). */
  default_phone_country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code in capitals, such as FR').optional(),
  /** The app's Marketing API access tier: its request ceiling. */
  access_tier: z.enum(['standard', 'development']).default('standard'),
  /** Rows per request (Meta: ≤ 10,000). */
  batch_size: z.number().int().min(1).max(MAX_ROWS).default(MAX_ROWS),
  test_event_code: z
    .string()
    .regex(/^[A-Za-z0-9]+$/, 'the code the Test Events tool of Events Manager shows, such as TEST12345')
    .optional()
    .describe(
      "Events syncs only: the Test Events tool's code (Events Manager › your dataset › Test Events), sent as `test_event_code` so the events show in that tool. Meta still keeps and uses them (\"events sent with test_event_code are not dropped\"): remove it for production.",
    ),
});
export type MetaConfig = z.infer<typeof metaConfigSchema>;

/** Identifier fields that are hashed: never a sync key (the key is kept in Tideline's state). */
const HASHED_FIELDS = IDENTIFIER_FIELDS.filter((f) => META[f].hashed);

/**
 * Meta: Custom Audiences from customer lists (members added, removed, or replaced as a whole on a full resync), and
 * Conversions API events to a dataset (`events` mode, events.ts).
 */
export const meta = defineDestination<MetaConfig>({
  type: 'meta',
  summary: 'Meta Custom Audiences from customer lists (multi-key, normalised and SHA-256 hashed) and Conversions API events to a dataset',
  configSchema: metaConfigSchema,
  modes: ['audience', 'events'],
  events: {
    // Only a constant action_source is known before the run: a column may hold website events, so 7 days then.
    // The adapter sends action_source lower-cased: compare it so (`PHYSICAL_STORE` is physical_store).
    maxAgeDays: (_config, sync) => maxEventAgeDays(typeof sync.constants['action_source'] === 'string' ? sync.constants['action_source'].toLowerCase() : undefined),
    // Meta drops a server event only against a browser or app twin: two server events are both kept (protocol.ts).
    deduplication: undefined,
  },
  channel: 'ads',
  secrets: (config) => [config.access_token],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    // The Conversions API takes 1,000 events a request: an events batch is one request (events.ts).
    maxEventsPerBatch: MAX_EVENTS,
    maxBatchBytes: 50_000_000,
    requestsPerSecond: Math.round((CALLS_PER_HOUR[config.access_tier] / 3600) * 100) / 100,
    concurrency: 4,
    timeoutMs: 120_000,
  }),
  checkSync: (_config, sync) => checkSync(sync),
  // An audience member is erased by the removal the audience mode sends, with the hashed keys the snapshot kept; Meta
  // offers no way to take back a server event (protocol.ts).
  erasure: (_config, sync) => (sync.mode === 'events' || DATASET_OBJECT.test(sync.object) ? { manual: EVENTS_ERASURE } : { operation: 'remove', method: MEMBER_ERASURE }),
  apiVersion: (config) => marketingApiVersion(config.api_version),
  lockScope: (config, object) => `meta:${config.ad_account_id ?? 'audience'}#${object}`,
  retainFields: () => IDENTIFIER_FIELDS,
  retainValue: (config, field, value) => {
    const rule = META[field as keyof typeof META];
    return rule ? identifier(rule, value, { defaultCountry: config.default_phone_country as CountryCode | undefined }) : value;
  },
  open: async (config, context) => (context.mode === 'events' ? new MetaEvents(config, context, metaClient(config)) : new MetaSession(config, context)),
  emulator: {
    start: (context) => startMetaEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof MetaEmulator)) throw new Error('the meta sandbox needs a Meta emulator');
      return { ...config, endpoint: emulator.endpoint, access_token: emulator.accessToken };
    },
  },
});

function checkSync(sync: SyncShape): ConfigProblem[] {
  if (sync.mode === 'events') return checkEventsSync(sync);
  const problems: ConfigProblem[] = [];
  if (DATASET_OBJECT.test(sync.object)) problems.push({ at: ['object'], message: 'a dataset takes events: use `mode: events`, or name a custom audience id (digits) for an audience' });
  else if (!/^\d+$/.test(sync.object)) problems.push({ at: ['object'], message: 'the custom audience id (digits), as in Ads Manager' });
  for (const field of sync.fields) {
    if (!(IDENTIFIER_FIELDS as readonly string[]).includes(field)) problems.push({ at: ['fields', field], message: `"${field}" is not a Meta audience key: ${IDENTIFIER_FIELDS.join(', ')}${didYouMean(field, IDENTIFIER_FIELDS)}` });
  }
  if ((HASHED_FIELDS as readonly string[]).includes(sync.keyField)) {
    problems.push({ at: ['key'], message: "key the audience by a customer id (field `external_id` sends it as EXTERN_ID): the key is kept in Tideline's state, which must hold no raw e-mail or phone" });
  }
  if (!sync.fields.some((f) => (IDENTIFIER_FIELDS as readonly string[]).includes(f)) && sync.keyField !== 'external_id') problems.push({ at: ['fields'], message: 'map at least one identifier: email, phone, first_name, last_name, …' });
  return problems;
}

/** An events sync: a dataset, keyed by the event id, mapping fields the Conversions API takes (protocol.ts). */
function checkEventsSync(sync: SyncShape): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!DATASET_OBJECT.test(sync.object)) problems.push({ at: ['object'], message: 'events go to a dataset: `dataset:<dataset id>` (digits, as Events Manager shows it)' });
  if (sync.keyField !== 'event_id') problems.push({ at: ['key'], message: "the key of an events sync is the event's id: `key: { from: <id column>, field: event_id }`" });
  for (const field of sync.fields) {
    if (!EVENT_SYNC_FIELDS.includes(field)) problems.push({ at: ['fields', field], message: `"${field}" is not a Conversions API field Tideline sends: ${EVENT_SYNC_FIELDS.join(', ')}${didYouMean(field, EVENT_SYNC_FIELDS)}` });
  }
  if (!sync.fields.includes('action_source')) {
    problems.push({ at: ['fields'], message: 'map action_source (Meta requires it and takes the advertiser\'s word for it), e.g. `action_source: { constant: physical_store }` for in-store sales' });
  }
  const identifiers = ['email', 'phone', 'first_name', 'last_name', 'external_id', 'fbc', 'fbp', 'client_ip_address'];
  if (!sync.fields.some((f) => identifiers.includes(f))) problems.push({ at: ['fields'], message: `map at least one customer identifier Meta matches people by: ${identifiers.join(', ')}` });
  return problems;
}

/** The Graph API client of a destination: its version in every path, Meta's codes classifying each failure. */
function metaClient(config: MetaConfig): ApiClient {
  return new ApiClient({
    vendor: 'meta',
    baseUrl: `${config.endpoint.replace(/\/$/, '')}/${config.api_version}`,
    // Meta's codes and subcodes say what went wrong, whatever the status (protocol.ts, errors).
    classify: (request, response) => metaError(request, response),
  });
}

interface RunFacts {
  requests: number;
  num_received: number;
  num_invalid_entries: number;
  replace_session?: { session_id: number; batches: number; completed: boolean };
}

class MetaSession implements DestinationSession {
  readonly #schema: readonly SchemaKey[];
  readonly #facts: RunFacts = { requests: 0, num_received: 0, num_invalid_entries: 0 };
  /** A full resync replaces the audience: one usersreplace session, its batches sent one at a time. */
  readonly #replace: { sessionId: number; seq: number; sent: number; lastRows: string[][]; closed: boolean; queue: Promise<unknown> } | undefined;
  readonly #client: ApiClient;

  constructor(
    private readonly config: MetaConfig,
    private readonly context: DestinationContext,
  ) {
    this.#client = metaClient(config);
    const names = new Set(context.fields.map((f) => f.name));
    // The key fills its own column when it is an identifier (external_id → EXTERN_ID).
    if ((IDENTIFIER_FIELDS as readonly string[]).includes(context.keyField)) names.add(context.keyField);
    this.#schema = SCHEMA_KEYS.filter((key) => names.has(FIELD_OF[key]));
    this.#replace = context.fullResync && context.mode === 'audience' ? { sessionId: randomInt(1, 2 ** 47), seq: 0, sent: 0, lastRows: [], closed: false, queue: Promise.resolve() } : undefined;
  }

  /**
   * Reads the audience (`GET /{id}?fields=id,operation_status`): the token, the version and the audience are checked
   * by one request before anything is sent, and an audience flagged for integrity restrictions stops the sync here.
   */
  async check(): Promise<void> {
    const path = `/${this.context.object}`;
    const query = this.query({ fields: CHECK_FIELDS.join(',') });
    const audience = await this.call<{ operation_status?: { code?: number } }>('GET', path, { query, signal: AbortSignal.timeout(30_000) });
    if (audience.operation_status?.code === FLAGGED_OPERATION_STATUS) {
      throw new StopSyncError(`${describeRequest({ method: 'GET', url: this.#client.url(path, query) })}: the audience is flagged for integrity restrictions (operation_status ${FLAGGED_OPERATION_STATUS}); resolve or appeal them in Audience Manager, or sync to a new audience — nothing was sent`);
    }
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'Meta');
    // `forget` is no operation of this destination (erasure names the removal), but if sent, it means the removal.
    const removes = removesMembers(batch) || batch.operation === 'forget';
    const schema = removes ? this.removalSchema(batch) : this.#schema;
    const members = identified(outcomes, (record) => this.row(record, schema), 'identifier');
    if (!members.length) return outcomes.done();
    const rows = members.map((m) => m.ids);
    if (removes) await this.remove(schema, rows, batch.signal);
    else if (this.#replace) await this.replaceBatch(rows, batch.signal);
    else await this.users('POST', 'users', { schema: this.#schema, data: rows }, undefined, batch.signal);
    // Meta counts invalid rows without naming them (num_invalid_entries, in the run facts): every row sent is answered.
    outcomes.settleAll(members, () => ({ ok: true }));
    return outcomes.done();
  }

  async finish(outcome: { readonly complete: boolean }): Promise<Readonly<Record<string, unknown>>> {
    const replace = this.#replace;
    if (replace && replace.seq > 0 && !replace.closed) {
      await replace.queue.catch(() => undefined);
      if (outcome.complete && !replace.closed) {
        // Every batch went out but none was known to be the last: close the session by sending the last rows again.
        await this.replaceRequest(replace.lastRows, true, AbortSignal.timeout(120_000));
      } else if (!outcome.complete) {
        this.context.logger.warn('the replace session was left open (the run stopped): Meta discards it and the audience keeps its old members; run --full-resync again');
      }
    }
    if (replace && replace.seq > 0) this.#facts.replace_session = { session_id: replace.sessionId, batches: replace.seq, completed: replace.closed };
    if (this.#facts.num_invalid_entries > 0) {
      this.context.logger.warn({ invalid: this.#facts.num_invalid_entries, received: this.#facts.num_received }, `Meta counted ${this.#facts.num_invalid_entries} of ${this.#facts.num_received} rows as invalid (it does not say which)`);
    }
    return { ...this.#facts };
  }

  async close(): Promise<void> {}

  /**
   * The keys a removal names people by: the sync's, and any other the records carry. A removal's fields are those the
   * snapshot kept (retainFields); `tideline forget` opens its session without the sync's fields, so there they are
   * the only way to know which keys to send.
   */
  private removalSchema(batch: Batch): readonly SchemaKey[] {
    const carried = new Set(batch.records.flatMap((r) => Object.keys(r.fields)));
    return SCHEMA_KEYS.filter((key) => this.#schema.includes(key) || carried.has(FIELD_OF[key]));
  }

  /** One person's row in schema order: normalised and hashed before anything is built; undefined when empty. */
  private row(record: OutboundRecord, schema: readonly SchemaKey[]): string[] | undefined {
    const options = { defaultCountry: this.config.default_phone_country as CountryCode | undefined };
    const row = schema.map((key) => {
      const field = FIELD_OF[key];
      const value = field === this.context.keyField ? record.key : record.fields[field];
      return identifier(META[field], value, options) ?? '';
    });
    return row.some((v) => v !== '') ? row : undefined;
  }

  /** Batches of a replace session go one at a time, so the one flagged last is the last Meta receives. */
  private replaceBatch(rows: string[][], signal: AbortSignal): Promise<void> {
    const replace = this.#replace!;
    const next = replace.queue.catch(() => undefined).then(async () => {
      const total = this.context.planned.added + this.context.planned.changed;
      await this.replaceRequest(rows, replace.sent + rows.length >= total, signal);
      replace.sent += rows.length;
    });
    replace.queue = next;
    return next;
  }

  private async replaceRequest(rows: string[][], last: boolean, signal: AbortSignal): Promise<void> {
    const replace = this.#replace!;
    const session: ReplaceSession = {
      session_id: replace.sessionId,
      batch_seq: ++replace.seq,
      last_batch_flag: last,
      estimated_num_total: this.context.planned.added + this.context.planned.changed,
    };
    await this.users('POST', 'usersreplace', { schema: this.#schema, data: rows }, session, signal);
    replace.lastRows = rows;
    if (last) replace.closed = true;
  }

  /**
   * Removals go as the official SDK sends them: `DELETE /{id}/users` with `payload` in the query string. Rows are
   * split so that no URL exceeds MAX_DELETE_URL_CHARS; a removal is idempotent, so a batch the engine retries after a
   * failure part-way sends its first requests again harmlessly.
   */
  private async remove(schema: readonly SchemaKey[], rows: string[][], signal: AbortSignal): Promise<void> {
    const empty = this.#client.url(`/${this.context.object}/users`, this.query({ payload: JSON.stringify({ schema, data: [] }) })).length;
    let chunk: string[][] = [];
    let length = empty;
    for (const row of rows) {
      // The row's JSON as the query string encodes it, and the comma before it (`%2C`).
      const cost = new URLSearchParams({ v: JSON.stringify(row) }).toString().length - 2 + 3;
      if (chunk.length && length + cost > MAX_DELETE_URL_CHARS) {
        await this.users('DELETE', 'users', { schema, data: chunk }, undefined, signal);
        chunk = [];
        length = empty;
      }
      chunk.push(row);
      length += cost;
    }
    if (chunk.length) await this.users('DELETE', 'users', { schema, data: chunk }, undefined, signal);
  }

  /**
   * One users request, with the parameters where the official SDK's transport puts them (FacebookAdsApi.call): a JSON
   * body for POST, the query string for DELETE (objects JSON-encoded); the access token in the query string.
   */
  private async users(method: 'POST' | 'DELETE', edge: 'users' | 'usersreplace', payload: Payload, session: ReplaceSession | undefined, signal: AbortSignal): Promise<UsersResponse> {
    const params = { payload, ...(session ? { session } : {}) };
    const path = `/${this.context.object}/${edge}`;
    const answer = await this.call<Partial<UsersResponse>>(method, path, method === 'DELETE' ? { query: this.query({ payload: JSON.stringify(payload) }), signal } : { query: this.query({}), body: params, signal });
    this.#facts.requests++;
    this.#facts.num_received += Number(answer.num_received ?? 0);
    this.#facts.num_invalid_entries += Number(answer.num_invalid_entries ?? 0);
    return answer as UsersResponse;
  }

  /** `?{params}&access_token=…`, parameters in the SDK's order (its own, then the token). */
  private query(params: Readonly<Record<string, string>>): Record<string, string> {
    return { ...params, access_token: this.config.access_token };
  }

  /** One request; the JSON of its answer (an empty answer is `{}`). */
  private async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, call: CallOptions): Promise<T> {
    return (await this.#client.json<T>(method, path, call)) ?? ({} as T);
  }
}

/**
 * The typed error for a Graph API error answer. Version, permission, allow-list and policy answers (protocol.ts
 * `stopAnswer`) stop the sync at the first request, naming the cause and the fix: no retry, no halving. Messages
 * carry codes and Meta's text with e-mail addresses scrubbed, never tokens or record values.
 */
export function metaError(request: Pick<HttpRequest, 'method' | 'url'>, response: HttpResponse): Error {
  const error = parseJson<ErrorBody>(response.text)?.error;
  const code = Number(error?.code ?? 0);
  const subcode = error?.error_subcode;
  const what = redactor.scrub(`${describeRequest(request)} answered ${response.status}${code ? ` (code ${code}${subcode ? `/${subcode}` : ''})` : ''}`);
  const stop = stopAnswer(code, subcode, response.status);
  if (stop) {
    const version = /\/(v\d+\.\d+)\//.exec(describeRequest(request))?.[1];
    const cause = code === 2635 && version ? stop.cause.replace('version', `version ${version}`) : stop.cause;
    const message = `${what}: ${cause}; ${stop.fix} — nothing more is sent this run`;
    return stop.kind === 'auth' ? new AuthError(message) : new StopSyncError(message);
  }
  if (THROTTLE_CODES.has(code) || response.status === 429) return new RateLimitedError(`${what}: throttled`, regainAccessMs(response.headers.get(BUSINESS_USAGE_HEADER)));
  if (response.status === 401 || response.status === 403) return new AuthError(`${what}: authentication refused (check the destination's access_token and its ads_management permission)`);
  if (TRANSIENT_CODES.has(code) || response.status === 408 || response.status >= 500) return new TransientError(what);
  if (response.status === 400) return new BatchRejectedError(`${what}: ${redactor.scrub(scrubEmails(error?.message ?? 'invalid request')).slice(0, 300)}`, `meta_${code || 400}`);
  return new StopSyncError(what);
}
