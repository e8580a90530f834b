import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { sql, type Sql } from '../../src/dialects/sql.js';
import type { HostIO, ModelSummary } from '../model-kind.js';
import type { DeliveryRow } from './deliveries.js';
import { CHANNELS, KPIS, kpiDef, type Unit } from './kpis.js';

/**
 * Reading a built report back: the typed rows of each table, for `tideline report` (terminal and HTML) and for the
 * summary `tideline run` prints. Only aggregates are read — no table of the report holds a customer key except the
 * self-kept snapshots, which are never read here — so nothing read can put personal data on screen or in a file.
 */

export interface ScorecardRow {
  readonly section: 'channel' | 'program' | 'uplift';
  readonly subject: string;
  readonly kpi: string;
  readonly value: number | null;
  readonly low: number | null;
  readonly high: number | null;
  readonly status: string | null;
  readonly flagged: boolean;
  readonly asOf: string | null;
}

export interface KpiRow {
  readonly channel: string;
  readonly campaign: string | null;
  readonly periodStart: string | null;
  readonly kpi: string;
  readonly label: string;
  readonly unit: Unit;
  readonly numerator: number | null;
  readonly denominator: number | null;
  readonly value: number | null;
  readonly good: number | null;
  readonly bad: number | null;
  readonly better: string;
  readonly status: string | null;
}

export interface ProgramRow {
  readonly program: string;
  readonly kpi: string;
  readonly measure: string;
  readonly within: string;
  readonly audiences: string;
  readonly syncs: string;
  readonly periodStart: string | null;
  readonly base: number;
  readonly converted: number;
  readonly value: number | null;
  readonly good: number | null;
  readonly bad: number | null;
  readonly status: string | null;
}

export interface UpliftRow {
  readonly audience: string;
  readonly treatedGroup: string;
  readonly window: string;
  readonly treated: number;
  readonly holdout: number;
  readonly pending: number;
  readonly treatedConverters: number;
  readonly holdoutConverters: number;
  readonly treatedConversion: number | null;
  readonly holdoutConversion: number | null;
  readonly conversionUplift: number | null;
  readonly conversionUpliftLow: number | null;
  readonly conversionUpliftHigh: number | null;
  readonly conversionRelative: number | null;
  readonly conversionRelativeLow: number | null;
  readonly conversionRelativeHigh: number | null;
  readonly treatedRevenuePerCustomer: number | null;
  readonly holdoutRevenuePerCustomer: number | null;
  readonly revenueUplift: number | null;
  readonly revenueUpliftLow: number | null;
  readonly revenueUpliftHigh: number | null;
  readonly revenueRelative: number | null;
  readonly revenueRelativeLow: number | null;
  readonly revenueRelativeHigh: number | null;
  readonly revenueDf: number | null;
  readonly tooSmall: boolean;
  readonly conversionSignificant: boolean;
  readonly revenueSignificant: boolean;
}

export interface CohortRow {
  readonly cohortMonth: string;
  readonly customers: number;
  readonly monthsAfter: number;
  readonly complete: boolean;
  readonly repeatCustomers: number | null;
  readonly repeatRate: number | null;
  readonly firstDayRevenuePerCustomer: number | null;
  readonly revenuePerCustomer: number | null;
  readonly revenueIndex: number | null;
}

export interface SegmentRow {
  readonly snapshotDate: string | null;
  readonly segment: string | null;
  readonly customers: number;
  readonly customerShare: number | null;
  readonly orders: number | null;
  readonly revenue: number | null;
  readonly revenueShare: number | null;
  readonly revenuePerCustomer: number | null;
}

export interface MigrationRow {
  readonly fromDate: string;
  readonly toDate: string;
  readonly fromSegment: string | null;
  readonly toSegment: string | null;
  readonly customers: number;
  readonly share: number | null;
}

export interface ReportData {
  readonly name: string;
  readonly asOf: string | null;
  readonly scorecard: readonly ScorecardRow[];
  readonly kpis: readonly KpiRow[];
  readonly programs: readonly ProgramRow[];
  readonly uplift: readonly UpliftRow[];
  readonly cohorts: readonly CohortRow[];
  readonly segments: readonly SegmentRow[];
  readonly migration: readonly MigrationRow[];
  /** The syncs' deliveries when the report counts them (`deliveries:`), read from the state schema named. */
  readonly deliveries?: { readonly stateSchema: string; readonly rows: readonly DeliveryRow[] };
}

export interface ReportTables {
  readonly scorecard: TableRef;
  readonly kpis: TableRef;
  readonly programs: TableRef;
  readonly uplift: TableRef;
  readonly cohorts: TableRef;
  readonly segments: TableRef;
  readonly migration: TableRef;
}

