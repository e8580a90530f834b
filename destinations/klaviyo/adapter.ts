import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { redactor } from '../../src/log/redact.js';
import type { Logger } from '../../src/log/logger.js';
import {
  BatchRejectedError,
  defineDestination,
  RateLimitedError,
  StopSyncError,
  TransientError,
  type Batch,
  type ConfigProblem,
  type DestinationSession,
  type FieldValue,
  type OutboundRecord,
  type RecordOutcome,
  type RemoteField,
  type SyncShape,
} from '../destination.js';
import { describeRequest, raiseForCommonStatus, retryAfterMs, send, type HttpRequest, type HttpResponse } from '../http.js';
import { KlaviyoEmulator, startKlaviyoEmulator } from './emulator.js';
import {
  IDENTIFIERS,
  isIdentifier,
  KLAVIYO_REVISION,
  klaviyoRevision,
  LOCATION_ATTRIBUTES,
  MAX_JOB_BYTES,
  MAX_PROFILE_BYTES,
  PROFILE_ATTRIBUTES,
  toE164,
  type Identifier,
  type ImportError,
  type ImportJob,
  type KlaviyoError,
} from './protocol.js';

export const klaviyoConfigSchema = z.strictObject({
  /** Private API key with the scopes profiles:read, profiles:write, lists:read, lists:write. */
  api_key: z.string().min(1),
  /** The API revision sent in the `revision` header. */
  revision: z.string().regex(/^\d{4}-\d{2}-\d{2}(\.pre)?$/, 'a revision date such as 2025-10-15').default(KLAVIYO_REVISION),
  /** Country assumed for phone numbers written without a +country prefix (ISO 3166 alpha-2, e.g. US). */
  default_country: z.string().regex(/^[A-Z]{2}$/, 'an ISO country code such as US or GB').optional(),
  /** Profiles per import job (Klaviyo: at most 10,000). */
  batch_size: z.number().int().min(1).max(10_000).default(10_000),
  /** First wait before polling an import job; later polls back off ×1.5 up to 10 s. */
  poll_interval_ms: z.number().int().min(10).max(60_000).default(2_000),
  /** Overrides https://a.klaviyo.com (a proxy, the sandbox). */
  base_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
});
export type KlaviyoConfig = z.infer<typeof klaviyoConfigSchema>;

/** The object of upsert syncs. Audience syncs name a list id instead. */
export const KLAVIYO_PROFILES_OBJECT = 'profiles';
/** Klaviyo's caps: profile ids per list relationship request, values per `any()` filter (= page size). */
const LIST_IDS_PER_REQUEST = 1_000;
const LOOKUP_VALUES_PER_REQUEST = 100;
const MAX_POLL_WAIT_MS = 10_000;

/**
 * Klaviyo profiles through bulk import jobs (JSON:API, `revision` header).
 * - upsert: one `POST /api/profile-bulk-import-jobs` per batch (≤ 10,000 profiles, ≤ 5 MB), then polling of the job
 *   inside `apply` until it is complete (bounded by the batch's signal: a job still running when the time budget is
 *   spent is a TransientError, and the re-sent job is an idempotent upsert). Import errors are mapped back to their
 *   records by `source.pointer` (…/profiles/data/<i>/…) or, failing that, by the identifiers of `original_payload`.
 *   Polling is the one wait an adapter does itself: reading a job's status is not a retry, and a 429 on a read
 *   waits its Retry-After rather than re-sending the job.
 * - audience: the object is a list id. `add` is the same import job with the list as relationship (profiles are
 *   created or updated, then added); `remove` looks the profiles up by the key identifier (`any(…)`, 100 at a time)
 *   and `DELETE /api/lists/{id}/relationships/profiles` (≤ 1,000 ids); a profile not found is not a member.
 * - mirror: not supported. Klaviyo's API has no profile delete: its only deletion is the irreversible, asynchronous
 *   data-privacy job, and suppression changes consent — neither is what "left the model" means. Sync membership to a
 *   list (an audience sync) and let Klaviyo act on it.
 * Fields: the key is an identifier (email, phone_number or external_id); first_name, last_name, organization,
 * locale, title, image and `location.<part>` are profile attributes; everything else (or `properties.<name>`) is a
 * custom property. Phone numbers are normalised to E.164 (`default_country` for national numbers); an invalid one
 * rejects its record without being sent.
 */
