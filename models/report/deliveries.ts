import type { Dialect } from '../../src/dialects/dialect.js';
import { joinSql, sql } from '../../src/dialects/sql.js';
import { SHARED_TABLES, stateTable } from '../../src/state/tables.js';
import type { Connection } from '../../src/warehouses/connection.js';
import type { DeliveriesSpec } from './schema.js';

/**
 * What the syncs delivered, per sync, from the state's `sync_runs` (one row per run, with what it sent, what the
 * destination accepted and refused): read when `tideline report` prints, not when `tideline run` builds the report,
 * because syncs run after models — a table built by `run` would always miss the last sync. Only finished runs count;
 * a run still going (or killed, before the next one folds it in) is left out. Runs are counted whatever the report's
 * as-of date: they are what Tideline did, in real time, not events of the data.
 */
export interface DeliveryRow {
  readonly sync: string;
  readonly mode: string;
  readonly runs: number;
  readonly failedRuns: number;
  /** Records sent (accepted + refused). */
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Events skipped because the destination no longer accepts them (older than its limit); null for a sync of another mode. */
  readonly tooOld: number | null;
  readonly lastRunAt: string | null;
  readonly lastStatus: string | null;
}

/** The syncs a report's `deliveries` counts: those listed, else every sync of the project in one of its modes. */
export function deliverySyncs(spec: DeliveriesSpec, syncs: Iterable<{ readonly name: string; readonly mode: string }>): { name: string; mode: string }[] {
  const all = [...syncs];
  const listed = spec.syncs;
  return (listed ? all.filter((s) => listed.includes(s.name)) : all.filter((s) => (spec.modes as readonly string[]).includes(s.mode))).map((s) => ({ name: s.name, mode: s.mode }));
}

/**
 * One row per sync, in the order given: its finished runs summed up (zeros for a sync that never ran, or when the
 * state schema holds no runs yet).
 */
export async function readDeliveries(io: Pick<Connection, 'query' | 'columns'>, d: Dialect, stateSchema: string, syncs: readonly { name: string; mode: string }[]): Promise<DeliveryRow[]> {
  const runs = stateTable(stateSchema, SHARED_TABLES.runs);
  const columns = syncs.length > 0 ? await io.columns(runs) : undefined;
  const found = new Map<string, Readonly<Record<string, unknown>>>();
  if (columns) {
    const id = (name: string) => d.id(name);
    // A state schema no sync has run in since sync_runs gained too_old (StateStore.setup adds it) has no such column.
    const tooOld = columns.some((c) => d.identifierKey(c.name) === d.identifierKey('too_old')) ? sql`SUM(${id('too_old')})` : sql`CAST(NULL AS ${d.type('integer')})`;
    // The last run's status: the first of each sync's runs, newest first.
    const rows = await io.query(sql`SELECT ${id('sync_name')}, COUNT(*) AS runs, SUM(CASE WHEN ${id('status')} = 'failed' THEN 1 ELSE 0 END) AS failed_runs,
  SUM(${id('sent')}) AS sent, SUM(${id('accepted')}) AS accepted, SUM(${id('rejected')}) AS rejected, ${tooOld} AS too_old,
  MAX(${id('started_at')}) AS last_run_at, MAX(CASE WHEN n = 1 THEN ${id('status')} END) AS last_status
FROM (
  SELECT r.*, ROW_NUMBER() OVER (PARTITION BY ${id('sync_name')} ORDER BY ${id('started_at')} DESC, ${id('run_id')} DESC) AS n
  FROM ${d.table(runs)} AS r
  WHERE ${id('status')} <> 'running' AND ${id('sync_name')} IN (${joinSql(syncs.map((s) => d.string(s.name)))})
) AS x
GROUP BY ${id('sync_name')}`);
    for (const r of rows) found.set(String(r['sync_name']), r);
  }
  const count = (v: unknown) => Number(v ?? 0);
  return syncs.map((s) => {
    const r = found.get(s.name);
    const last = r?.['last_run_at'];
    return {
      sync: s.name,
      mode: s.mode,
      runs: count(r?.['runs']),
      failedRuns: count(r?.['failed_runs']),
      sent: count(r?.['sent']),
      accepted: count(r?.['accepted']),
      rejected: count(r?.['rejected']),
      tooOld: s.mode === 'events' ? count(r?.['too_old']) : null,
      lastRunAt: last === null || last === undefined ? null : last instanceof Date ? last.toISOString() : String(last),
      lastStatus: r?.['last_status'] === null || r?.['last_status'] === undefined ? null : String(r['last_status']),
    };
  });
}

/** The columns a delivery row is shown in, in the terminal and the HTML page alike. */
export const DELIVERY_HEADER = ['sync', 'mode', 'runs', 'sent', 'accepted', 'refused', 'too old', 'last run (UTC)', 'status'] as const;
/** The columns of DELIVERY_HEADER holding numbers. */
export const DELIVERY_NUMERIC = [2, 3, 4, 5, 6] as const;

/** A delivery row as text cells, in DELIVERY_HEADER's order. */
export function deliveryCells(r: DeliveryRow): string[] {
  const n = (v: number | null) => (v === null ? '—' : v.toLocaleString('en'));
  return [
    r.sync,
    r.mode,
    `${n(r.runs)}${r.failedRuns ? ` (${n(r.failedRuns)} failed)` : ''}`,
    n(r.sent),
    n(r.accepted),
    n(r.rejected),
    n(r.tooOld),
    r.lastRunAt ? r.lastRunAt.slice(0, 16).replace('T', ' ') : 'never',
    r.lastStatus ?? '',
  ];
}
