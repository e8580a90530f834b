import { createLogger } from '../../src/log/logger.js';
import type { Batch, DestinationContext, OutboundRecord } from '../destination.js';

/**
 * The context a destination's own tests open a session with (outside the engine): the object, mode and key a test
 * names, and the rest as a plain run would give it — run `r1`, nulls skipped, nothing planned, no fields, a silent
 * logger and no warehouse.
 */
export function sessionContext(context: Pick<DestinationContext, 'object' | 'mode' | 'keyField'> & Partial<DestinationContext>): DestinationContext {
  return {
    sync: 's',
    runId: 'r1',
    nullPolicy: 'skip',
    planned: { added: 0, changed: 0, removed: 0 },
    fields: [],
    root: '/tmp',
    logger: createLogger({ level: 'silent' }),
    warehouse: () => Promise.reject(new Error('no warehouse')),
    ...context,
  };
}

/**
 * A `track` batch for a destination's own tests: one event per id, all named `name`, a day apart from
 * 2026-12-01T09:30Z, the record's fields from `fields(id)`.
 */
export function trackBatch(object: string, keyField: string, ids: readonly string[], fields: (id: string) => OutboundRecord['fields'], name = 'Cart abandoned'): Batch {
  return {
    object,
    operation: 'track',
    keyField,
    records: ids.map((id, i) => ({ key: id, fields: fields(id), destinationId: null, idempotencyKey: `ik-${id}`, event: { name, time: new Date(Date.UTC(2026, 11, 1 + i, 9, 30)).toISOString() } })),
    signal: AbortSignal.timeout(5000),
    idempotencyKey: 'k',
  };
}
