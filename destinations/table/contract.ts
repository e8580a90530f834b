import { join } from 'node:path';
import { joinSql, sql } from '../../src/dialects/sql.js';
import { openTarget } from '../../src/warehouses/registry.js';
import { CONTRACT_MAPPING, type ContractKit } from '../emulator-kit/contract.js';
import { TableEmulator } from './emulator.js';

export const kit: ContractKit = {
  events: {
    object: 'events',
    keyField: 'event_id',
    fields: { customer_id: 'customer_id', value: 'value', currency: 'currency' },
    expected: (e) => ({ _event: e.event_name, _event_time: e.event_time, customer_id: e.customer_id, value: e.value, currency: e.currency }),
  },
  notApplicable: {
    auth: 'the table destination has no credentials of its own: it writes with a warehouse target\'s',
    'rate-limit': 'a warehouse has no request rate limit',
  },
  async start(options) {
    const path = join(options.dir, 'tables.duckdb');
    const emulator = new TableEmulator(path);
    if (options.rejectKeys?.length) {
      // A constraint the warehouse enforces: it refuses any batch holding one of these keys, without naming it.
      const connection = await openTarget({ type: 'duckdb', path }, { root: options.dir });
      const d = connection.dialect;
      const keys = joinSql(options.rejectKeys.map((k) => d.string(k)));
      await connection.execute(sql`CREATE SCHEMA contract`);
      await connection.execute(
        sql`CREATE TABLE contract.contacts (${d.id(CONTRACT_MAPPING.keyField)} VARCHAR CHECK (${d.id(CONTRACT_MAPPING.keyField)} NOT IN (${keys})), email VARCHAR, first_name VARCHAR, orders BIGINT, _synced_at TIMESTAMP)`,
      );
      await connection.execute(
        sql`CREATE TABLE contract.events (event_id VARCHAR CHECK (event_id NOT IN (${keys})), _event VARCHAR, _event_time TIMESTAMP, customer_id BIGINT, value DOUBLE, currency VARCHAR, _synced_at TIMESTAMP)`,
      );
      await connection.close();
    }
    return {
      destination: (o = {}) => ({ type: 'table', database: path, schema: 'contract', ...(o.batchSize ? { batch_size: o.batchSize } : {}) }),
      object: (mode) => (mode === 'audience' ? 'vip_list' : 'contacts'),
      records: async (object) => new Map(Object.entries((await emulator.state()).objects[object] ?? {}).map(([k, v]) => [k, { ...v }])),
      // One row per event id: a table keeps one copy. Times come back as Dates: as ISO text, as they were sent.
      events: async (object) =>
        Object.entries((await emulator.state()).objects[object] ?? {}).map(([id, fields]) => ({
          id,
          fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])),
        })),
      close: () => emulator.close(),
    };
  },
};
