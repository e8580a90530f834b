import { describe, expect, it } from 'vitest';
import { joinSql, sql } from '../dialects/sql.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { StateStore } from './store.js';
import { RUNS_COLUMNS } from './tables.js';

/**
 * A state schema created by an earlier version keeps working: `setup` adds the columns a shared table gained since
 * (sync_runs' too_old), the rows already there kept, and runs are recorded with them.
 */
describe.each(engines())('the state schema of an earlier version ($name)', (engine) => {
  it("gains sync_runs' too_old at setup, and records runs with it", async () => {
    const connection = await engine.open();
    const d = connection.dialect;
    const schema = uniqueSchema('state');
    const store = new StateStore(connection, schema);
    const runs = d.table(store.table('runs'));
    try {
      await connection.execute(d.createSchema(schema));
      const old = RUNS_COLUMNS.filter((c) => c.name !== 'too_old');
      await connection.execute(sql`CREATE TABLE ${runs} (${joinSql(old.map((c) => sql`${d.id(c.name)} ${d.type(c.type)}`))})`);
      await connection.execute(sql`INSERT INTO ${runs} (${d.id('run_id')}, ${d.id('sync_name')}, ${d.id('status')}, ${d.id('sent')}) VALUES ('r0', 'crm', 'success', 5)`);

      await store.setup();
      await store.setup();
      expect((await connection.columns(store.table('runs')))!.map((c) => c.name)).toEqual(RUNS_COLUMNS.map((c) => c.name));
      const run = { runId: 'r1', sync: 'crm', mode: 'events', startedAt: new Date(), finishedAt: null, status: 'running' as const, added: 3, changed: 0, removed: 0, heldBack: 0, tooOld: 4, invalid: 0, sent: 0, accepted: 0, rejected: 0, requests: 0, error: null };
      await store.insertRun(run);
      await store.updateRun({ ...run, status: 'success', finishedAt: new Date(), tooOld: 7, sent: 3, accepted: 3 });
      const rows = await connection.query(sql`SELECT ${d.id('run_id')}, ${d.id('sent')}, ${d.id('too_old')} FROM ${runs} ORDER BY ${d.id('run_id')}`);
      expect(rows.map((r) => [r['run_id'], Number(r['sent']), r['too_old'] === null ? null : Number(r['too_old'])])).toEqual([
        ['r0', 5, null],
        ['r1', 3, 7],
      ]);
    } finally {
      await connection.execute(sql`DROP SCHEMA ${d.id(schema)} CASCADE`);
      await connection.close();
    }
  });
});
