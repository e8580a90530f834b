import { Writable } from 'node:stream';
import { sql } from '../../src/dialects/sql.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import type { SyncHarness } from './sync-harness.js';

/** A debug-level JSON logger whose lines are kept, to check what a sync run logs. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', format: 'json', destination }), lines };
}

/** The snapshot of a sync: record key → what it retained (parsed), as the state holds it. */
export async function snapshotRetained(harness: SyncHarness, sync: string): Promise<Map<string, Record<string, unknown>>> {
  const store = harness.engine().store;
  const d = store.dialect;
  const rows = await harness.connection.query(sql`SELECT ${d.id('record_key')}, ${d.id('retained')} FROM ${d.table(store.snapshot(sync))}`);
  return new Map(rows.map((r) => [String(r['record_key']), JSON.parse(String(r['retained'] ?? '{}')) as Record<string, unknown>]));
}
