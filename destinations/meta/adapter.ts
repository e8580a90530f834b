import { randomInt } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { redactor } from '../../src/log/redact.js';
import { didYouMean } from '../../src/project/suggest.js';
import { identifier, IDENTIFIER_FIELDS, META } from '../ads-identifiers.js';
import {
  AuthError,
  BatchRejectedError,
  defineDestination,
  RateLimitedError,
  StopSyncError,
  TransientError,
  type Batch,
  type ConfigProblem,
  type DestinationContext,
  type DestinationSession,
  type OutboundRecord,
  type RecordOutcome,
  type SyncShape,
} from '../destination.js';
import { describeRequest, send, type HttpRequest, type HttpResponse } from '../http.js';
import { MetaEmulator, startMetaEmulator } from './emulator.js';
import {
  AUTH_CODES,
  BUSINESS_USAGE_HEADER,
  FIELD_OF,
  FLAGGED_SUBCODE,
  MAX_ROWS,
  regainAccessMs,
  SCHEMA_KEYS,
  THROTTLE_CODES,
  TRANSIENT_CODES,
  type ErrorBody,
  type Payload,
  type ReplaceSession,
  type SchemaKey,
  type UsersResponse,
} from './protocol.js';

/** Calls per hour on custom audience endpoints per ad account, by access tier (destinations.md). */
const CALLS_PER_HOUR = { standard: 190_000, development: 5_000 } as const;

export const metaConfigSchema = z.strictObject({
  /** A system-user or user access token with `ads_management` (from an environment variable). */
  access_token: z.string().min(1),
  /** The ad account owning the audiences (`act_<id>`), for the lock and messages. */
  ad_account_id: z.string().regex(/^(act_)?\d+$/, 'an ad account id: act_<digits>').optional(),
  api_version: z.string().regex(/^v\d+\.\d+$/, 'a Graph API version such as v23.0').default('v23.0'),
  endpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).default('https://graph.facebook.com'),
  /** Country of phone numbers written without their country code (ISO alpha-2). */
  default_phone_country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code in capitals, such as FR').optional(),
  /** The app's Marketing API access tier: its request ceiling. */
  access_tier: z.enum(['standard', 'development']).default('standard'),
  /** Rows per request (Meta: ≤ 10,000). */
  batch_size: z.number().int().min(1).max(MAX_ROWS).default(MAX_ROWS),
});
export type MetaConfig = z.infer<typeof metaConfigSchema>;

/** Identifier fields that are hashed: never a sync key (the key is kept in Tideline's state). */
const HASHED_FIELDS = IDENTIFIER_FIELDS.filter((f) => META[f].hashed);

/** Meta Custom Audiences from customer lists: members added, removed, or replaced as a whole on a full resync. */
export const meta = defineDestination<MetaConfig>({
  type: 'meta',
  summary: 'Meta Custom Audiences from customer lists (multi-key, normalised and SHA-256 hashed)',
  configSchema: metaConfigSchema,
  modes: ['audience'],
  secrets: (config) => [config.access_token],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 50_000_000,
    requestsPerSecond: Math.round((CALLS_PER_HOUR[config.access_tier] / 3600) * 100) / 100,
    concurrency: 4,
    timeoutMs: 120_000,
  }),
  checkSync: (_config, sync) => checkSync(sync),
  lockScope: (config, object) => `meta:${config.ad_account_id ?? 'audience'}#${object}`,
  retainFields: () => IDENTIFIER_FIELDS,
  retainValue: (config, field, value) => {
    const rule = META[field as keyof typeof META];
    return rule ? identifier(rule, value, { defaultCountry: config.default_phone_country as CountryCode | undefined }) : value;
  },
  open: async (config, context) => new MetaSession(config, context),
  emulator: {
    start: (context) => startMetaEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof MetaEmulator)) throw new Error('the meta sandbox needs a Meta emulator');
      return { ...config, endpoint: emulator.endpoint, access_token: emulator.accessToken };
    },
  },
});