export const klaviyo = defineDestination<KlaviyoConfig>({
  type: 'klaviyo',
  summary: 'Klaviyo profiles via bulk import jobs (with polling and import errors), list membership for audiences',
  configSchema: klaviyoConfigSchema,
  modes: ['upsert', 'audience'],
  secrets: (config) => [config.api_key],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    // The job envelope is small; what is left of 5 MB is the profiles'.
    maxBatchBytes: MAX_JOB_BYTES - 64 * 1024,
    // Klaviyo counts each endpoint in fixed windows: 10 a second (burst) and 150 a minute (steady) for bulk import
    // jobs and list relationships. One batch is one import job (its polls and error pages go to other endpoints,
    // whose quotas the polling back-off keeps far from), so pacing batches under the steady rate keeps a long sync
    // clear of 429s: 2.4/s = 144/min, a margin so that timer jitter never puts a 151st job into a window. A burst
    // would not help a long sync and would spend the steady window early.
    requestsPerSecond: 2.4,
    concurrency: 3,
    // An import job may take minutes to process.
    timeoutMs: 600_000,
  }),
  checkSync: (_config, sync) => checkKlaviyoSync(sync),
  apiVersion: (config) => klaviyoRevision(config.revision),
  lockScope: (config, object) => `klaviyo:${new URL(config.base_url ?? 'https://a.klaviyo.com').host}#${object}`,
  open: async (config, context) => new KlaviyoSession(config, context.mode, context.object, context.logger),
  remoteFields: async () => {
    // Fixed attributes plus free custom properties: any other name is accepted (as a property).
    const fields: RemoteField[] = [...IDENTIFIERS, ...PROFILE_ATTRIBUTES].map((name) => ({ name, type: 'string' }));
    for (const part of LOCATION_ATTRIBUTES) fields.push({ name: `location.${part}`, type: 'string' });
    return fields;
  },
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
  if (!isIdentifier(sync.keyField)) problems.push({ at: ['key'], message: `a Klaviyo profile is matched by ${IDENTIFIERS.join(', ')}: write the key to one of them, not "${sync.keyField}"` });
  if (sync.mode !== 'audience' && sync.object !== KLAVIYO_PROFILES_OBJECT) problems.push({ at: ['object'], message: `the Klaviyo object is "${KLAVIYO_PROFILES_OBJECT}" (audience syncs name a list id)` });
  if (sync.mode === 'audience' && !/^[A-Za-z0-9]+$/.test(sync.object)) problems.push({ at: ['object'], message: 'an audience sync names a Klaviyo list by its id' });
  for (const field of sync.fields) {
    if (field.startsWith('location.') && !(LOCATION_ATTRIBUTES as readonly string[]).includes(field.slice(9))) {
      problems.push({ at: ['fields', field], message: `location takes ${LOCATION_ATTRIBUTES.join(', ')}` });
    }
  }
  return problems;
}

/** A profile ready to import, or the outcome of a record that cannot be sent. */
type Prepared = { readonly attributes: Record<string, unknown>; readonly identifier: string } | { readonly outcome: RecordOutcome };

/** The profile attributes of a record: identifiers, fixed attributes, location and custom properties. */
export function profileOf(record: OutboundRecord, keyField: string, defaultCountry: string | undefined): Prepared {
  const attributes: Record<string, unknown> = {};
  const properties: Record<string, FieldValue> = {};
  const location: Record<string, FieldValue> = {};
  for (const [name, value] of Object.entries({ ...record.fields, [keyField]: record.key })) {
    if (name === 'phone_number' && typeof value === 'string') {
      const phone = toE164(value, defaultCountry);
      if (!phone) return { outcome: { ok: false, code: 'invalid_phone', message: `phone_number is not a valid phone number${defaultCountry ? '' : ' (set default_country for national numbers)'}`, retryable: false } };
      attributes[name] = phone;
    } else if (isIdentifier(name) || (PROFILE_ATTRIBUTES as readonly string[]).includes(name)) attributes[name] = value;
    else if (name.startsWith('location.')) location[name.slice(9)] = value;
    else properties[name.startsWith('properties.') ? name.slice(11) : name] = value;
  }
  if (Object.keys(location).length) attributes['location'] = location;
  if (Object.keys(properties).length) attributes['properties'] = properties;
  if (Buffer.byteLength(JSON.stringify(attributes)) > MAX_PROFILE_BYTES) return { outcome: { ok: false, code: 'too_large', message: `the profile takes more than ${MAX_PROFILE_BYTES} bytes`, retryable: false } };
  return { attributes, identifier: String(attributes[keyField]) };
}

class KlaviyoSession implements DestinationSession {
  readonly #base: string;

  constructor(
    private readonly config: KlaviyoConfig,
    private readonly mode: string,
    private readonly object: string,
    private readonly logger: Logger,
  ) {
    this.#base = (config.base_url ?? 'https://a.klaviyo.com').replace(/\/+$/, '');
  }

