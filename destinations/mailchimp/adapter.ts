import { z } from 'zod';
import { redactor } from '../../src/log/redact.js';
import {
  BatchRejectedError,
  defineDestination,
  StopSyncError,
  type Batch,
  type ConfigProblem,
  type DestinationSession,
  type FieldValue,
  type OutboundRecord,
  type RecordOutcome,
  type RemoteField,
  type SyncShape,
} from '../destination.js';
import { describeRequest, raiseForCommonStatus, send, type HttpRequest, type HttpResponse } from '../http.js';
import { MailchimpEmulator, startMailchimpEmulator } from './emulator.js';
import { dataCenterOf, MAILCHIMP_API_VERSION, subscriberHash } from './protocol.js';

export const mailchimpConfigSchema = z.strictObject({
  /** Marketing API key; its suffix names the data center (`…-us21` → https://us21.api.mailchimp.com/3.0). */
  api_key: z.string().regex(/^\S+-[a-z]+\d+$/, 'a Mailchimp API key ending in its data center, e.g. …-us21'),
  /** The audience (list) id members are written to. */
  list_id: z.string().regex(/^[A-Za-z0-9]+$/, 'an audience id such as a1b2c3d4e5'),
  /** Status given to members the sync creates; existing members keep theirs. */
  status_if_new: z.enum(['subscribed', 'pending', 'unsubscribed', 'transactional']).default('subscribed'),
  /**
   * What `delete` (a record that left a mirror sync's model) does: `archive` (DELETE the member: it leaves the
   * audience, keeps its history, can be re-added) or `unsubscribe` (the member stays, status unsubscribed).
   */
  delete_action: z.enum(['archive', 'unsubscribe']).default('archive'),
  /** Members per batch subscribe and per segment update (Mailchimp: at most 500). */
  batch_size: z.number().int().min(1).max(500).default(500),
  /** Overrides https://{dc}.api.mailchimp.com/3.0 (a proxy, the sandbox). */
  base_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
});
export type MailchimpConfig = z.infer<typeof mailchimpConfigSchema>;

/** The object of upsert, insert and mirror syncs: the members of `list_id`. Audience syncs name a static segment id. */
export const MAILCHIMP_MEMBERS_OBJECT = 'members';
const EMAIL_FIELDS = ['email_address', 'email'] as const;

/**
 * Mailchimp audience members, identified by e-mail (subscriber hash = MD5 of the lower-cased address).
 * - Field names are merge tags, upper-cased (`first_name` → FIRST_NAME); `email` / `email_address` is the address.
 *   A key that is not the e-mail is written as a merge tag too (e.g. EXTERNAL_ID), and the e-mail comes from the
 *   mapped `email` field, which the snapshot retains so that removals can name the member.
 * - upsert: batch subscribe `POST /lists/{id}` with `update_existing: true`; insert: `update_existing: false`
 *   (an existing member is rejected, `contact_exists`). Per-member errors of the 200 reject their record.
 * - mirror: `delete_action` archive (one `DELETE /lists/{id}/members/{hash}` per member; a member already gone is
 *   fine) or unsubscribe (batch subscribe with status unsubscribed).
 * - audience: the object is a static segment id; `add` subscribes/updates the member, then adds it to the segment;
 *   `remove` takes it out of the segment (the member stays in the audience).
 * Mailchimp allows 10 connections per account and has no rate headers: concurrency is capped at 10.
 */
