import { describe, expect, it } from 'vitest';
import type { TableRef } from '../dialects/dialect.js';
import { joinSql, sql, type Sql } from '../dialects/sql.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { CONTACT_KEY_COLUMN } from './messages.js';
import { IN_DOUBT_CODE, StateStore, type FoldRange, type JournalEntry } from './store.js';

/**
 * The journal folded in parts while a run sends (StateStore.applyJournalStatements, `through`), then at the run's end
 * or by the recovery of a run that died, against a reference written here in TypeScript from the scenario's outcomes
 * (not from the statements): the snapshot, the rejected table, the run's tally, its audit row and its messages. The
 * same scenarios folded whole are checked against the same reference, so both ways agree with it.
 *
 * A scenario: a change set of 240 records (added, changed, removed), a snapshot and rejected table from earlier runs,
 * and outcomes settled out of order within rounds of 20, as concurrent batches settle: accepted, refused for good,
 * refused as retryable (some after a lost answer: journaled in doubt as they settle), with dispatch marks ahead.
 * A run that died settled only the first 180 and dispatched up to 200.
 */
const TOTAL = 240;
const SYNC = 'crm';
const RUN = 'run-1';

type Outcome = 'accepted' | 'refused' | 'retryable' | 'lost';
interface Scenario {
  readonly ops: readonly ('added' | 'changed' | 'removed')[];
  /** Keys by seq. */
  readonly keys: readonly string[];
  /** Outcome by seq (1-based; undefined: not settled). */
  readonly outcomes: readonly (Outcome | undefined)[];
  /** Seqs in the order they settle. */
  readonly order: readonly number[];
  readonly rejectedBefore: ReadonlySet<number>;
  /** The highest seq dispatched (the latest mark). */
  readonly dispatched: number;
  readonly dead: boolean;
}

function scenario(seed: number, dead: boolean): Scenario {
  let x = seed * 2654435761;
  const next = () => (x = (x * 1103515245 + 12345) >>> 0) / 4294967296;
  // The change set's order: removed, changed, added, each by key (keys drawn at random), as the planner numbers it.
  const rank = { removed: 0, changed: 1, added: 2 } as const;
  const drawn = Array.from({ length: TOTAL }, (_, i) => {
    const r = next();
    const op = r < 0.6 ? ('added' as const) : r < 0.85 ? ('changed' as const) : ('removed' as const);
    // Upper and lower case: a change set whose key column is collated (below) orders them otherwise than the snapshot.
    return { op, key: `${next() < 0.5 ? 'K' : 'k'}${String(Math.floor(next() * 1e6)).padStart(6, '0')}-${i}` };
  }).sort((a, b) => rank[a.op] - rank[b.op] || (a.key < b.key ? -1 : 1));
  const ops = ['added' as const, ...drawn.map((r) => r.op)];
  const keys = ['', ...drawn.map((r) => r.key)];
  const settledUpTo = dead ? 180 : TOTAL;
  const outcomes = Array.from({ length: TOTAL + 1 }, (_, seq) => {
    if (seq === 0 || seq > settledUpTo) return undefined;
    const r = next();
    return r < 0.72 ? ('accepted' as const) : r < 0.8 ? ('refused' as const) : r < 0.9 ? ('retryable' as const) : ('lost' as const);
  });
  const order: number[] = [];
  for (let start = 1; start <= settledUpTo; start += 20) {
    const round = Array.from({ length: Math.min(20, settledUpTo - start + 1) }, (_, i) => start + i);
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    order.push(...round);
  }
  const rejectedBefore = new Set(Array.from({ length: TOTAL }, (_, i) => i + 1).filter(() => next() < 0.1));
  return { ops, keys, outcomes, order, rejectedBefore, dispatched: dead ? 200 : TOTAL, dead };
}

/** Keys in byte order (the warehouses' own orders differ with upper and lower case). */
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** The id the destination answers with for some accepted records (the others keep the one the snapshot had). */
const newId = (seq: number) => (seq % 3 === 0 ? `new-d${seq}` : undefined);

