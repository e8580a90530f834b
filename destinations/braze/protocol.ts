/**
 * What Tideline relies on in Braze's REST API (unversioned), with where each fact comes from. The adapter and the
 * emulator import these; a fact that changes changes here. Checked 2026-12-06.
 */

/** The object of upsert and mirror syncs: Braze users by external_id. Audience syncs name an audience instead. */
export const BRAZE_USERS_OBJECT = 'users';

/**
 * `POST /users/track`: "75 events, 75 purchases, and 75 attributes per API request" (https://braze.com/docs/api/api_limits,
 * read 2026-12-07) — the German and Japanese versions of that page say 75 objects combined (75 per array for
 * customers on legacy rate limits), and customers on "Monthly Active Users CY 24-25" may batch 50 combined
 * (https://www.braze.com/docs/api/endpoints/user_data/post_user_track/). Tideline sends one array per request
 * (attributes, events or purchases), so 75 is safe under the first two readings; the third sets
 * `objects_per_request: 50`. The emulator counts the three arrays combined, the strictest reading.
 */
export const TRACK_OBJECTS_PER_REQUEST = 75;

/**
 * `POST /users/delete` (https://www.braze.com/docs/api/endpoints/user_data/post_user_delete/, read 2026-12-07): "Up to
 * 50 external_ids, user_aliases, braze_ids, email_addresses, or phone_numbers can be included in a single request. Only
 * one of [them] can be included in a single request." "Deleting user profiles cannot be undone." The answer is a 201
 * (https://github.com/braze-inc/braze-docs/issues/2442, 2021: the page shows no status) of `{"deleted": n}`, "number of
 * user ids queued for deletion" — in the docs' earlier wording "number of user ids successfully parsed and queued for
 * deletion; if the IDs map to users in Braze's systems, those users will be deleted"
 * (https://github.com/braze-inc/braze-docs/issues/15, 2019): an id Braze does not hold (never created, or already
 * deleted) is counted and is no error, so a second erasure of a person is answered as the first. Deletion is queued:
 * the profile goes shortly after the answer.
 */
export const DELETE_IDS_PER_REQUEST = 50;
/** The identifier lists of a /users/delete request Tideline sends (one per request). */
export const DELETE_IDENTIFIERS = ['external_ids', 'braze_ids'] as const;
export type DeleteIdentifier = (typeof DELETE_IDENTIFIERS)[number];

/**
 * What deleting a user erases (`tideline forget`). The profile is deleted (nulled): its attributes, e-mail address,
 * phone number, external id… (https://www.braze.com/docs/help/help_articles/api/delete_user/, read 2026-12-07).
 * "Behavioral events cannot be deleted from a User Profile (custom events, sessions, campaigns, purchases). To remove
 * those events, you must delete the entire User Profile." (https://www.braze.com/docs/api/data_retention/, revised
 * 2024-04-01, read 2026-12-07.) Deleting the user is therefore the erasure of a user, of an audience member (the
 * audience is an attribute of the user) and of their events and purchases alike; aggregate counts (custom event
 * counts, conversion percentages) keep the deleted user's contribution, without any personal data.
 */
export const BRAZE_DELETE_DOCS = 'braze.com/docs/api/endpoints/user_data/post_user_delete/';

/**
 * `/users/track` is limited to 3,000 requests per 3 seconds per workspace (Braze "API rate limits"); every answer
 * carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (epoch seconds of the window's end).
 * https://www.braze.com/docs/api/api_limits/
 */
export const TRACK_RATE_LIMIT = { requests: 3000, perMs: 3000 } as const;
export const RATE_HEADERS = { limit: 'x-ratelimit-limit', remaining: 'x-ratelimit-remaining', reset: 'x-ratelimit-reset' } as const;

/**
 * Non-fatal errors of a 201 answer: `{"message":"success","errors":[{"type","input_array","index"}]}` — the object at
 * `index` of `input_array` was not processed, the others were. A fatal error is a 4xx with `{"message"}` and nothing
 * was processed. https://www.braze.com/docs/api/errors/ (Fatal errors, Non-fatal errors).
 */
export interface TrackResponse {
  readonly message?: string;
  readonly errors?: readonly ({ readonly type?: string; readonly input_array?: string; readonly index?: number } | string)[];
}

/**
 * An attribute object: `external_id` plus attributes; `_update_existing_only: true` never creates a user; an array
 * attribute takes `{"add": […], "remove": […]}`; `null` removes an attribute.
 * https://www.braze.com/docs/api/objects_filters/user_attributes_object/
 */
export const UPDATE_EXISTING_ONLY = '_update_existing_only';

/**
 * The objects of an events sync: custom events (`events` of /users/track) and purchases (`purchases`), each record
 * one object of that array. Read 2026-12-07:
 * - event object (https://www.braze.com/docs/api/objects_filters/event_object/): one of `external_id`,
 *   `user_alias`, `braze_id`, `email`, `phone`; `app_id` (optional); `name` (required); `time` (required, ISO 8601);
 *   `properties` (optional): names non-empty, ≤ 255 characters, no leading `$`; string values ≤ 255 characters.
 * - purchase object (https://www.braze.com/docs/api/objects_filters/purchase_object/): the same identifiers and
 *   `app_id`; `product_id` (required, ≤ 255 characters); `currency` (required, ISO 4217 alphabetic); `price`
 *   (required, a number); `quantity` (optional integer, "defaults to 1, must be <= 100"); `time` (required);
 *   `properties` as for events. Braze says plans to phase the purchase event out in favour of eCommerce recommended
 *   events "will be announced" (no date yet): purchases remain what LTV and revenue reporting read.
 * - /users/track (https://www.braze.com/docs/api/endpoints/user_data/post_user_track/): an invalid object is a
 *   non-fatal error (`errors[]` naming `input_array` and `index`) and the rest is processed; "each event ingested
 *   into Braze has its own event ID, so 'duplicate' events are treated as separate, unique events" — Braze does not
 *   de-duplicate. 75 objects a request (TRACK_OBJECTS_PER_REQUEST: Tideline sends one array per request). No
 *   maximum age of an event's time is documented.
 */
export const BRAZE_EVENT_OBJECTS = ['events', 'purchases'] as const;
export type BrazeEventObject = (typeof BRAZE_EVENT_OBJECTS)[number];
export const isBrazeEventObject = (object: string): object is BrazeEventObject => (BRAZE_EVENT_OBJECTS as readonly string[]).includes(object);

/** Keys of an event or purchase object Braze reads itself; every mapped field besides these is a property. */
export const USER_IDENTIFIERS = ['external_id', 'braze_id', 'email', 'phone'] as const;
export const PURCHASE_FIELDS = ['currency', 'price', 'quantity'] as const;
export const MAX_PURCHASE_QUANTITY = 100;
/** Property names and string values: at most 255 characters. */
export const MAX_PROPERTY_CHARS = 255;
