import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { LogicalType } from '../src/dialects/dialect.js';
import { loadProject } from '../src/project/loader.js';
import { StateStore } from '../src/state/store.js';
import { countsStatement, diffSelect, materialiseStatement, pageStatement, previewStatement } from '../src/sync/planner.js';
import type { SyncDef } from '../src/sync/load.js';
import { eventPressure } from '../models/audiences/pressure.js';
import { pressurePolicy } from '../src/project/pressure.js';
import { NO_GATES } from '../src/expressions/policies.js';
import type { Connection } from '../src/warehouses/connection.js';
import { expectGolden, GOLDEN_DIALECTS } from './support/golden.js';
import { joinSql, sql, type Sql } from '../src/dialects/sql.js';
import { tokenHashSql } from '../src/privacy/state.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/sync-mini');

/** The model's columns, as introspection would give them. */
const TYPES = new Map<string, LogicalType>([
  ['email', 'string'],
  ['first_name', 'string'],
  ['created_at', 'date'],
  ['last_order_at', 'timestamp'],
  ['ltv', 'decimal'],
  ['p_churn', 'float'],
  ['is_vip', 'boolean'],
]);

/**
 * Golden SQL of the sync engine for the dialects no test executes (see GOLDEN_DIALECTS): the state schema, the diff
 * (hash of mapped fields, classification, materialisation, pages, preview), and the journal's atomic fold into the
 * snapshot. DuckDB and PostgreSQL run the same statements for real in the sync and contract suites.
 */