/** What the state must hold after the fold(s), from the scenario alone; `foldedThrough`: the last part's end (0: none). */
function reference(s: Scenario, foldedThrough: number) {
  const key = (seq: number) => s.keys[seq]!;
  const snapshot = new Map<string, { hash: string | null; status: string; destinationId: string | null }>();
  const rejected = new Map<string, { retryable: boolean; attempts: number }>();
  for (let seq = 1; seq <= TOTAL; seq++) {
    if (s.ops[seq] !== 'added') snapshot.set(key(seq), { hash: `old${seq}`, status: 'synced', destinationId: `d${seq}` });
    if (s.rejectedBefore.has(seq)) rejected.set(key(seq), { retryable: true, attempts: 1 });
  }
  const tally = { sent: 0, accepted: 0, rejected: 0 };
  const audit = { records: 0, removed: 0 };
  const messages: string[] = [];
  const inDoubt = (seq: number) => snapshot.set(key(seq), { hash: null, status: 'in_doubt', destinationId: snapshot.get(key(seq))?.destinationId ?? null });
  for (let seq = 1; seq <= TOTAL; seq++) {
    const outcome = s.outcomes[seq];
    const k = key(seq);
    if (outcome !== undefined) tally.sent++;
    if (outcome === 'accepted') {
      tally.accepted++;
      audit.records++;
      rejected.delete(k);
      if (s.ops[seq] === 'removed') {
        audit.removed++;
        snapshot.delete(k);
      } else snapshot.set(k, { hash: `new${seq}`, status: 'synced', destinationId: newId(seq) ?? snapshot.get(k)?.destinationId ?? null });
      if (s.ops[seq] === 'added') messages.push(k);
    } else if (outcome !== undefined) {
      tally.rejected++;
      rejected.set(k, { retryable: outcome !== 'refused', attempts: (rejected.get(k)?.attempts ?? 0) + 1 });
      const held = snapshot.get(k);
      if (held) snapshot.set(k, { ...held, status: 'rejected' });
      if (outcome === 'lost') inDoubt(seq);
    }
    // A dead run's dispatched records without an outcome, or refused as retryable, are in doubt: those after the part
    // it folded last (a part already knew which of its records were in doubt).
    if (s.dead && seq <= s.dispatched && seq > foldedThrough && (outcome === undefined || outcome === 'retryable')) inDoubt(seq);
  }
  return { snapshot, rejected, tally, audit, messages: messages.sort(byKey) };
}

function entries(s: Scenario, seq: number): JournalEntry[] {
  const outcome = s.outcomes[seq]!;
  const row = { seq, destinationId: null, retained: null };
  if (outcome === 'accepted') return [{ ...row, accepted: true, destinationId: newId(seq) ?? null, code: null, message: null, retryable: null }];
  const refusal: JournalEntry = { ...row, accepted: false, code: 'bad', message: 'no', retryable: outcome !== 'refused' };
  return outcome === 'lost' ? [refusal, { ...row, accepted: null, code: IN_DOUBT_CODE, message: null, retryable: null }] : [refusal];
}

