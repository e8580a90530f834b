import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sql } from '../../src/dialects/sql.js';
import { openTarget } from '../../src/warehouses/registry.js';
import type { Emulator, EmulatorState } from '../destination.js';

/**
 * The table destination's stand-in: a local DuckDB database file. It is opened only while its state is read, so
 * that a sync in another process can write to it in between (DuckDB lets one process at a time open a file).
 */
export class TableEmulator implements Emulator {
  constructor(readonly endpoint: string) {}

  /** The database file is the state, and stays in the sandbox folder. */
  async save(): Promise<unknown> {
    return {};
  }

  async state(): Promise<EmulatorState> {
    if (!existsSync(this.endpoint)) return { objects: {}, requests: {} };
    await mkdir(dirname(this.endpoint), { recursive: true });
    const connection = await openTarget({ type: 'duckdb', path: this.endpoint }, { root: dirname(this.endpoint) });
    try {
      const d = connection.dialect;
      const tables = await connection.query(
        sql`SELECT table_schema, table_name FROM information_schema.tables WHERE table_name NOT LIKE ${d.string('%\\_\\_tl\\_stage')} ESCAPE ${d.string('\\')} AND table_schema NOT IN ('information_schema', 'pg_catalog')`,
      );
      const objects: Record<string, Record<string, Record<string, unknown>>> = {};
      for (const t of tables) {
        const ref = { schema: String(t['table_schema']), name: String(t['table_name']) };
        const rows = await connection.query(sql`SELECT * FROM ${d.table(ref)}`);
        const records: Record<string, Record<string, unknown>> = {};
        for (const row of rows) {
          const [keyColumn] = Object.keys(row);
          const { [keyColumn!]: key, _synced_at: _ignored, ...fields } = row;
          records[String(key)] = fields;
        }
        objects[ref.name] = records;
      }
      return { objects, requests: {} };
    } finally {
      await connection.close();
    }
  }

  async close(): Promise<void> {}
}