/** The tables of a report model named by its visible table. */
export function reportTables(table: TableRef): ReportTables {
  const companion = (suffix: string): TableRef => ({ ...table, name: `${table.name}_${suffix}` });
  return {
    scorecard: table,
    kpis: companion('kpis'),
    programs: companion('programs'),
    uplift: companion('uplift'),
    cohorts: companion('cohorts'),
    segments: companion('segments'),
    migration: companion('migration'),
  };
}

type Raw = Readonly<Record<string, unknown>>;
type Reader = Pick<HostIO, 'query'>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const int = (v: unknown): number => Number(v ?? 0);
const text = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString().slice(0, 10) : String(v));
const bool = (v: unknown): boolean => v === true || v === 'true' || v === 1;

export async function readScorecard(io: Reader, d: Dialect, table: TableRef): Promise<ScorecardRow[]> {
  const rows = await io.query(sql`SELECT * FROM ${d.table(table)} ORDER BY CASE section WHEN 'channel' THEN 1 WHEN 'program' THEN 2 ELSE 3 END, subject, kpi`);
  return rows.map((r: Raw) => ({
    section: String(r['section']) as ScorecardRow['section'],
    subject: String(r['subject']),
    kpi: String(r['kpi']),
    value: num(r['value']),
    low: num(r['low']),
    high: num(r['high']),
    status: text(r['status']),
    flagged: bool(r['flagged']),
    asOf: text(r['as_of']),
  }));
}

export async function readReport(io: Reader, d: Dialect, name: string, tables: ReportTables): Promise<ReportData> {
  const all = async (table: TableRef, orderBy: Sql) => io.query(sql`SELECT * FROM ${d.table(table)} ORDER BY ${orderBy}`);
  const scorecard = await readScorecard(io, d, tables.scorecard);
  const kpis = (await all(tables.kpis, sql`channel, campaign NULLS FIRST, period_start NULLS FIRST, kpi`)).map((r): KpiRow => {
    const def = kpiDef(String(r['channel']), String(r['kpi']));
    return {
      channel: String(r['channel']),
      campaign: text(r['campaign']),
      periodStart: text(r['period_start']),
      kpi: String(r['kpi']),
      // Data-quality shares are named in the YAML: their name is their label.
      label: def?.label ?? String(r['kpi']).replace(/_/g, ' '),
      unit: def?.unit ?? 'rate',
      numerator: num(r['numerator']),
      denominator: num(r['denominator']),
      value: num(r['value']),
      good: num(r['good']),
      bad: num(r['bad']),
      better: String(r['better']),
      status: text(r['status']),
    };
  });
  // In the catalogue's order (channels, then each channel's KPIs as listed), not alphabetically.
  // Channels outside the catalogue (the data-quality shares) come last.
  const channelRank = (channel: string) => ((CHANNELS as readonly string[]).includes(channel) ? (CHANNELS as readonly string[]).indexOf(channel) : CHANNELS.length);
  const rank = (k: KpiRow) => channelRank(k.channel) * 1000 + KPIS.findIndex((d) => d.channel === k.channel && d.name === k.kpi);
  kpis.sort((a, b) => rank(a) - rank(b) || (a.campaign ?? '').localeCompare(b.campaign ?? '') || (a.periodStart ?? '').localeCompare(b.periodStart ?? ''));
  const programs = (await all(tables.programs, sql`program, period_start NULLS FIRST`)).map(
    (r): ProgramRow => ({
      program: String(r['program']),
      kpi: String(r['kpi']),
      measure: String(r['measure']),
      within: String(r['within_length']),
      audiences: String(r['audiences'] ?? ''),
      syncs: String(r['syncs'] ?? ''),
      periodStart: text(r['period_start']),
      base: int(r['base']),
      converted: int(r['converted']),
      value: num(r['value']),
      good: num(r['good']),
      bad: num(r['bad']),
      status: text(r['status']),
    }),
  );
  const uplift = (await all(tables.uplift, sql`audience, treated_group`)).map(
    (r): UpliftRow => ({
      audience: String(r['audience']),
      treatedGroup: String(r['treated_group']),
      window: String(r['window_length']),
      treated: int(r['treated']),
      holdout: int(r['holdout']),
      pending: int(r['pending']),
      treatedConverters: int(r['treated_converters']),
      holdoutConverters: int(r['holdout_converters']),
      treatedConversion: num(r['treated_conversion']),
      holdoutConversion: num(r['holdout_conversion']),
      conversionUplift: num(r['conversion_uplift']),
      conversionUpliftLow: num(r['conversion_uplift_low']),
      conversionUpliftHigh: num(r['conversion_uplift_high']),
      conversionRelative: num(r['conversion_relative']),
      conversionRelativeLow: num(r['conversion_relative_low']),
      conversionRelativeHigh: num(r['conversion_relative_high']),
      treatedRevenuePerCustomer: num(r['treated_revenue_per_customer']),
      holdoutRevenuePerCustomer: num(r['holdout_revenue_per_customer']),
      revenueUplift: num(r['revenue_uplift']),
      revenueUpliftLow: num(r['revenue_uplift_low']),
      revenueUpliftHigh: num(r['revenue_uplift_high']),
      revenueRelative: num(r['revenue_relative']),
      revenueRelativeLow: num(r['revenue_relative_low']),
      revenueRelativeHigh: num(r['revenue_relative_high']),
      revenueDf: num(r['revenue_df']),
      tooSmall: bool(r['too_small']),
      conversionSignificant: bool(r['conversion_significant']),
      revenueSignificant: bool(r['revenue_significant']),
    }),
  );
  const cohorts = (await all(tables.cohorts, sql`cohort_month, months_after`)).map(
    (r): CohortRow => ({
      cohortMonth: String(text(r['cohort_month'])),
      customers: int(r['customers']),
      monthsAfter: int(r['months_after']),
      complete: bool(r['complete']),
      repeatCustomers: num(r['repeat_customers']),
      repeatRate: num(r['repeat_rate']),
      firstDayRevenuePerCustomer: num(r['first_day_revenue_per_customer']),
      revenuePerCustomer: num(r['revenue_per_customer']),
      revenueIndex: num(r['revenue_index']),
    }),
  );
  const segments = (await all(tables.segments, sql`customers DESC, segment`)).map(
    (r): SegmentRow => ({
      snapshotDate: text(r['snapshot_date']),
      segment: text(r['segment']),
      customers: int(r['customers']),
      customerShare: num(r['customer_share']),
      orders: num(r['orders']),
      revenue: num(r['revenue']),
      revenueShare: num(r['revenue_share']),
      revenuePerCustomer: num(r['revenue_per_customer']),
    }),
  );
  const migration = (await all(tables.migration, sql`from_segment NULLS FIRST, customers DESC, to_segment NULLS FIRST`)).map(
    (r): MigrationRow => ({
      fromDate: String(text(r['from_date'])),
      toDate: String(text(r['to_date'])),
      fromSegment: text(r['from_segment']),
      toSegment: text(r['to_segment']),
      customers: int(r['customers']),
      share: num(r['share']),
    }),
  );
  return { name, asOf: scorecard[0]?.asOf ?? null, scorecard, kpis, programs, uplift, cohorts, segments, migration };
}