describe.each(engines())('the journal folded in parts against a reference ($name)', (engine) => {
  for (const dead of [false, true]) {
    for (const parts of [0, 1, 3]) {
      it(`${dead ? 'a run that died' : 'a run that ended'}, ${parts ? `${parts} part(s) folded while sending` : 'folded whole'}`, async () => {
        const connection = await engine.open();
        const d = connection.dialect;
        const schema = uniqueSchema('fold');
        const store = new StateStore(connection, schema);
        const s = scenario(parts * 7 + (dead ? 3 : 1), dead);
        const key = (seq: number) => s.keys[seq]!;
        const audit = { destination: 'hook', type: 'webhook', object: 'contacts', mode: 'upsert', fields: ['id', 'email'] };
        const messages = { model: 'customers', audience: undefined, channel: 'email', type: 'newsletter' };
        try {
          await store.setup();
          await store.setupSync(SYNC);
          const id = (name: string) => d.id(name);
          // The change set's key keeps a collation of the model's key column (case-insensitive on DuckDB, byte order on
          // PostgreSQL), as a plan's does: a part's range of keys must still be taken in the snapshot's order.
          const collated = d.name === 'duckdb' ? sql`COLLATE NOCASE` : sql`COLLATE "C"`;
          const text = d.type('string');
          await connection.execute(
            sql`CREATE TABLE ${d.table(store.changes(SYNC))} (${id('seq')} ${d.type('integer')}, ${id('op')} ${text}, ${id('record_key')} ${text} ${collated}, ${id('record_hash')} ${text}, ${id(CONTACT_KEY_COLUMN)} ${text})`,
          );
          const column = (name: string) => ({ name, type: 'string' as const });
          const seqs = Array.from({ length: TOTAL }, (_, i) => i + 1);
          await connection.insertRows(store.changes(SYNC), [{ name: 'seq', type: 'integer' }, column('op'), column('record_key'), column('record_hash'), column(CONTACT_KEY_COLUMN)], [
            seqs.map((seq) => [seq, s.ops[seq]!, key(seq), s.ops[seq] === 'removed' ? null : `new${seq}`, `c${seq}`]),
          ]);
          const before = new Date('2026-01-01T00:00:00Z');
          // Earlier runs' state, written by plain INSERTs (not by a fold).
          const insert = async (table: TableRef, columns: readonly string[], rows: readonly Sql[][]) => {
            if (rows.length) await connection.execute(sql`INSERT INTO ${d.table(table)} (${joinSql(columns.map(id))}) VALUES ${joinSql(rows.map((r) => sql`(${joinSql(r)})`))}`);
          };
          await insert(
            store.snapshot(SYNC),
            ['record_key', 'record_hash', 'destination_id', 'last_status', 'last_run_id', 'synced_at'],
            seqs.filter((seq) => s.ops[seq] !== 'added').map((seq) => [d.string(key(seq)), d.string(`old${seq}`), d.string(`d${seq}`), d.string('synced'), d.string('run-0'), d.timestampLiteral(before)]),
          );
          await insert(
            store.table('rejected'),
            ['sync_name', 'record_key', 'record_hash', 'retryable', 'attempts'],
            [...s.rejectedBefore].map((seq) => [d.string(SYNC), d.string(key(seq)), d.string('x'), sql`TRUE`, d.literal(1)]),
          );
          const run = { runId: RUN, sync: SYNC, mode: 'upsert', startedAt: before, finishedAt: null, status: 'running' as const, added: 0, changed: 0, removed: 0, heldBack: 0, tooOld: 0, invalid: 0, sent: 0, accepted: 0, rejected: 0, requests: 0, error: null };
          await store.insertRun(run);

          // The run: marks ahead of what it sends, outcomes as they settle, and parts folded once enough settled.
          const partsAt = new Set(Array.from({ length: parts }, (_, i) => Math.floor(((i + 1) * s.order.length) / (parts + 1))));
          const settled = new Set<number>();
          let through = 0;
          let folded = 0;
          let marked = 0;
          for (let i = 0; i < s.order.length; i++) {
            const seq = s.order[i]!;
            if (seq > marked) {
              marked = Math.min(s.dispatched, seq + 40);
              await store.markDispatched(SYNC, [{ seq: marked, retained: null }]);
            }
            await store.appendJournal(SYNC, entries(s, seq));
            settled.add(seq);
            while (settled.has(through + 1)) through++;
            if (partsAt.has(i + 1) && through > folded) {
              // Three parts read only their range of keys, as a run's do (foldKeys); one part reads the whole snapshot.
              const plain: FoldRange = { after: folded, upTo: through };
              const range = parts === 3 ? await store.foldKeys(SYNC, plain) : plain;
              if (parts === 3) expect(range.keys).toBeDefined();
              await store.applyJournal(SYNC, RUN, { through: range, audit, messages });
              folded = through;
            }
          }
          if (s.dispatched > marked) await store.markDispatched(SYNC, [{ seq: s.dispatched, retained: null }]);
          if (parts) expect(folded).toBeGreaterThan(0);
          // Its end, or the recovery of the run that died.
          await store.applyJournal(SYNC, RUN, { deadRun: dead, audit, messages });

          const expected = reference(s, folded);
          const snapshot = await connection.query(sql`SELECT ${id('record_key')}, ${id('record_hash')}, ${id('last_status')}, ${id('destination_id')} FROM ${d.table(store.snapshot(SYNC))} ORDER BY ${id('record_key')}`);
          const wantSnapshot = [...expected.snapshot.entries()].sort(([a], [b]) => byKey(a, b)).map(([k, v]) => ({ k, ...v }));
          expect(snapshot.map((r) => ({ k: String(r['record_key']), hash: r['record_hash'], status: r['last_status'], destinationId: r['destination_id'] })).sort((a, b) => byKey(a.k, b.k))).toEqual(wantSnapshot);
          const rejected = await connection.query(sql`SELECT ${id('record_key')}, ${id('retryable')}, ${id('attempts')} FROM ${d.table(store.table('rejected'))} ORDER BY ${id('record_key')}`);
          expect(rejected.map((r) => [String(r['record_key']), r['retryable'], Number(r['attempts'])]).sort((a, b) => byKey(a[0] as string, b[0] as string))).toEqual(
            [...expected.rejected.entries()].sort(([a], [b]) => byKey(a, b)).map(([k, v]) => [k, v.retryable, v.attempts]),
          );
          const runs = await connection.query(sql`SELECT ${id('sent')}, ${id('accepted')}, ${id('rejected')} FROM ${d.table(store.table('runs'))}`);
          expect(runs.map((r) => ({ sent: Number(r['sent']), accepted: Number(r['accepted']), rejected: Number(r['rejected']) }))).toEqual([expected.tally]);
          const trail = await connection.query(sql`SELECT ${id('run_id')}, ${id('records')}, ${id('removed')} FROM ${d.table(store.table('audit'))}`);
          expect(trail.map((r) => ({ run: r['run_id'], records: Number(r['records']), removed: Number(r['removed']) }))).toEqual([{ run: RUN, ...expected.audit }]);
          const sent = await connection.query(sql`SELECT ${id('record_key')} FROM ${d.table(store.table('messages'))} ORDER BY ${id('record_key')}`);
          expect(sent.map((r) => String(r['record_key'])).sort(byKey)).toEqual(expected.messages);
          expect((await store.journalCounts(SYNC)).rows).toBe(0);
        } finally {
          await connection.execute(sql`DROP SCHEMA ${d.id(schema)} CASCADE`);
          await connection.close();
        }
      });
    }
  }
});