function checkSync(sync: SyncShape): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!/^\d+$/.test(sync.object)) problems.push({ at: ['object'], message: 'the custom audience id (digits), as in Ads Manager' });
  for (const field of sync.fields) {
    if (!(IDENTIFIER_FIELDS as readonly string[]).includes(field)) problems.push({ at: ['fields', field], message: `"${field}" is not a Meta audience key: ${IDENTIFIER_FIELDS.join(', ')}${didYouMean(field, IDENTIFIER_FIELDS)}` });
  }
  if ((HASHED_FIELDS as readonly string[]).includes(sync.keyField)) {
    problems.push({ at: ['key'], message: "key the audience by a customer id (field `external_id` sends it as EXTERN_ID): the key is kept in Tideline's state, which must hold no raw e-mail or phone" });
  }
  if (!sync.fields.some((f) => (IDENTIFIER_FIELDS as readonly string[]).includes(f)) && sync.keyField !== 'external_id') problems.push({ at: ['fields'], message: 'map at least one identifier: email, phone, first_name, last_name, …' });
  return problems;
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

  constructor(
    private readonly config: MetaConfig,
    private readonly context: DestinationContext,
  ) {
    const names = new Set(context.fields.map((f) => f.name));
    if (context.keyField === 'external_id') names.add('external_id');
    this.#schema = SCHEMA_KEYS.filter((key) => names.has(FIELD_OF[key]));
    this.#replace = context.fullResync && context.mode === 'audience' ? { sessionId: randomInt(1, 2 ** 47), seq: 0, sent: 0, lastRows: [], closed: false, queue: Promise.resolve() } : undefined;
  }

  async check(): Promise<void> {
    const url = new URL(`${this.base()}/${this.context.object}`);
    url.searchParams.set('fields', 'id,operation_status');
    url.searchParams.set('access_token', this.config.access_token);
    await this.call({ method: 'GET', url: url.toString(), signal: AbortSignal.timeout(30_000) });
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const outcomes: RecordOutcome[] = new Array<RecordOutcome>(batch.records.length);
    const rows: string[][] = [];
    batch.records.forEach((record, index) => {
      const row = this.row(record);
      if (row) {
        rows.push(row);
        outcomes[index] = { ok: true };
      } else outcomes[index] = { ok: false, code: 'no_identifiers', message: 'no usable identifier after normalisation', retryable: false };
    });
    if (!rows.length) return outcomes;
    const remove = batch.operation === 'remove' || batch.operation === 'delete';
    if (!remove && this.#replace) await this.replaceBatch(rows, batch.signal);
    else await this.users(remove ? 'DELETE' : 'POST', 'users', { schema: this.#schema, data: rows }, undefined, batch.signal);
    // Meta counts invalid rows without naming them (num_invalid_entries, in the run facts): every row sent is answered.
    return outcomes;
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

  /** One person's row in schema order: normalised and hashed before anything is built; undefined when empty. */
  private row(record: OutboundRecord): string[] | undefined {
    const options = { defaultCountry: this.config.default_phone_country as CountryCode | undefined };
    const row = this.#schema.map((key) => {
      const field = FIELD_OF[key];
      const value = key === 'EXTERN_ID' && this.context.keyField === 'external_id' ? record.key : record.fields[field];
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

  private async users(method: 'POST' | 'DELETE', edge: 'users' | 'usersreplace', payload: Payload, session: ReplaceSession | undefined, signal: AbortSignal): Promise<UsersResponse> {
    const body = JSON.stringify({ payload, ...(session ? { session } : {}), access_token: this.config.access_token });
    const request: HttpRequest = { method, url: `${this.base()}/${this.context.object}/${edge}`, headers: { 'content-type': 'application/json', 'user-agent': 'tideline-meta' }, body, signal };
    const answer = (await this.call(request)) as Partial<UsersResponse>;
    this.#facts.requests++;
    this.#facts.num_received += Number(answer.num_received ?? 0);
    this.#facts.num_invalid_entries += Number(answer.num_invalid_entries ?? 0);
    return answer as UsersResponse;
  }

  private base(): string {
    return `${this.config.endpoint.replace(/\/$/, '')}/${this.config.api_version}`;
  }

  private async call(request: HttpRequest): Promise<unknown> {
    const response = await send(request);
    if (response.status >= 200 && response.status < 300) return response.text.trim() ? (JSON.parse(response.text) as unknown) : {};
    throw metaError(request, response);
  }
}

/** The typed error for a Graph API error answer. Messages carry codes, never values or tokens. */
export function metaError(request: Pick<HttpRequest, 'method' | 'url'>, response: HttpResponse): Error {
  let error: ErrorBody['error'] | undefined;
  try {
    error = (JSON.parse(response.text) as ErrorBody).error;
  } catch {
    error = undefined;
  }
  const code = Number(error?.code ?? 0);
  const subcode = error?.error_subcode;
  const what = redactor.scrub(`${describeRequest(request)} answered ${response.status}${code ? ` (code ${code}${subcode ? `/${subcode}` : ''})` : ''}`);
  if (code === 100 && subcode === FLAGGED_SUBCODE) {
    return new StopSyncError(`${what}: the audience is flagged for integrity restrictions (Audience Upload Blocked); resolve them in Audience Manager or sync to a new audience — nothing more is sent this run`);
  }
  if (THROTTLE_CODES.has(code) || response.status === 429) return new RateLimitedError(`${what}: throttled`, regainAccessMs(response.headers.get(BUSINESS_USAGE_HEADER)));
  if (AUTH_CODES.has(code) || response.status === 401 || response.status === 403) return new AuthError(`${what}: authentication refused (check the destination's access_token and its ads_management permission)`);
  if (TRANSIENT_CODES.has(code) || response.status === 408 || response.status >= 500) return new TransientError(what);
  if (response.status === 404 || code === 803) return new StopSyncError(`${what}: check the sync's object (the custom audience id)`);
  if (response.status === 400) return new BatchRejectedError(`${what}: ${redactor.scrub(error?.message ?? 'invalid request').slice(0, 300)}`, `meta_${code || 400}`);
  return new StopSyncError(what);
}