/** A rate as a percentage with enough digits for small rates (0.12 %), a count as an integer, seconds with one decimal. */
export function formatValue(value: number | null, unit: Unit): string {
  if (value === null || !Number.isFinite(value)) return '—';
  if (unit === 'count') return Math.round(value).toLocaleString('en');
  if (unit === 'seconds') return `${value.toFixed(1)} s`;
  const percent = value * 100;
  return `${Math.abs(percent) < 1 && percent !== 0 ? percent.toFixed(2) : percent.toFixed(1)} %`;
}

/** Percentage points, signed. */
export function formatPoints(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  const points = value * 100;
  return `${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} pts`;
}

export function formatSigned(value: number | null, digits = 2): string {
  if (value === null || !Number.isFinite(value)) return '—';
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`;
}

/** What `tideline run` prints after building a report: what is out of range, and each uplift. */
export function describeScorecard(rows: readonly ScorecardRow[]): ModelSummary {
  const lines: string[] = [];
  const flaggedKpis = rows.filter((r) => r.section !== 'uplift' && r.flagged);
  const measured = rows.filter((r) => r.section !== 'uplift' && r.status !== null).length;
  lines.push(
    flaggedKpis.length
      ? `${flaggedKpis.length} of ${measured} KPIs with thresholds out of range: ${flaggedKpis.map((r) => `${r.subject} ${kpiDef(r.subject, r.kpi)?.label ?? r.kpi} ${formatValue(r.value, r.section === 'channel' ? (kpiDef(r.subject, r.kpi)?.unit ?? 'rate') : 'rate')}`).join('; ')}`
      : `${measured} KPIs with thresholds, none out of range`,
  );
  for (const r of rows.filter((x) => x.section === 'uplift' && x.kpi === 'conversion_uplift')) {
    const verdict = r.status === 'too_small' ? 'groups too small to conclude' : r.status === 'significant' ? 'significant' : 'not significant';
    lines.push(`uplift ${r.subject}: conversion ${formatPoints(r.value)} (95 % CI ${formatPoints(r.low)} to ${formatPoints(r.high)}), ${verdict}`);
  }
  return {
    lines,
    data: {
      flagged: flaggedKpis.map((r) => ({ section: r.section, subject: r.subject, kpi: r.kpi, value: r.value, status: r.status })),
      uplift: rows.filter((r) => r.section === 'uplift').map((r) => ({ subject: r.subject, kpi: r.kpi, value: r.value, low: r.low, high: r.high, status: r.status })),
    },
  };
}
