import { createLogger } from '../../src/log/logger.js';
import type { DestinationContext } from '../destination.js';

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