export const mailchimp = defineDestination<MailchimpConfig>({
  type: 'mailchimp',
  summary: 'Mailchimp audience members via batch subscribe, static segments for audiences, archive or unsubscribe on delete',
  configSchema: mailchimpConfigSchema,
  modes: ['upsert', 'insert', 'mirror', 'audience'],
  secrets: (config) => [config.api_key],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 5_000_000,
    requestsPerSecond: null,
    concurrency: 10,
    // An archive batch is one DELETE per member, one after another.
    timeoutMs: 300_000,
  }),
  checkSync: (_config, sync) => checkMailchimpSync(sync),
  apiVersion: () => MAILCHIMP_API_VERSION,
  lockScope: (config, object) => `mailchimp:${dataCenterOf(config.api_key)}:${config.list_id}#${object}`,
  retainFields: () => EMAIL_FIELDS,
  open: async (config, context) => new MailchimpSession(config, context.mode, context.object),
  remoteFields: async (config, _object, context) => {
    const client = new MailchimpClient(config);
    const response = await client.request('GET', `/lists/${config.list_id}/merge-fields?count=1000`, undefined, context.signal);
    const body = parseJson<{ merge_fields?: { tag: string; type?: string }[] }>(response.text);
    const fields: RemoteField[] = EMAIL_FIELDS.map((name) => ({ name, type: 'email' }));
    for (const field of body?.merge_fields ?? []) {
      // The adapter upper-cases field names, so both spellings of a tag reach it.
      fields.push({ name: field.tag, type: field.type });
      if (field.tag.toLowerCase() !== field.tag) fields.push({ name: field.tag.toLowerCase(), type: field.type });
    }
    return fields;
  },
  emulator: {
    start: (context) => startMailchimpEmulator({ saved: context.saved }),
    sandboxConfig: (config, emulator) => {
      if (!(emulator instanceof MailchimpEmulator)) throw new Error('the mailchimp sandbox needs a mailchimp emulator');
      return { ...config, api_key: emulator.apiKey, base_url: `${emulator.endpoint}/3.0` };
    },
  },
});

function checkMailchimpSync(sync: SyncShape): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (sync.mode === 'audience' && !/^\d+$/.test(sync.object)) problems.push({ at: ['object'], message: 'an audience sync names a static segment by its numeric id' });
  if (sync.mode !== 'audience' && sync.object !== MAILCHIMP_MEMBERS_OBJECT) problems.push({ at: ['object'], message: `the Mailchimp object is "${MAILCHIMP_MEMBERS_OBJECT}" (audience syncs name a static segment id)` });
  const keyIsEmail = isEmailField(sync.keyField);
  if (!keyIsEmail && !sync.fields.some(isEmailField)) problems.push({ at: ['fields'], message: 'Mailchimp members are identified by e-mail: map a field "email" (or make it the key)' });
  for (const field of [...sync.fields, ...(keyIsEmail ? [] : [sync.keyField])]) {
    if (!isEmailField(field) && !/^[A-Z0-9_]{1,50}$/.test(field.toUpperCase())) problems.push({ at: ['fields', field], message: `"${field}" cannot be a merge tag: use letters, digits and _` });
  }
  return problems;
}

function isEmailField(name: string): boolean {
  return (EMAIL_FIELDS as readonly string[]).includes(name);
}

/** The HTTP side: base URL from the key's data center, Basic auth, problem+json errors. */
class MailchimpClient {
  readonly #base: string;
  readonly #auth: string;

  constructor(config: MailchimpConfig) {
    this.#base = (config.base_url ?? `https://${dataCenterOf(config.api_key)}.api.mailchimp.com/3.0`).replace(/\/+$/, '');
    this.#auth = `Basic ${Buffer.from(`tideline:${config.api_key}`).toString('base64')}`;
  }

