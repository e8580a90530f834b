import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { sql, type Sql } from '../../src/dialects/sql.js';
import { readReport, type AudienceReport } from './kind.js';
import type { AudiencesSpec, Channel } from './schema.js';

/**
 * `tideline audience list`: every audience of an audiences model with its size after the last build and how it
 * changed in that build, read from the companions the build keeps (`<model>_report`, `<model>_history`).
 */

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
  return Number(rows[0]?.[d.storedName('n')] ?? rows[0]?.['n'] ?? 0) > 0;
}
