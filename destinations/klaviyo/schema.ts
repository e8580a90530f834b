import type { VendorSchema } from '../emulator-kit/contract.js';
import { sdkModels, type SdkModels } from '../emulator-kit/schemas/sdk-models.js';
import type { Exchange } from '../emulator-kit/server.js';
import { SCHEMA_PACKAGE, SCHEMA_SOURCE } from './protocol.js';

/**
 * Each operation Tideline calls, with the SDK models of its request body and of its answer (from klaviyo-api's
 * api/profilesApi.js, listsApi.js, eventsApi.js and dataPrivacyApi.js: the type each method serialises and deserialises). An operation without a
 * request model takes no body; one without a response model answers none (202/204). Every error answer is the SDK's
 * error document, GetAccounts4XXResponse.
 */
export const SCHEMA_OPERATIONS: readonly { readonly method: string; readonly path: RegExp; readonly request?: string; readonly response?: string }[] = [
  { method: 'POST', path: /^\/api\/profile-bulk-import-jobs$/, request: 'ProfileImportJobCreateQuery', response: 'PostProfileImportJobResponse' },
  { method: 'GET', path: /^\/api\/profile-bulk-import-jobs\/[^/]+$/, response: 'GetProfileImportJobResponseCompoundDocument' },
  { method: 'GET', path: /^\/api\/profile-bulk-import-jobs\/[^/]+\/import-errors$/, response: 'GetImportErrorResponseCollection' },
  { method: 'GET', path: /^\/api\/profiles$/, response: 'GetProfileResponsePluralConversationsCollectionCompoundDocument' },
  { method: 'GET', path: /^\/api\/lists\/[^/]+$/, response: 'GetListRetrieveResponseCompoundDocument' },
  { method: 'DELETE', path: /^\/api\/lists\/[^/]+\/relationships\/profiles$/, request: 'ListMembersDeleteQuery' },
  { method: 'POST', path: /^\/api\/profile-subscription-bulk-create-jobs$/, request: 'SubscriptionCreateJobCreateQuery' },
  // Bulk Create Events (api/eventsApi.js bulkCreateEvents): 202 without a body.
  { method: 'POST', path: /^\/api\/event-bulk-create-jobs$/, request: 'EventsBulkCreateJob' },
  // Request Profile Deletion (api/dataPrivacyApi.js requestProfileDeletion): 202 without a body.
  { method: 'POST', path: /^\/api\/data-privacy-deletion-jobs$/, request: 'DataPrivacyCreateDeletionJobQuery' },
];
export const ERROR_MODEL = 'GetAccounts4XXResponse';

let models: SdkModels | undefined;
let missing: string | undefined;
function load(): SdkModels | undefined {
  if (models || missing) return models;
  try {
    models = sdkModels(SCHEMA_PACKAGE, import.meta.url);
  } catch (error) {
    missing = `${SCHEMA_PACKAGE} cannot be read (${(error as Error).message.split('\n')[0]})`;
  }
  return models;
}

/** Klaviyo's published contract for the contract suite: every exchange against the SDK's models of its operation. */
export const klaviyoSchema: VendorSchema = {
  source: SCHEMA_SOURCE,
  unavailable: () => (load() ? undefined : missing),
  check: (exchange: Exchange) => {
    const sdk = load()!;
    const operation = SCHEMA_OPERATIONS.find((o) => o.method === exchange.method && o.path.test(exchange.path));
    if (!operation) return [`${exchange.method} ${exchange.path} is not an operation the Klaviyo schema check knows (add it to SCHEMA_OPERATIONS with its SDK models)`];
    const problems: string[] = [];
    const body = (side: 'request' | 'response', model: string | undefined, value: unknown) => {
      if (value === undefined || value === '') return;
      if (!model) problems.push(`${side}: ${exchange.method} ${exchange.path} has no ${side} body in the schema, got one`);
      else problems.push(...sdk.check(model, value, side).map((p) => `${model} ${p}`));
    };
    body('request', operation.request, exchange.request);
    body('response', exchange.status >= 400 ? ERROR_MODEL : operation.response, exchange.response);
    return problems;
  },
};
