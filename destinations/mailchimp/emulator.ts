import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { FaultPlan } from '../emulator-kit/faults.js';
import { EmulatorServer, requestObject, ServerEmulator, type ApiContract, type EmulatorReply, type EmulatorRequest, type RateLimitSpec, type RecordStore } from '../emulator-kit/server.js';
import { CONTACT_EXISTS, DELETE_PERMANENT_ACTION, forgottenEmailDetail, MAX_CONNECTIONS, MEMBER_STATUSES, MEMBERS_PER_REQUEST, memberIdentity, MERGE_TAG, SKIP_DUPLICATE_CHECK, subscriberHash } from './protocol.js';

/** A merge field of an audience, as `GET /lists/{id}/merge-fields` describes it. */
export interface MergeFieldSpec {
  readonly tag: string;
  readonly type?: 'text' | 'number' | 'date' | 'birthday' | 'address' | 'phone' | 'url' | 'imageurl' | 'radio' | 'dropdown' | 'zip';
  readonly name?: string;
}

export interface MailchimpListSpec {
  readonly mergeFields: readonly MergeFieldSpec[];
  /** Ids of the list's static segments. */
  readonly segments?: readonly string[];
}

/** Why the audience refuses one member (an entry of `errors[]` in the 200), or undefined to accept it. */
export type MailchimpMemberRule = (member: { readonly email_address: string; readonly merge_fields: Readonly<Record<string, unknown>> }) => string | undefined;

export interface MailchimpEmulatorOptions {
  /** Records to start with: what `save()` returned in an earlier sandbox session. */
  readonly saved?: unknown;
  /** The API key (`<hex>-<dc>`) requests must carry as the Basic-auth password (default: a random one). */
  readonly apiKey?: string;
  /**
   * The audiences that exist. Absent (the sandbox): any list id, segment id and merge tag is accepted and created on
   * first use, since the sandbox does not know the project's audiences in advance.
   */
  readonly lists?: Readonly<Record<string, MailchimpListSpec>>;
  /** Most members per batch subscribe and per segment add/remove (Mailchimp: 500). */
  readonly maxMembers?: number;
  /** Most requests in flight at once per account (Mailchimp: 10); more are answered 429. */
  readonly maxConnections?: number;
  /** Time each request takes, so that concurrent requests overlap as they do over a network. */
  readonly latencyMs?: number;
  readonly rateLimit?: RateLimitSpec;
  readonly faults?: FaultPlan;
  readonly reject?: MailchimpMemberRule;
  readonly port?: number;
}

/** A member as the emulator keeps it (state: object `list:<id>`, by lower-cased email). */
export interface EmulatedMember {
  readonly id: string;
  readonly email_address: string;
  readonly status: 'subscribed' | 'unsubscribed' | 'cleaned' | 'pending' | 'transactional' | 'archived';
  readonly merge_fields: Readonly<Record<string, unknown>>;
}

export interface MailchimpStats {
  maxMembersSeen: number;
  /** Most requests in flight at once. */
  maxInFlight: number;
}

const STATUSES = new Set<string>(MEMBER_STATUSES);
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const listObject = (listId: string) => `list:${listId}`;
export const segmentObject = (listId: string, segmentId: string) => `segment:${listId}:${segmentId}`;
/** The subscriber hashes of a list's permanently deleted members, which Mailchimp keeps from being imported again. */
export const forgottenObject = (listId: string) => `forgotten:${listId}`;

/**
 * Mailchimp Marketing API 3.0 as Tideline uses it, under `/3.0`: `GET /ping`, `GET /lists/{id}`, batch subscribe
 * `POST /lists/{id}` (≤ 500 members, 200 with `errors[]` for the refused ones, `update_existing`), archive
 * `DELETE /lists/{id}/members/{hash}`, `GET /lists/{id}/merge-fields`, static segments
 * `GET|POST /lists/{id}/segments/{sid}` (`members_to_add` / `members_to_remove`, ≤ 500 each, list members only),
 * permanent delete `POST /lists/{id}/members/{hash}/actions/delete-permanent` (the member and its segment memberships
 * are gone, 204; a member not held is 404; the address is refused by later batch subscribes).
 * Errors are `application/problem+json`; more than `maxConnections` requests at once get 429 (no rate headers).
 * The same e-mail twice in one batch subscribe refuses the batch (400). A batch member has `status` (required for a
 * new member; an existing one keeps its own when none is given); an existing member is refused ERROR_CONTACT_EXISTS
 * unless `update_existing`. Every rule and limit is a fact of protocol.ts, with its source; the contract suite checks
 * each exchange against Mailchimp's OpenAPI document.
 */
