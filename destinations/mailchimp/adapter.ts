import { z } from 'zod';
import {
  ApiClient,
  defineDestination,
  Outcomes,
  parseJson,
  rejected,
  scrubEmails,
  stopSync,
  type Batch,
  type ConfigProblem,
  type DestinationSession,
  type FieldValue,
  type HttpResponse,
  type Indexed,
  type RecordOutcome,
  type RemoteField,
  type SyncShape,
} from '../kit/index.js';
import { MailchimpEmulator, startMailchimpEmulator } from './emulator.js';
import { basicAuth, CONTACT_EXISTS, dataCenterOf, DELETE_PERMANENT_ACTION, DEFAULT_MERGE_TAGS, MAILCHIMP_API_VERSION, MAX_CONNECTIONS, MEMBERS_PER_REQUEST, memberIdentity, MERGE_TAG, MERGE_TAG_MAX_LENGTH, subscriberHash, type ProblemDocument } from './protocol.js';

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
  batch_size: z.number().int().min(1).max(MEMBERS_PER_REQUEST).default(MEMBERS_PER_REQUEST),
  /**
   * The audience's merge tag of a sync field, where the default is not it: `{ external_id: CUST_ID }`. Defaults:
   * first_name → FNAME, last_name → LNAME, address → ADDRESS, phone → PHONE, birthday → BIRTHDAY; a field named in
   * upper case is the tag itself; any other field is its name upper-cased.
   */
  merge_tags: z.record(z.string(), z.string().regex(MERGE_TAG, `a merge tag: A-Z, 0-9 and _, at most ${MERGE_TAG_MAX_LENGTH} characters`)).default({}),
  /** Overrides https://{dc}.api.mailchimp.com/3.0 (a proxy, the sandbox). */
  base_url: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
});
export type MailchimpConfig = z.infer<typeof mailchimpConfigSchema>;

/** The object of upsert, insert and mirror syncs: the members of `list_id`. Audience syncs name a static segment id. */
export const MAILCHIMP_MEMBERS_OBJECT = 'members';
const EMAIL_FIELDS = ['email_address', 'email'] as const;

/**
 * Mailchimp audience members, identified by e-mail (subscriber hash = MD5 of the lower-cased address).
 * - Fields are merge tags (`mergeTag`): first_name → FNAME, last_name → LNAME, address → ADDRESS, phone → PHONE,
 *   birthday → BIRTHDAY; a field named in upper case is the tag as it is; `merge_tags` names others; the rest are
 *   upper-cased. `email` / `email_address` is the address. A key that is not the e-mail is written as a merge tag too,
 *   and the e-mail comes from the mapped `email` field, which the snapshot retains so that removals can name the member.
 * - upsert: batch subscribe `POST /lists/{id}` (`update_existing: false`, `status: status_if_new`) creates the new
 *   members; those that exist (ERROR_CONTACT_EXISTS) get a second batch, `update_existing: true` without a status, so
 *   they keep theirs. insert: the first step only (an existing member is rejected, `contact_exists`). Per-member
 *   errors of the 200 reject their record.
 * - mirror: `delete_action` archive (one `DELETE /lists/{id}/members/{hash}` per member; a member already gone is
 *   fine) or unsubscribe (batch subscribe with status unsubscribed).
 * - audience: the object is a static segment id; `add` subscribes/updates the member, then adds it to the segment;
 *   `remove` takes it out of the segment (the member stays in the audience).
 * - forget (`tideline forget`, every mode): the member's permanent delete, `POST /lists/{id}/members/{hash}/actions/
 *   delete-permanent`, one per member, by the id Mailchimp answered or the retained address; a member already gone
 *   (404) is erased. An audience sync's person is a member of the list too: leaving the segment would keep all their
 *   data in the audience, so erasure deletes the member.
 * Mailchimp allows 10 connections per account and has no rate headers: concurrency is capped at 10.
 */
