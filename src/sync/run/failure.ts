import { redactor } from '../../log/redact.js';
import { WarehouseError } from '../../warehouses/connection.js';

/** A failure of one sync with a message fit for the user. */
export class SyncFailure extends Error {
  override readonly name = 'SyncFailure';
}

/** An error as a sync result reports it: its message, with the warehouse's hint, scrubbed of secrets. */
export function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return redactor.scrub(error instanceof WarehouseError && error.hint ? `${text} (hint: ${error.hint})` : text);
}