describe('golden SQL of the sync engine', () => {
  for (const dialect of GOLDEN_DIALECTS) {
    it(dialect, async () => {
      const project = await loadProject({ projectDir: FIXTURE, target: dialect, env: {} });
      const d = project.target.dialect;
      const sync = project.syncs.get('crm_contacts')!;
      const store = new StateStore({ dialect: d } as Connection, project.target.stateSchema);
      const types = new Map([...TYPES].map(([k, v]) => [d.identifierKey(k), v]));
      const model = { schema: project.target.schema, name: sync.model };
      const { select, mapping } = diffSelect({ dialect: d, sync, model, types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected') });
      const first = diffSelect({ dialect: d, sync, model, types, snapshot: undefined, rejected: undefined });
      const at = new Date('2026-01-02T03:04:05.678Z');
      // The same sync as one whose records are messages (an insert on the e-mail channel, by contact), for pressure.
      const messaging: SyncDef = { ...sync, mode: 'insert', channel: 'email', contact: 'email', messageType: 'transactional' };
      const sent = diffSelect({ dialect: d, sync: messaging, model, types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected') });
      const messages = { model: sync.model, audience: undefined, channel: 'email', type: 'transactional' };
      // The same sync as an events sync: each row an event at last_order_at (a timestamp) or created_at (a date, read
      // as its midnight), read within a window of event times, too old before a destination's limit.
      const eventsOf = (time: string): SyncDef => ({ ...sync, mode: 'events', event: { time, name: { constant: 'Purchase' }, lookbackMs: 86_400_000, backfillMs: 7 * 86_400_000 } });
      const window = { from: new Date('2026-01-01T03:04:05.678Z'), to: at, oldest: new Date('2025-12-26T03:04:05.678Z') };
      const events = diffSelect({ dialect: d, sync: eventsOf('last_order_at'), model, types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected'), window });
      // An events sync starting messages (e-mail reminders by contact) under a cap of 2 e-mails a week.
      const policy = pressurePolicy({ caps: [{ channels: ['email'], max: 2, per: { amount: 7, unit: 'day' } }], weights: { reminder: 0.5 }, delivered: [] });
      const relations = { sent: d.table(store.table('messages')), runs: d.table(store.table('runs')), relation: (name: string) => d.table({ schema: 'raw', name }), columnsOf: () => undefined };
      const pressure = eventPressure(d, d.dateLiteral('2026-01-02'), policy, relations, 'email', 'reminder')!;
      const reminders: SyncDef = { ...messaging, messageType: 'reminder', mode: 'events', event: eventsOf('last_order_at').event };
      const capped = diffSelect({ dialect: d, sync: reminders, model, types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected'), window, gates: { contact: 'email', gates: NO_GATES, pressure } });
      const dated = diffSelect({ dialect: d, sync: eventsOf('created_at'), model, types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected'), window: { ...window, oldest: undefined } });
      // After `tideline forget`: the rows of the forgotten left out, by the kind of each hashed value (src/privacy/match.ts).
      const forgottenTable = d.table({ schema: project.target.stateSchema, name: 'privacy_forgotten' });
      const scope = { dialect: d, hash: (v: Sql) => tokenHashSql(d, 'salt', v), tokens: (kinds: readonly string[]) => sql`SELECT token_hash FROM ${forgottenTable} WHERE kind IN (${joinSql(kinds.map((k) => d.string(k)))})` };
      const forgotten = diffSelect({ dialect: d, sync, model, types, snapshot: store.snapshot(sync.name), rejected: store.table('rejected'), forgotten: { scope, contact: undefined, identifiers: ['email'] } });
      const audit = { destination: 'crm', type: 'hubspot', object: 'contacts', mode: 'upsert', fields: ['email', 'first_name'] };
      const sections: [string, readonly { text: string }[]][] = [
        ['state schema', store.setupStatements()],
        ['tables of the sync', store.syncSetupStatements(sync.name)],
        ['materialise the change set', [materialiseStatement(d, store.changes(sync.name), select)]],
        ['count it', [countsStatement(d, store.changes(sync.name))]],
        ['read a page', [pageStatement(d, store.changes(sync.name), 20_000, 10_000, mapping)]],
        ['record invalid keys, forget stale rejections', store.invalidKeyStatements(sync.name, 'run-1', at)],
        ['fold the journal into the snapshot (one atomic unit; records sent without an answer are kept in doubt)', store.applyJournalStatements(sync.name, 'run-1', at)],
        ["fold the journal of a run that died (what it dispatched without an outcome is in doubt)", store.applyJournalStatements(sync.name, 'run-0', at, { deadRun: true })],
        ['fold part of the journal while the run sends (records 20,001 to 40,000; its own atomic unit)', store.applyJournalStatements(sync.name, 'run-1', at, { through: { after: 20_000, upTo: 40_000 }, messages, audit })],
        ['a sync whose records are messages: the change set keeps each contact key', [materialiseStatement(d, store.changes(sync.name), sent.select)]],
        ['…and the fold records its accepted entries in sync_messages, first in the same atomic unit', store.applyJournalStatements(sync.name, 'run-1', at, { messages }).slice(0, 1)],
        ['an events sync: its snapshot keeps event times', store.syncSetupStatements(sync.name, true).slice(0, 1)],
        ['…its window of event times, on the model and the snapshot; events older than the destination accepts are too_old', [materialiseStatement(d, store.changes(sync.name), events.select)]],
        ['…a date column as its event time, no age limit', [materialiseStatement(d, store.changes(sync.name), dated.select)]],
        ['…starting messages under pressure caps: a contact\'s events of the run admitted in time order while they fit', [materialiseStatement(d, store.changes(sync.name), capped.select)]],
        ['…a page carries each event\'s name and time', [pageStatement(d, store.changes(sync.name), 0, 10_000, events.mapping, true)]],
        ['…its fold keeps event times and writes the high-water mark in the same atomic unit', store.applyJournalStatements(sync.name, 'run-1', at, { events: true, watermark: at }).slice(0, 3)],
        ['after tideline forget: the forgotten are left out (their key, their e-mail column), counted `forgotten`', [materialiseStatement(d, store.changes(sync.name), forgotten.select)]],
        ['the fold writes the audit trail (names and counts) in the same atomic unit, adding to the row a part wrote', store.applyJournalStatements(sync.name, 'run-1', at, { audit }).slice(0, 2)],
        ['plan before any state exists (read-only preview)', [previewStatement(d, first.select, 3)]],
        ['full resync', store.resetStatements(sync.name)],
      ];
      const text = sections.map(([title, statements]) => `-- ${title}\n${statements.map((s) => `${s.text};`).join('\n\n')}`).join('\n\n') + '\n';
      expectGolden(join(import.meta.dirname, 'golden', 'sync_engine', `${dialect}.sql`), text);
    });
  }
});