  async check(): Promise<void> {
    // Reads only; an audience sync also learns whether its list exists (404 stops the sync).
    const signal = AbortSignal.timeout(30_000);
    await this.request('GET', '/api/profiles?page[size]=1', undefined, signal);
    if (this.mode === 'audience') await this.request('GET', `/api/lists/${this.object}`, undefined, signal);
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const prepared = batch.records.map((r) => profileOf(r, batch.keyField, this.config.default_country));
    if (batch.operation === 'remove') return this.removeFromList(batch, prepared);
    if (batch.operation !== 'upsert' && batch.operation !== 'add') throw new StopSyncError(`Klaviyo does not support the ${batch.operation} operation`);
    return this.importProfiles(batch, prepared, batch.operation === 'add' ? batch.object : undefined);
  }

  async close(): Promise<void> {}

  /** One import job for the batch; polls it; maps its import errors back to the records. */
  private async importProfiles(batch: Batch, prepared: readonly Prepared[], listId: string | undefined): Promise<RecordOutcome[]> {
    const sent = prepared.flatMap((p, i) => ('attributes' in p ? [{ index: i, attributes: p.attributes, identifier: p.identifier }] : []));
    if (!sent.length) return prepared.map((p) => ('outcome' in p ? p.outcome : { ok: true }));
    const body = {
      data: {
        type: 'profile-bulk-import-job',
        attributes: { profiles: { data: sent.map((s) => ({ type: 'profile', attributes: s.attributes })) } },
        ...(listId ? { relationships: { lists: { data: [{ type: 'list', id: listId }] } } } : {}),
      },
    };
    const created = await this.request('POST', '/api/profile-bulk-import-jobs', body, batch.signal);
    const jobId = parseJson<{ data?: ImportJob }>(created.text)?.data?.id;
    if (!jobId) throw new TransientError('POST /api/profile-bulk-import-jobs answered without a job id');
    const job = await this.poll(jobId, batch.signal);
    if (job.attributes.status === 'cancelled') {
      return prepared.map((p) => ('outcome' in p ? p.outcome : { ok: false, code: 'job_cancelled', message: `import job ${jobId} was cancelled`, retryable: true }));
    }

    const failures = new Map<number, RecordOutcome>();
    if (job.attributes.failed_count > 0) {
      for (const error of await this.importErrors(jobId, batch.signal)) {
        const at = sentIndex(error, sent, batch.keyField);
        if (at !== undefined) failures.set(sent[at]!.index, { ok: false, code: errorCode(error.attributes.detail), message: scrubEmails(redactor.scrub(error.attributes.detail || error.attributes.title)), retryable: false });
      }
      if (failures.size < job.attributes.failed_count) this.logger.warn({ job: jobId, failed: job.attributes.failed_count, matched: failures.size }, 'some Klaviyo import errors could not be matched to a record');
    }
    return prepared.map((p, i) => ('outcome' in p ? p.outcome : (failures.get(i) ?? { ok: true })));
  }

  /** Polls the job until it is complete or cancelled, within the batch's time budget. */
  private async poll(jobId: string, signal: AbortSignal): Promise<ImportJob> {
    let wait = this.config.poll_interval_ms;
    let status = 'queued';
    try {
      for (;;) {
        await sleep(wait, undefined, { signal });
        const job = parseJson<{ data?: ImportJob }>((await this.read(`/api/profile-bulk-import-jobs/${jobId}`, signal)).text)?.data;
        status = job?.attributes.status ?? status;
        if (job && (status === 'complete' || status === 'cancelled')) return job;
        wait = Math.min(MAX_POLL_WAIT_MS, Math.ceil(wait * 1.5));
      }
    } catch (error) {
      if (signal.aborted) throw new TransientError(`Klaviyo import job ${jobId} was still ${status} when the batch's time budget ran out`);
      throw error;
    }
  }

  /** Every import error of a job, following `links.next`. */
  private async importErrors(jobId: string, signal: AbortSignal): Promise<ImportError[]> {
    const out: ImportError[] = [];
    let path: string | null = `/api/profile-bulk-import-jobs/${jobId}/import-errors?page[size]=100`;
    while (path) {
      const page: { data?: ImportError[]; links?: { next?: string | null } } | undefined = parseJson((await this.read(path, signal)).text);
      out.push(...(page?.data ?? []));
      const next: string | null | undefined = page?.links?.next;
      path = next ? (next.startsWith('http') ? `${new URL(next).pathname}${new URL(next).search}` : next) : null;
    }
    return out;
  }