export const mailchimp = defineDestination<MailchimpConfig>({
  type: 'mailchimp',
  summary: 'Mailchimp audience members via batch subscribe, static segments for audiences, archive or unsubscribe on delete',
  configSchema: mailchimpConfigSchema,
  modes: ['upsert', 'insert', 'mirror', 'audience'],
  channel: 'email',
  secrets: (config) => [config.api_key],
  limits: (config) => ({
    maxBatchRecords: config.batch_size,
    maxBatchBytes: 5_000_000,
    requestsPerSecond: null,
    concurrency: MAX_CONNECTIONS,
    // An archive batch is one DELETE per member, one after another.
    timeoutMs: 300_000,
  }),
  checkSync: (config, sync) => checkMailchimpSync(config, sync),
  // Every mode writes list members, and the static segment of an audience sync is a set of list members: the
  // person's erasure is the member's permanent delete, which removes all of their personal data from the audience
  // (protocol.ts, DELETE_PERMANENT_ACTION). Leaving the segment, or archiving, would keep it.
  erasure: () => ({
    operation: 'forget',
    method: 'Mailchimp delete list member (permanent): POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent (mailchimp.com/developer/marketing/api/list-members/)',
  }),
  apiVersion: () => MAILCHIMP_API_VERSION,
  lockScope: (config, object) => `mailchimp:${dataCenterOf(config.api_key)}:${config.list_id}#${object}`,
  retainFields: () => EMAIL_FIELDS,
  open: async (config, context) => new MailchimpSession(config, context.mode, context.object),
  remoteFields: async (config, _object, context) => {
    const body = await client(config).json<{ merge_fields?: { tag: string; type?: string }[] }>('GET', `/lists/${config.list_id}/merge-fields`, { query: { count: 1000 }, signal: context.signal });
    const fields: RemoteField[] = EMAIL_FIELDS.map((name) => ({ name, type: 'email' }));
    const aliases = { ...DEFAULT_MERGE_TAGS, ...config.merge_tags };
    for (const field of body?.merge_fields ?? []) {
      // Every field name that reaches the tag: the tag itself, its lower case, a default or configured name.
      const names = new Set([field.tag, field.tag.toLowerCase(), ...Object.keys(aliases).filter((name) => aliases[name] === field.tag)]);
      for (const name of names) if (mergeTag(config, name) === field.tag) fields.push({ name, type: field.type });
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

/** The merge tag a field is written to (see the destination's description). */
export function mergeTag(config: Pick<MailchimpConfig, 'merge_tags'>, field: string): string {
  return config.merge_tags[field] ?? (/^[A-Z][A-Z0-9_]*$/.test(field) ? field : (DEFAULT_MERGE_TAGS[field] ?? field.toUpperCase()));
}

function checkMailchimpSync(config: MailchimpConfig, sync: SyncShape): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (sync.mode === 'audience' && !/^\d+$/.test(sync.object)) problems.push({ at: ['object'], message: 'an audience sync names a static segment by its numeric id' });
  if (sync.mode !== 'audience' && sync.object !== MAILCHIMP_MEMBERS_OBJECT) problems.push({ at: ['object'], message: `the Mailchimp object is "${MAILCHIMP_MEMBERS_OBJECT}" (audience syncs name a static segment id)` });
  const keyIsEmail = isEmailField(sync.keyField);
  if (!keyIsEmail && !sync.fields.some(isEmailField)) problems.push({ at: ['fields'], message: 'Mailchimp members are identified by e-mail: map a field "email" (or make it the key)' });
  const written = new Map<string, string>();
  for (const [field, at] of [...sync.fields.map((f) => [f, ['fields', f]] as const), ...(keyIsEmail ? [] : [[sync.keyField, ['key']] as const])]) {
    if (isEmailField(field)) continue;
    const tag = mergeTag(config, field);
    if (!MERGE_TAG.test(tag)) {
      const why = tag.length > MERGE_TAG_MAX_LENGTH ? `has ${tag.length} characters; Mailchimp merge tags have at most ${MERGE_TAG_MAX_LENGTH}` : 'may only hold A-Z, 0-9 and _';
      problems.push({ at: [...at], message: `"${field}" is written to merge tag "${tag}", which ${why}: name the field after the audience's tag in upper case, or map it in the destination's merge_tags` });
    } else if (written.has(tag)) problems.push({ at: [...at], message: `"${field}" and "${written.get(tag)}" are both written to merge tag "${tag}"` });
    written.set(tag, field);
  }
  return problems;
}

function isEmailField(name: string): boolean {
  return (EMAIL_FIELDS as readonly string[]).includes(name);
}

/** The HTTP side: base URL from the key's data center, Basic auth, problem documents for errors. */
function client(config: MailchimpConfig): ApiClient {
  return new ApiClient({
    vendor: 'mailchimp',
    baseUrl: config.base_url ?? `https://${dataCenterOf(config.api_key)}.api.mailchimp.com/3.0`,
    headers: basicAuth(config.api_key),
    detail: detailOf,
    // A wrong list or segment id (or a base_url that is not the API) stops the sync; other 4xx refuse the batch.
    refused: (response, what) => (response.status === 404 || response.status === 405 ? stopSync(`${what} (check the destination's list_id and the sync's object)`) : undefined),
  });
}

interface BatchMember {
  readonly email_address: string;
  readonly id?: string;
}

interface BatchResponse {
  readonly new_members?: readonly BatchMember[];
  readonly updated_members?: readonly BatchMember[];
  readonly errors?: readonly { readonly email_address?: string; readonly error?: string; readonly error_code?: string; readonly field?: string; readonly field_message?: string }[];
}

interface SegmentResponse {
  readonly errors?: readonly { readonly email_addresses?: readonly string[]; readonly error?: string }[];
}

/** A record with its address and merge fields. */
interface Member extends Indexed {
  readonly email: string;
  readonly mergeFields: Record<string, FieldValue>;
}

class MailchimpSession implements DestinationSession {
  readonly #client: ApiClient;
  readonly #list: string;

  constructor(
    private readonly config: MailchimpConfig,
    private readonly mode: string,
    private readonly object: string,
  ) {
    this.#client = client(config);
    this.#list = `/lists/${config.list_id}`;
  }

  async check(): Promise<void> {
    const signal = AbortSignal.timeout(30_000);
    await this.#client.request('GET', this.#list, { signal });
    if (this.mode === 'audience') await this.#client.request('GET', `${this.#list}/segments/${this.object}`, { signal });
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'Mailchimp');
    const members = this.members(batch, outcomes);
    const signal = batch.signal;
    switch (batch.operation) {
      case 'upsert':
      case 'update':
        await this.upsert(members, outcomes, signal);
        break;
      case 'insert':
        await this.subscribe(members, outcomes, { update_existing: false, status: this.config.status_if_new }, signal);
        break;
      case 'add':
        await this.upsert(members, outcomes, signal);
        await this.segment('members_to_add', members.filter((m) => outcomes.get(m.index)?.ok), outcomes, signal);
        break;
      case 'remove':
        outcomes.settleAll(members, () => ({ ok: true }));
        await this.segment('members_to_remove', members, outcomes, signal);
        break;
      case 'delete':
        if (this.config.delete_action === 'unsubscribe') await this.subscribe(members, outcomes, { update_existing: true, status: 'unsubscribed', fields: false }, signal);
        else await this.oneByOne(batch, members, outcomes, 'DELETE', '', signal);
        break;
      case 'forget':
        await this.oneByOne(batch, members, outcomes, 'POST', `/${DELETE_PERMANENT_ACTION}`, signal);
        break;
    }
    return outcomes.done();
  }

  async close(): Promise<void> {}

  /** The members a batch names, once each: records without an address are rejected, repeats are `duplicate_key`. */
  private members(batch: Batch, outcomes: Outcomes): Member[] {
    const keyIsEmail = isEmailField(batch.keyField);
    const emailOf = (fields: Readonly<Record<string, FieldValue>>, key: string) => {
      const email = keyIsEmail ? key : (fields['email_address'] ?? fields['email']);
      return typeof email === 'string' && email.trim() ? email.trim() : undefined;
    };
    batch.records.forEach((record, index) => {
      // An archive may name the member by the id Mailchimp answered, without an address; everything else needs one.
      const byId = ((batch.operation === 'delete' && this.config.delete_action === 'archive') || batch.operation === 'forget') && record.destinationId;
      if (emailOf(record.fields, record.key) === undefined && !byId) outcomes.settle(index, rejected('missing_email', 'the record has no e-mail address'));
    });
    return outcomes.distinct((record) => memberIdentity(emailOf(record.fields, record.key) ?? `id:${record.destinationId}`)).map((item) => {
      const mergeFields: Record<string, FieldValue> = {};
      if (!keyIsEmail) mergeFields[mergeTag(this.config, batch.keyField)] = item.record.key;
      for (const [name, value] of Object.entries(item.record.fields)) {
        if (isEmailField(name)) continue;
        // Mailchimp clears a merge field with an empty string; it takes text and numbers.
        mergeFields[mergeTag(this.config, name)] = value === null ? '' : typeof value === 'boolean' ? String(value) : value;
      }
      return { ...item, email: emailOf(item.record.fields, item.record.key) ?? '', mergeFields };
    });
  }

  /** New members get `status_if_new`; those that exist are updated without a status, so they keep theirs. */
  private async upsert(members: readonly Member[], outcomes: Outcomes, signal: AbortSignal): Promise<void> {
    const existing = await this.subscribe(members, outcomes, { update_existing: false, status: this.config.status_if_new, existing: 'return' }, signal);
    await this.subscribe(existing, outcomes, { update_existing: true }, signal);
  }

  /**
   * One batch subscribe; each member is settled from `new_members`, `updated_members` or `errors`, except, with
   * `existing: 'return'`, those refused ERROR_CONTACT_EXISTS: they are returned, for the caller to update.
   */
  private async subscribe(members: readonly Member[], outcomes: Outcomes, how: { update_existing: boolean; status?: string; fields?: false; existing?: 'return' }, signal: AbortSignal): Promise<Member[]> {
    const sent = members.filter((m) => m.email && !outcomes.get(m.index));
    if (!sent.length) return [];
    const body = {
      members: sent.map((m) => ({ email_address: m.email, ...(how.status ? { status: how.status } : {}), ...(how.fields === false ? {} : { merge_fields: m.mergeFields }) })),
      update_existing: how.update_existing,
    };
    const answer = (await this.#client.json<BatchResponse>('POST', this.#list, { body, signal })) ?? {};
    const answered = new Map<string, RecordOutcome | 'exists'>();
    for (const m of [...(answer.new_members ?? []), ...(answer.updated_members ?? [])]) answered.set(memberIdentity(m.email_address), { ok: true, destinationId: m.id ?? subscriberHash(m.email_address) });
    for (const e of answer.errors ?? []) {
      if (!e.email_address) continue;
      answered.set(memberIdentity(e.email_address), e.error_code === CONTACT_EXISTS && how.existing === 'return' ? 'exists' : memberError(e));
    }
    const existing: Member[] = [];
    for (const m of sent) {
      const outcome = answered.get(memberIdentity(m.email));
      if (outcome === 'exists') existing.push(m);
      else if (outcome) outcomes.settle(m.index, outcome);
    }
    return existing;
  }

  /** Static segment add or remove; a member the segment refuses is `not_a_member`. */
  private async segment(direction: 'members_to_add' | 'members_to_remove', members: readonly Member[], outcomes: Outcomes, signal: AbortSignal): Promise<void> {
    if (!members.length) return;
    const answer = await this.#client.json<SegmentResponse>('POST', `${this.#list}/segments/${this.object}`, { body: { [direction]: members.map((m) => m.email) }, signal });
    const refused = new Map<string, string>();
    for (const error of answer?.errors ?? []) {
      for (const email of error.email_addresses ?? []) refused.set(memberIdentity(email), scrubEmails(error.error ?? 'refused by the segment'));
    }
    for (const m of members) {
      const message = refused.get(memberIdentity(m.email));
      if (message !== undefined) outcomes.settle(m.index, rejected('not_a_member', message));
    }
  }

  /**
   * Archives (`DELETE /members/{hash}`) or permanently deletes (`POST …/actions/delete-permanent`) members one by one:
   * Mailchimp has neither in batch. A member the list no longer holds (404) is done: `check` has found the list, so
   * the 404 is the member's. By the id Mailchimp answered, else the hash of the address.
   */
  private async oneByOne(batch: Batch, members: readonly Member[], outcomes: Outcomes, method: 'DELETE' | 'POST', suffix: string, signal: AbortSignal): Promise<void> {
    for (const m of members) {
      const hash = batch.records[m.index]!.destinationId ?? subscriberHash(m.email);
      await this.#client.request(method, `${this.#list}/members/${hash}${suffix}`, { accept: [404], signal });
      outcomes.settle(m.index, { ok: true });
    }
  }
}

function memberError(error: NonNullable<BatchResponse['errors']>[number]): RecordOutcome {
  const field = error.field && !isEmailField(error.field) ? error.field : undefined;
  const code = error.error_code === CONTACT_EXISTS ? 'contact_exists' : field ? 'invalid_merge_field' : (error.error_code ?? 'error').toLowerCase().replace(/^error_/, '');
  const detail = [error.error, field ? `${field}: ${error.field_message ?? ''}`.trim() : ''].filter(Boolean).join(' — ');
  return { ok: false, code, message: scrubEmails(detail || 'refused by Mailchimp'), retryable: false, alreadyExists: code === 'contact_exists' };
}

/** The problem document's title and detail (and the field errors Mailchimp adds to a 400 Invalid Resource). */
function detailOf(response: HttpResponse): string {
  const body = parseJson<ProblemDocument & { errors?: { field?: string; message?: string }[] }>(response.text);
  if (!body) return '';
  const errors = (body.errors ?? []).map((e) => `${e.field ?? ''} ${e.message ?? ''}`.trim()).join('; ');
  return [body.title, body.detail, errors].filter((s) => typeof s === 'string' && s).join(': ');
}
