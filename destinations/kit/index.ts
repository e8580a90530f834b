/**
 * The destination kit: everything an adapter needs besides its verbs and its protocol facts, from one import.
 * - `ApiClient` (client.ts): one HTTP client per vendor — auth (keys, renewing OAuth tokens), JSON, the vendor's 429
 *   wait, 401/403/408/5xx/timeouts as the typed errors, the vendor's meaning of other refusals;
 * - `Outcomes`, `listId` (records.ts): in-batch de-duplication, one outcome per record, `list:<id>` objects;
 * - `pollJob` (poll.ts): waiting for a vendor's asynchronous job (an import) within the batch's time budget;
 * - the contract types and typed errors (../destination.ts), token sources (../credentials.ts), HTTP helpers
 *   (../http.ts).
 * destinations/README.md ("Writing a destination") says how an adapter uses them.
 */
export * from '../destination.js';
export { bearer, credentialName, renewingToken, requestToken, sendWithToken, staticToken, type AccessTokenSource, type TokenGrant } from '../credentials.js';
export { describeRequest, raiseForCommonStatus, retryAfterMs, scrubEmails, send, type HttpRequest, type HttpResponse } from '../http.js';
export { ApiClient, parseJson, scrubbed, stopSync, type ApiClientOptions, type CallOptions } from './client.js';
export { listId, noOutcome, Outcomes, rejected, requireListId, type Indexed } from './records.js';
export { pollJob, type PolledJob } from './poll.js';