  /** One request; 401/403/429/5xx become typed errors; `accept` lists other statuses the caller handles. */
  async request(method: HttpRequest['method'], path: string, body: unknown, signal: AbortSignal, accept: readonly number[] = []): Promise<HttpResponse> {
    const request: HttpRequest = {
      method,
      url: `${this.#base}${path}`,
      headers: { authorization: this.#auth, 'content-type': 'application/json', 'user-agent': 'tideline-mailchimp' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal,
    };
    const response = await send(request);
    raiseForCommonStatus(request, response, detailOf(response));
    if ((response.status >= 200 && response.status < 300) || accept.includes(response.status)) return response;
    const what = `${describeRequest(request)} answered ${response.status}: ${detailOf(response)}`;
    if (response.status === 404 || response.status === 405) throw new StopSyncError(redactor.scrub(`${what} (check the destination's list_id and the sync's object)`));
    throw new BatchRejectedError(redactor.scrub(what), `mailchimp_${response.status}`);
  }
}

interface BatchResponse {
  readonly new_members?: readonly { readonly id: string; readonly email_address: string }[];
  readonly updated_members?: readonly { readonly id: string; readonly email_address: string }[];
  readonly errors?: readonly { readonly email_address?: string; readonly error?: string; readonly error_code?: string; readonly field?: string; readonly field_message?: string }[];
}

interface SegmentResponse {
  readonly errors?: readonly { readonly email_addresses?: readonly string[]; readonly error?: string }[];
}

type Prepared = { readonly email: string; readonly mergeFields: Record<string, FieldValue> } | { readonly outcome: RecordOutcome };

class MailchimpSession implements DestinationSession {
  readonly #client: MailchimpClient;
  readonly #list: string;

  constructor(
    private readonly config: MailchimpConfig,
    private readonly mode: string,
    private readonly object: string,
  ) {
    this.#client = new MailchimpClient(config);
    this.#list = `/lists/${config.list_id}`;
  }

  async check(): Promise<void> {
    const signal = AbortSignal.timeout(30_000);
    await this.#client.request('GET', this.#list, undefined, signal);
    if (this.mode === 'audience') await this.#client.request('GET', `${this.#list}/segments/${this.object}`, undefined, signal);
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const prepared = batch.records.map((record) => prepare(record, batch.keyField));
    switch (batch.operation) {
      case 'upsert':
      case 'update':
        return this.subscribe(prepared, { update_existing: true }, batch.signal);
      case 'insert':
        return this.subscribe(prepared, { update_existing: false }, batch.signal);
      case 'add': {
        const subscribed = await this.subscribe(prepared, { update_existing: true }, batch.signal);
        return this.segment('members_to_add', prepared, subscribed, batch.signal);
      }
      case 'remove':
        return this.segment('members_to_remove', prepared, prepared.map(() => ({ ok: true })), batch.signal);
      case 'delete':
        if (this.config.delete_action === 'unsubscribe') return this.subscribe(prepared, { update_existing: true, status: 'unsubscribed' }, batch.signal);
        return this.archive(batch.records, prepared, batch.signal);
    }
  }

  async close(): Promise<void> {}

  /** Batch subscribe/update; one outcome per record, from `new_members`, `updated_members` and `errors`. */
  private async subscribe(prepared: readonly Prepared[], how: { update_existing: boolean; status?: 'unsubscribed' }, signal: AbortSignal): Promise<RecordOutcome[]> {
    const members = prepared.flatMap((p) =>
      'email' in p
        ? [{ email_address: p.email, ...(how.status ? { status: how.status } : { status_if_new: this.config.status_if_new }), ...(how.status ? {} : { merge_fields: p.mergeFields }) }]
        : [],
    );
    if (!members.length) return prepared.map((p) => ('outcome' in p ? p.outcome : noOutcome()));
    const response = await this.#client.request('POST', this.#list, { members, update_existing: how.update_existing }, signal);
    const body = parseJson<BatchResponse>(response.text) ?? {};
    const answered = new Map<string, RecordOutcome>();
    for (const m of [...(body.new_members ?? []), ...(body.updated_members ?? [])]) answered.set(m.email_address.toLowerCase(), { ok: true, destinationId: m.id });
    for (const e of body.errors ?? []) if (e.email_address) answered.set(e.email_address.trim().toLowerCase(), memberError(e));
    return prepared.map((p) => ('outcome' in p ? p.outcome : (answered.get(p.email.toLowerCase()) ?? noOutcome())));
  }

