/**
 * The few query results the analyzer suite makes up, so that the commands take the paths a warehouse holding data
 * would send them down (and send the statements of those paths to the analyzer): every other query returns no rows.
 * They steer control flow only; no result here is checked.
 */
import type { Answer } from '../support/analysing-connection.js';
import { stringLiterals } from './exceptions.js';
import type { Value } from '../../src/warehouses/connection.js';

const named = (columns: readonly { name: string }[], values: Readonly<Record<string, Value>>): Value[] => columns.map((c) => values[c.name] ?? null);

/**
 * The LTV fit's inputs (models/ltv/fit.ts): grouped (frequency, recency, age) triples and (frequency, mean value)
 * pairs of a small cohort that BG/NBD and Gamma-Gamma can fit, so that the fit writes its parameters and scores.
 */
const ltvFit: Answer = ({ text, columns }) => {
  if (!/__tl_summary[`"]/i.test(text)) return undefined;
  const names = columns.map((c) => c.name).join(',');
  if (names === 'frequency,recency_days,age_days,n')
    return [[0, 0, 300, 40], [1, 60, 300, 20], [2, 150, 300, 12], [3, 200, 300, 8], [4, 280, 300, 5], [6, 290, 300, 3], [1, 30, 200, 10], [2, 180, 200, 6]];
  if (names === 'frequency,mean_value,n') return [[1, 20, 20], [1, 35, 10], [2, 25, 12], [2, 40, 6], [3, 30, 8], [4, 22, 5], [6, 28, 3]];
  return undefined;
};

/**
 * The sync lock (src/state/lock.ts) reads its table back after inserting its row: the row of the last INSERT for the
 * key, unless a DELETE for it came after — one table's worth of state, so that a sync takes its lock and runs.
 */
const locks: Answer = ({ text, columns, history }) => {
  if (!/locks[`"]?\s+WHERE/i.test(text) || !/^\s*SELECT \*/i.test(text)) return undefined;
  const key = stringLiterals(text)[0];
  const last = history.findLast((a) => /locks/i.test(a.text) && /^\s*(INSERT|DELETE)/i.test(a.text) && stringLiterals(a.text)[0] === key);
  if (!last || /^\s*DELETE/i.test(last.text)) return [];
  const [lockKey, sync, runId, host] = stringLiterals(last.text);
  const now = Date.now();
  return [named(columns, { lock_key: lockKey!, sync_name: sync!, run_id: runId!, host: host!, pid: process.pid, acquired_at: new Date(now), expires_at: new Date(now + 3_600_000) })];
};

/**
 * The state's meta values (src/state/store.ts getMeta): the value the last upsert of that name wrote — the privacy
 * salt `tideline forget` writes, then reads back.
 */
const meta: Answer = ({ text, columns, history }) => {
  if (!/meta[`"]?\s+WHERE/i.test(text) || columns.length !== 1 || columns[0]!.name !== 'value') return undefined;
  const name = stringLiterals(text)[0];
  const last = history.findLast((a) => /meta/i.test(a.text) && /^\s*MERGE/i.test(a.text) && stringLiterals(a.text)[0] === name);
  return last ? [[stringLiterals(last.text)[1] ?? null]] : [];
};

/** A source's latest load (src/pipeline/checks.ts): now, so that freshness passes and the commands go on. */
const freshness: Answer = ({ columns }) => (columns.length === 1 && columns[0]!.name === 'latest' ? [[new Date()]] : undefined);

/** A made-up value of a column's type. */
function sample(type: string | undefined, index: number): Value {
  switch (type) {
    case 'integer':
      return index + 1;
    case 'float':
    case 'decimal':
      return index + 1.5;
    case 'boolean':
      return true;
    case 'date':
      return '2026-06-01';
    case 'timestamp':
      return new Date('2026-06-01T12:00:00Z');
    default:
      return `x${index + 1}`;
  }
}

/**
 * `tideline identity explain`: each lookup finds one row, so that explain goes on to the golden record, the records,
 * the links and the pairs, as it does for a customer who exists.
 */
const explain: Answer = ({ during, columns }) => (during.startsWith('identity explain') ? [columns.map((c, i) => sample(c.type, i))] : undefined);

export const ANSWERS: readonly Answer[] = [ltvFit, locks, meta, freshness, explain];
