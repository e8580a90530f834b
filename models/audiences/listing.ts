import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { sql, type Sql } from '../../src/dialects/sql.js';
import type { SummaryContext } from '../model-kind.js';
import type { AudiencesSpec, Channel } from './schema.js';

/**
 * `tideline audience list`: every audience of an audiences model with its size after the last build and how it
 * changed in that build, read from the companions the build keeps (`<model>_report`, `<model>_history`). The report's
 * reader also gives the model's summary after a build.
 */

/** One audience's line of `<name>_report`: its sizes after the last build and its moves in that build. */
export interface AudienceReport {
  readonly audience: string;
  readonly channel: string;
  readonly builtAt: Date | null;
  readonly members: number;
  readonly holdout: number;
  readonly noConsent: number;
  readonly capped: number;
  /** Left out by the project's suppressions (0 in a report built before they existed). */
  readonly suppressed: number;
  readonly entered: number;
  readonly exited: number;
}

export async function readReport(io: Pick<SummaryContext['io'], 'query'>, d: Dialect, report: TableRef): Promise<AudienceReport[]> {
  const rows = await io.query(sql`SELECT * FROM ${d.table(report)} ORDER BY audience`);
  return rows.map((r) => ({
    audience: String(r['audience']),
    channel: String(r['channel']),
    builtAt: r['built_at'] instanceof Date ? r['built_at'] : null,
    members: Number(r['members']),
    holdout: Number(r['holdout']),
    noConsent: Number(r['no_consent']),
    capped: Number(r['capped']),
    suppressed: Number(r['suppressed'] ?? 0),
    entered: Number(r['entered']),
    exited: Number(r['exited']),
  }));
}

/** A marketer's sentence for one audience. */
export function describeAudience(r: AudienceReport): string {
  const n = (x: number) => x.toLocaleString('en');
  const parts = [`${r.audience} (${r.channel}): ${n(r.members)} members (+${n(r.entered)} / −${n(r.exited)} this run)`];
  if (r.holdout) parts.push(`${n(r.holdout)} held out`);
  if (r.noConsent) parts.push(`${n(r.noConsent)} left out without ${r.channel} consent`);
  if (r.capped) parts.push(`${n(r.capped)} dropped by marketing pressure`);
  if (r.suppressed) parts.push(`${n(r.suppressed)} suppressed`);
  return parts.join(', ');
}

export interface ListingIO {
  query(statement: Sql): Promise<Readonly<Record<string, unknown>>[]>;
  /** Columns of a table, or undefined when it does not exist. */
  columns(table: TableRef): Promise<readonly unknown[] | undefined>;
}

export interface AudienceStanding {
  readonly model: string;
  readonly audience: string;
  readonly channel: Channel;
  /** The last build's figures; null when the model was never built, or the audience was added since. */
  readonly last: AudienceReport | null;
  /**
   * Members at the build before the last one (members − entered + exited); null on the first build (no earlier
   * membership in the history, e.g. after a full refresh) or when never built.
   */
  readonly previous: number | null;
}

export interface ModelStanding {
  readonly model: string;
  /** When the model was last built; null when never. */
  readonly builtAt: Date | null;
  readonly audiences: readonly AudienceStanding[];
}

export async function readStanding(io: ListingIO, d: Dialect, model: string, spec: AudiencesSpec, tables: { readonly report: TableRef; readonly history: TableRef }): Promise<ModelStanding> {
  const never = (): ModelStanding => ({ model, builtAt: null, audiences: spec.audiences.map((a) => ({ model, audience: a.name, channel: a.channel, last: null, previous: null })) });
  if (!(await io.columns(tables.report))) return never();
  const report = await readReport(io, d, tables.report);
  const builtAt = report.reduce<Date | null>((latest, r) => (r.builtAt && (!latest || r.builtAt > latest) ? r.builtAt : latest), null);
  const earlier = (await io.columns(tables.history)) ? await hadEarlierBuild(io, d, tables) : false;
  return {
    model,
    builtAt,
    audiences: spec.audiences.map((a) => {
      const last = report.find((r) => r.audience === a.name) ?? null;
      return { model, audience: a.name, channel: a.channel, last, previous: last && earlier ? last.members - last.entered + last.exited : null };
    }),
  };
}

/** True when the history holds a stay that began before the last build: the last build was not the first. */
async function hadEarlierBuild(io: ListingIO, d: Dialect, tables: { readonly report: TableRef; readonly history: TableRef }): Promise<boolean> {
  const rows = await io.query(
    sql`SELECT COUNT(*) AS ${d.id('n')} FROM ${d.table(tables.history)} AS h WHERE h.${d.id('entered_at')} < (SELECT MAX(r.${d.id('built_at')}) FROM ${d.table(tables.report)} AS r)`,
  );
  return Number(rows[0]?.['n'] ?? 0) > 0;
}
