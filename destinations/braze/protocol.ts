/**
 * What Tideline relies on in Braze's REST API (unversioned), with where each fact comes from. The adapter and the
 * emulator import these; a fact that changes changes here. Checked 2026-12-06.
 */

/** The object of upsert and mirror syncs: Braze users by external_id. Audience syncs name an audience instead. */
export const BRAZE_USERS_OBJECT = 'users';

/**
 * `POST /users/track`: "up to 75 events, 75 purchases, and 75 attributes per API call" — other pages of Braze's docs
 * say 75 objects combined; Tideline sends attributes only, so 75 is safe either way.
 * https://www.braze.com/docs/api/endpoints/user_data/post_user_track/ (Rate limit).
 */
export const TRACK_OBJECTS_PER_REQUEST = 75;

/** `POST /users/delete`: "up to 50 external_ids … per request". https://www.braze.com/docs/api/endpoints/user_data/post_user_delete/ */
export const DELETE_IDS_PER_REQUEST = 50;

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
