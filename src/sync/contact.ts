import type { SyncDef } from './load.js';
import type { ColumnTypes } from './mapping.js';

/** The column a sync's rows are matched to customers by when none is written or implied: the usual customer key. */
export const DEFAULT_CONTACT = 'customer_id';

/**
 * The model column holding the customer key of a sync's rows, once the model's columns are known: the sync's own
 * `contact:` or its audiences model's key, else `customer_id` when the model has it, else none (the sync's rows
 * cannot be matched to customers, so suppressions and marketing pressure cannot apply to it).
 */
export function contactColumn(sync: Pick<SyncDef, 'contact'>, types: ColumnTypes): string | undefined {
  if (sync.contact !== undefined) return sync.contact;
  return types.has(DEFAULT_CONTACT) ? DEFAULT_CONTACT : undefined;
}
