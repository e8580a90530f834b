/**
 * What each destination gives the shared contract suite (test/destination-contract.test.ts) in
 * destinations/<type>/contract.ts as `export const kit: ContractKit`. The suite syncs a fixed mapping — key
 * `external_id`, fields `email`, `first_name`, `orders` (see CONTRACT_MAPPING) — into a fresh environment per case,
 * and checks what the destination then holds.
 */
export const CONTRACT_CASES = ['auth', 'batch-limits', 'rate-limit', 'partial-failure', 'idempotent-rerun', 'audience', 'mirror-delete', 'thousand-records'] as const;
export type ContractCase = (typeof CONTRACT_CASES)[number];

export const CONTRACT_MAPPING = {
  keyField: 'external_id',
  fields: ['email', 'first_name', 'orders'],
} as const;

export interface ContractOptions {
  /** A folder for the environment's files. */
  readonly dir: string;
  /** The emulator refuses requests with more records than this. */
  readonly maxBatchRecords?: number;
  /** The emulator's request ceiling (answered with the API's 429 beyond it). */
  readonly requestsPerSecond?: number;
  /** Keys the destination refuses one by one (a partial failure, in the API's own format). */
  readonly rejectKeys?: readonly string[];
}

export interface ContractEnvironment {
  /** The `destinations:` entry (without `name`) pointing at the environment; with wrong credentials if asked. */
  destination(options?: { readonly badCredentials?: boolean; readonly batchSize?: number }): Record<string, unknown>;
  /** The object name to sync to, for a mode. */
  object(mode: string): string;
  /** What the destination holds in `object`: key → fields (as the contract mapping names them). */
  records(object: string): Promise<Map<string, Record<string, unknown>>>;
  /** Most records seen in one request, when the environment can tell. */
  maxBatch?(): number;
  /** Rate-limit answers given so far, when the environment has a rate limit. */
  rateLimited?(): number;
  close(): Promise<void>;
}

export interface ContractKit {
  /** Cases that cannot apply to this destination, each with the reason (printed as the skip reason). */
  readonly notApplicable: Partial<Record<ContractCase, string>>;
  start(options: ContractOptions): Promise<ContractEnvironment>;
}