  /** Takes the records' profiles out of the list: profile ids from the snapshot or looked up by the key identifier. */
  private async removeFromList(batch: Batch, prepared: readonly Prepared[]): Promise<RecordOutcome[]> {
    const key = batch.keyField as Identifier;
    const ids = new Map<number, string>();
    const lookup: { index: number; value: string }[] = [];
    prepared.forEach((p, i) => {
      const known = batch.records[i]!.destinationId;
      if (known) ids.set(i, known);
      else if ('identifier' in p) lookup.push({ index: i, value: p.identifier });
    });
    for (let start = 0; start < lookup.length; start += LOOKUP_VALUES_PER_REQUEST) {
      const chunk = lookup.slice(start, start + LOOKUP_VALUES_PER_REQUEST);
      const filter = `any(${key},${JSON.stringify(chunk.map((c) => c.value))})`;
      const response = await this.read(`/api/profiles?filter=${encodeURIComponent(filter)}&page[size]=${LOOKUP_VALUES_PER_REQUEST}&fields[profile]=${key}`, batch.signal);
      const found = new Map((parseJson<{ data?: { id: string; attributes: Record<string, unknown> }[] }>(response.text)?.data ?? []).map((p) => [String(p.attributes[key]), p.id]));
      for (const c of chunk) {
        const id = found.get(c.value);
        if (id) ids.set(c.index, id);
      }
    }
    const all = [...new Set(ids.values())];
    for (let start = 0; start < all.length; start += LIST_IDS_PER_REQUEST) {
      const data = all.slice(start, start + LIST_IDS_PER_REQUEST).map((id) => ({ type: 'profile', id }));
      await this.request('DELETE', `/api/lists/${batch.object}/relationships/profiles`, { data }, batch.signal);
    }
    // A record whose profile does not exist is not in the list: removed as far as the list is concerned.
    return prepared.map((p) => ('outcome' in p ? p.outcome : { ok: true }));
  }

  /** A GET that waits out a 429 (Retry-After) instead of failing the batch: reads have no effect to repeat. */
  private async read(path: string, signal: AbortSignal): Promise<HttpResponse> {
    for (;;) {
      try {
        return await this.request('GET', path, undefined, signal);
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        await sleep(error.retryAfterMs ?? 1000, undefined, { signal });
      }
    }
  }

  private async request(method: HttpRequest['method'], path: string, body: unknown, signal: AbortSignal): Promise<HttpResponse> {
    const request: HttpRequest = {
      method,
      url: `${this.#base}${path}`,
      headers: {
        authorization: `Klaviyo-API-Key ${this.config.api_key}`,
        revision: this.config.revision,
        accept: 'application/vnd.api+json',
        'content-type': 'application/vnd.api+json',
        'user-agent': 'tideline-klaviyo',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal,
    };
    const response = await send(request);
    if (response.status === 429) throw new RateLimitedError(`${describeRequest(request)} answered 429`, retryAfterMs(response.headers));
    raiseForCommonStatus(request, response, detailOf(response));
    if (response.status >= 200 && response.status < 300) return response;
    const what = redactor.scrub(`${describeRequest(request)} answered ${response.status}: ${detailOf(response)}`);
    if (response.status === 404) throw new StopSyncError(`${what} (check the sync's object: a list id for audience syncs)`);
    throw new BatchRejectedError(what, `klaviyo_${firstError(response)?.code ?? response.status}`);
  }
}

/** Which sent profile an import error is about: by `source.pointer` index, else by the identifiers of its payload. */
export function sentIndex(error: ImportError, sent: readonly { readonly attributes: Record<string, unknown>; readonly identifier: string }[], keyField: string): number | undefined {
  const pointer = /\/profiles\/data\/(\d+)(\/|$)/.exec(error.attributes.source?.pointer ?? '');
  if (pointer && Number(pointer[1]) < sent.length) return Number(pointer[1]);
  const payload = error.attributes.original_payload ?? {};
  const value = payload[keyField];
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

/** Keep e-mail addresses an API repeats in its messages out of logs and the rejected table. */
function scrubEmails(text: string): string {
  return text.replace(/[^\s@"'<>]+@[^\s@"'<>]+/g, '<email>');
}

function firstError(response: HttpResponse): KlaviyoError | undefined {
  return parseJson<{ errors?: KlaviyoError[] }>(response.text)?.errors?.[0];
}

function detailOf(response: HttpResponse): string {
  const error = firstError(response);
  if (!error) return '';
  return scrubEmails([error.title, error.detail, error.source?.pointer ? `at ${error.source.pointer}` : ''].filter(Boolean).join(' ')).slice(0, 400);
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