  /** Static segment add or remove for the records whose earlier step succeeded. */
  private async segment(direction: 'members_to_add' | 'members_to_remove', prepared: readonly Prepared[], before: readonly RecordOutcome[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const emails = prepared.flatMap((p, i) => ('email' in p && before[i]!.ok ? [p.email] : []));
    if (!emails.length) return prepared.map((p, i) => ('outcome' in p ? p.outcome : before[i]!));
    const response = await this.#client.request('POST', `${this.#list}/segments/${this.object}`, { [direction]: emails }, signal);
    const refused = new Map<string, string>();
    for (const error of parseJson<SegmentResponse>(response.text)?.errors ?? []) {
      for (const email of error.email_addresses ?? []) refused.set(email.trim().toLowerCase(), scrubEmails(error.error ?? 'refused by the segment'));
    }
    return prepared.map((p, i): RecordOutcome => {
      if ('outcome' in p) return p.outcome;
      const message = refused.get(p.email.toLowerCase());
      return message === undefined ? before[i]! : { ok: false, code: 'not_a_member', message, retryable: false };
    });
  }

  /** Archives members one by one (Mailchimp has no batch archive); a member already archived or absent is fine. */
  private async archive(records: readonly OutboundRecord[], prepared: readonly Prepared[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const outcomes: RecordOutcome[] = [];
    for (const [i, record] of records.entries()) {
      const p = prepared[i]!;
      const hash = record.destinationId ?? ('email' in p ? subscriberHash(p.email) : undefined);
      if (!hash) {
        outcomes.push({ ok: false, code: 'missing_email', message: 'the snapshot holds no e-mail or member id for this record', retryable: false });
        continue;
      }
      await this.#client.request('DELETE', `${this.#list}/members/${hash}`, undefined, signal, [404]);
      outcomes.push({ ok: true });
    }
    return outcomes;
  }
}

/** The member a record describes: its e-mail and merge fields (upper-cased tags), or why it cannot be sent. */
function prepare(record: OutboundRecord, keyField: string): Prepared {
  const keyIsEmail = isEmailField(keyField);
  const email = keyIsEmail ? record.key : (record.fields['email_address'] ?? record.fields['email']);
  if (typeof email !== 'string' || !email.trim()) return { outcome: { ok: false, code: 'missing_email', message: 'the record has no e-mail address', retryable: false } };
  const mergeFields: Record<string, FieldValue> = {};
  if (!keyIsEmail) mergeFields[keyField.toUpperCase()] = record.key;
  for (const [name, value] of Object.entries(record.fields)) {
    if (isEmailField(name)) continue;
    // Mailchimp clears a merge field with an empty string; it takes text and numbers.
    mergeFields[name.toUpperCase()] = value === null ? '' : typeof value === 'boolean' ? String(value) : value;
  }
  return { email: email.trim(), mergeFields };
}

function memberError(error: NonNullable<BatchResponse['errors']>[number]): RecordOutcome {
  const field = error.field && !isEmailField(error.field) ? error.field : undefined;
  const code = error.error_code === 'ERROR_CONTACT_EXISTS' ? 'contact_exists' : field ? 'invalid_merge_field' : (error.error_code ?? 'error').toLowerCase().replace(/^error_/, '');
  const detail = [error.error, field ? `${field}: ${error.field_message ?? ''}`.trim() : ''].filter(Boolean).join(' — ');
  return { ok: false, code, message: scrubEmails(detail || 'refused by Mailchimp'), retryable: false, alreadyExists: code === 'contact_exists' };
}

function noOutcome(): RecordOutcome {
  return { ok: false, code: 'no_outcome', message: 'Mailchimp did not answer for this member', retryable: true };
}

/** Mailchimp repeats the address in its messages: keep it out of logs and the rejected table. */
function scrubEmails(text: string): string {
  return text.replace(/[^\s@"'<>]+@[^\s@"'<>]+/g, '<email>');
}

function detailOf(response: HttpResponse): string {
  const body = parseJson<{ title?: unknown; detail?: unknown; errors?: { field?: string; message?: string }[] }>(response.text);
  if (!body) return '';
  const errors = (body.errors ?? []).map((e) => `${e.field ?? ''} ${e.message ?? ''}`.trim()).join('; ');
  return scrubEmails([body.title, body.detail, errors].filter((s) => typeof s === 'string' && s).join(': ')).slice(0, 400);
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