export class MailchimpEmulator extends ServerEmulator {
  constructor(
    server: EmulatorServer,
    readonly apiKey: string,
    readonly stats: Readonly<MailchimpStats>,
  ) {
    super(server);
  }

  /** Members of a list (archived ones included, with that status), by lower-cased email. */
  members(listId: string): ReadonlyMap<string, EmulatedMember> {
    return this.server.store.object(listObject(listId)) as unknown as ReadonlyMap<string, EmulatedMember>;
  }

  /** Lower-cased emails in a static segment. */
  segment(listId: string, segmentId: string): readonly string[] {
    return [...this.server.store.object(segmentObject(listId, segmentId)).keys()];
  }
}

export async function startMailchimpEmulator(options: MailchimpEmulatorOptions = {}): Promise<MailchimpEmulator> {
  const apiKey = options.apiKey ?? `${randomBytes(16).toString('hex')}-us1`;
  const maxMembers = options.maxMembers ?? MEMBERS_PER_REQUEST;
  const maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  const stats: MailchimpStats = { maxMembersSeen: 0, maxInFlight: 0 };
  const lists = new Map(Object.entries(options.lists ?? {}).map(([id, spec]) => [id, { mergeFields: [...spec.mergeFields], segments: new Set(spec.segments ?? []) }]));
  const lenient = options.lists === undefined;
  let inFlight = 0;

  const listOf = (id: string) => {
    let list = lists.get(id);
    if (!list && lenient) lists.set(id, (list = { mergeFields: [], segments: new Set() }));
    return list;
  };

  const api: ApiContract = {
    authenticate: (request) => {
      const header = String(request.headers['authorization'] ?? '');
      const password = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8').split(':').slice(1).join(':') : '';
      return password === apiKey ? undefined : problem(401, 'API Key Invalid', "Your API key may be invalid, or you've attempted to access the wrong datacenter.");
    },
    tooManyRequests: () => problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.'),
    serverError: (status) => problem(status, 'Internal Server Error', 'An unexpected internal error has occurred. Please contact Support for more information.'),
    handle: async (request, store) => {
      if (++inFlight > maxConnections) {
        inFlight--;
        return problem(429, 'Too Many Requests', `You have exceeded the limit of ${maxConnections} simultaneous connections.`);
      }
      stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
      try {
        if (options.latencyMs) await delay(options.latencyMs);
        return route(request, store);
      } finally {
        inFlight--;
      }
    },
  };

  function route(request: EmulatorRequest, store: RecordStore): EmulatorReply {
    const parts = request.path.replace(/\/+$/, '').split('/').slice(1);
    if (parts[0] !== '3.0') return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    const [, resource, listId, sub, id, ...action] = parts;
    if (resource === 'ping' && request.method === 'GET') return { status: 200, body: { health_status: "Everything's Chimpy!" } };
    if (resource !== 'lists' || !listId) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    const list = listOf(listId);
    if (!list) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    const members = membersOf(store, listId);

    if (sub === undefined && request.method === 'GET') return { status: 200, body: { id: listId, name: listId, stats: { member_count: [...members.values()].filter((m) => m.status === 'subscribed').length } } };
    if (sub === undefined && request.method === 'POST') return batchSubscribe(request, store, listId, list.mergeFields);
    if (sub === 'merge-fields' && request.method === 'GET') {
      const fields = list.mergeFields.map((f, i) => ({ merge_id: i + 1, tag: f.tag, name: f.name ?? f.tag, type: f.type ?? 'text', required: false, list_id: listId }));
      return { status: 200, body: { merge_fields: fields, list_id: listId, total_items: fields.length } };
    }
    if (sub === 'members' && id && action.join('/') === DELETE_PERMANENT_ACTION && request.method === 'POST') {
      // Every status, archived included; the member's hash is kept so that the address cannot be imported again.
      const entry = [...members.entries()].find(([, m]) => m.id === id);
      if (!entry) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
      members.delete(entry[0]);
      for (const segment of list.segments) store.object(segmentObject(listId, segment)).delete(entry[0]);
      store.object(forgottenObject(listId)).set(id, {});
      return { status: 204 };
    }
    if (action.length) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    if (sub === 'members' && id && request.method === 'DELETE') {
      const entry = [...members.entries()].find(([, m]) => m.id === id && m.status !== 'archived');
      if (!entry) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
      members.set(entry[0], { ...entry[1], status: 'archived' });
      for (const segment of list.segments) store.object(segmentObject(listId, segment)).delete(entry[0]);
      return { status: 204 };
    }
    if (sub === 'members' && id && request.method === 'GET') {
      const member = [...members.values()].find((m) => m.id === id);
      return member ? { status: 200, body: member } : problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    }
    if (sub === 'segments' && id) {
      if (!list.segments.has(id)) {
        if (!lenient) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
        list.segments.add(id);
      }
      if (request.method === 'GET') return { status: 200, body: { id: Number(id) || id, type: 'static', list_id: listId, member_count: store.object(segmentObject(listId, id)).size } };
      if (request.method === 'POST') return segmentMembers(request, store, listId, id);
    }
    return problem(405, 'Method Not Allowed', 'The requested method and resource are not compatible.');
  }

  function batchSubscribe(request: EmulatorRequest, store: RecordStore, listId: string, mergeFields: MergeFieldSpec[]): EmulatorReply {
    const body = requestObject(request);
    if (!body || !Array.isArray(body['members'])) return invalid('members', 'Required field was not provided');
    const input = body['members'] as Record<string, unknown>[];
    if (input.length > maxMembers) return invalid('members', `Schema describes array, maximum ${maxMembers} items`);
    const emails = input.map((m) => (typeof m?.['email_address'] === 'string' ? memberIdentity(m['email_address']) : ''));
    const dup = emails.find((e, i) => e && emails.indexOf(e) !== i);
    if (dup !== undefined && request.query.get(SKIP_DUPLICATE_CHECK) !== 'true') return invalid('members', 'The same email address appears more than once in the batch');
    stats.maxMembersSeen = Math.max(stats.maxMembersSeen, input.length);
    const updateExisting = body['update_existing'] === true;
    const members = membersOf(store, listId);
    const created: EmulatedMember[] = [];
    const updated: EmulatedMember[] = [];
    const errors: Record<string, string>[] = [];
    const refuse = (email: string, error: string, code: string, field = '', message = '') => errors.push({ email_address: email, error, error_code: code, field, field_message: message });

    input.forEach((m, i) => {
      const email = String(m?.['email_address'] ?? '');
      const key = emails[i]!;
      if (!EMAIL.test(key)) return refuse(email, 'Please provide a valid email address.', 'ERROR_GENERIC', 'email_address', 'Please provide a valid email address.');
      const merge = (m['merge_fields'] ?? {}) as Record<string, unknown>;
      if (typeof merge !== 'object' || Array.isArray(merge)) return refuse(email, 'Your merge fields were invalid.', 'ERROR_GENERIC', 'merge_fields', 'merge_fields must be an object');
      for (const tag of Object.keys(merge)) {
        if (mergeFields.some((f) => f.tag === tag)) continue;
        if (lenient && MERGE_TAG.test(tag)) mergeFields.push({ tag });
        else return refuse(email, 'Your merge fields were invalid.', 'ERROR_GENERIC', tag, `${tag} is not a merge field of this audience`);
      }
      const numeric = mergeFields.find((f) => f.type === 'number' && merge[f.tag] !== undefined && merge[f.tag] !== '' && !Number.isFinite(Number(merge[f.tag])));
      if (numeric) return refuse(email, 'Your merge fields were invalid.', 'ERROR_GENERIC', numeric.tag, 'Please enter a number');
      if (store.object(forgottenObject(listId)).has(subscriberHash(key))) return refuse(email, forgottenEmailDetail(email), 'ERROR_GENERIC', 'email_address', forgottenEmailDetail(email));
      const refused = options.reject?.({ email_address: email, merge_fields: merge });
      if (refused) return refuse(email, refused, 'ERROR_GENERIC', 'email_address', refused);
      const status = (m['status'] ?? undefined) as string | undefined;
      if (status !== undefined && !STATUSES.has(status)) return refuse(email, 'Invalid status.', 'ERROR_GENERIC', 'status', `"${status}" is not a status`);
      const existing = members.get(key);
      if (existing && existing.status !== 'archived') {
        if (!updateExisting) return refuse(email, `${email} is already a list member. Use PUT to insert or update list members.`, CONTACT_EXISTS);
        const next: EmulatedMember = { ...existing, status: (status ?? existing.status) as EmulatedMember['status'], merge_fields: { ...existing.merge_fields, ...merge } };
        members.set(key, next);
        updated.push(next);
        return;
      }
      const initial = status;
      if (!initial) return refuse(email, 'Please provide a status for new members.', 'ERROR_GENERIC', 'status', 'Required for new members');
      const member: EmulatedMember = { id: subscriberHash(key), email_address: key, status: initial as EmulatedMember['status'], merge_fields: { ...existing?.merge_fields, ...merge } };
      if (!existing) store.created(listObject(listId), key);
      members.set(key, member);
      created.push(member);
    });
    return {
      status: 200,
      body: { new_members: created, updated_members: updated, errors, total_created: created.length, total_updated: updated.length, error_count: errors.length },
    };
  }

  function segmentMembers(request: EmulatorRequest, store: RecordStore, listId: string, segmentId: string): EmulatorReply {
    const body = requestObject(request);
    const add = body?.['members_to_add'] ?? [];
    const remove = body?.['members_to_remove'] ?? [];
    if (!Array.isArray(add) || !Array.isArray(remove)) return invalid('members_to_add', 'Schema describes array');
    if (add.length > maxMembers) return invalid('members_to_add', `Schema describes array, maximum ${maxMembers} items`);
    if (remove.length > maxMembers) return invalid('members_to_remove', `Schema describes array, maximum ${maxMembers} items`);
    stats.maxMembersSeen = Math.max(stats.maxMembersSeen, add.length, remove.length);
    const members = membersOf(store, listId);
    const segment = store.object(segmentObject(listId, segmentId));
    const added: EmulatedMember[] = [];
    const removed: EmulatedMember[] = [];
    const notMembers: string[] = [];
    for (const email of add as string[]) {
      const key = String(email).trim().toLowerCase();
      const member = members.get(key);
      if (!member || member.status === 'archived') notMembers.push(String(email));
      else if (!segment.has(key)) {
        segment.set(key, {});
        added.push(member);
      }
    }
    for (const email of remove as string[]) {
      const key = String(email).trim().toLowerCase();
      if (segment.delete(key)) removed.push(members.get(key)!);
    }
    const errors = notMembers.length ? [{ email_addresses: notMembers, error: 'Email addresses must be members of the audience' }] : [];
    return { status: 200, body: { members_added: added, members_removed: removed, errors, total_added: added.length, total_removed: removed.length, error_count: notMembers.length } };
  }

  const server = await EmulatorServer.start(api, { rateLimit: options.rateLimit, faults: options.faults, port: options.port });
  server.restore(options.saved);
  return new MailchimpEmulator(server, apiKey, stats);
}

function membersOf(store: RecordStore, listId: string): Map<string, EmulatedMember> {
  return store.object(listObject(listId)) as unknown as Map<string, EmulatedMember>;
}

function problem(status: number, title: string, detail: string): EmulatorReply {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: JSON.stringify({ type: 'https://mailchimp.com/developer/marketing/docs/errors/', title, status, detail, instance: randomUUID() }),
  };
}

/** A 400 Invalid Resource: a problem document (https://mailchimp.com/developer/marketing/docs/errors/), the field named in its detail. */
function invalid(field: string, message: string): EmulatorReply {
  return problem(400, 'Invalid Resource', `The resource submitted could not be validated: ${field}: ${message}`);
}
