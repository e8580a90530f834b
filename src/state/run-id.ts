import { randomBytes } from 'node:crypto';

/**
 * A new run's id: sortable to the millisecond, so files, journal entries and warehouse query history of successive
 * runs order by it.
 */
export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}
