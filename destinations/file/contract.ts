import { join } from 'node:path';
import type { ContractKit } from '../emulator-kit/contract.js';
import { FileEmulator } from './emulator.js';

export const kit: ContractKit = {
  notApplicable: {
    auth: 'a local folder has no credentials',
    'rate-limit': 'writing a file has no rate limit',
    'partial-failure': 'a file takes every record',
    'events-partial-failure': 'a file takes every event',
  },
  events: {
    object: 'events',
    keyField: 'event_id',
    fields: { customer_id: 'customer_id', value: 'value', currency: 'currency' },
    expected: (e) => ({ _event: e.event_name, _event_time: e.event_time, customer_id: e.customer_id, value: e.value, currency: e.currency }),
  },
  async start(options) {
    const emulator = new FileEmulator(join(options.dir, 'files'));
    return {
      destination: (o = {}) => ({ type: 'file', path: emulator.endpoint, format: 'jsonl', ...(o.batchSize ? { batch_size: o.batchSize } : {}) }),
      object: (mode) => (mode === 'audience' ? 'vip_list' : 'contacts'),
      records: async (object) => new Map(Object.entries((await emulator.state()).objects[object] ?? {}).map(([k, v]) => [k, { ...v }])),
      events: (object) => emulator.events(object),
      close: () => emulator.close(),
    };
  },
};
