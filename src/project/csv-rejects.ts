import { sql } from '../dialects/sql.js';
import type { Connection } from '../warehouses/connection.js';
import type { Project, SourceDef } from './loader.js';

/** A line of a CSV source that reading it skips: its number in the file (the header is line 1) and why, no value. */
export interface RejectedLine {
  readonly line: number;
  readonly reason: string;
}

export interface RejectedLines {
  /** How many lines reading the file skips. */
  readonly count: number;
  /** The first of them, in file order. */
  readonly first: readonly RejectedLine[];
}

/**
 * The broken lines of a CSV source, found in one read of the file (see Dialect.csvRejects): how many, and the first
 * `keep` of them. None for other sources.
 */
export async function rejectedLines(project: Project, source: SourceDef, connection: Connection, keep: number): Promise<RejectedLines> {
  if (source.file?.format !== 'csv') return { count: 0, first: [] };
  const d = project.target.dialect;
  const queries = d.csvRejects(source.file.path, source.file.types);
  try {
    for (const statement of queries.scan) await connection.execute(statement);
    const rows = await connection.query(
      sql`SELECT ${d.id('line')}, ${d.id('reason')}, COUNT(*) OVER () AS ${d.id('count')}\nFROM (\n${queries.list}\n) AS rejected\nORDER BY ${d.id('line')}\nLIMIT ${d.literal(keep)}`,
    );
    return { count: Number(rows[0]?.['count'] ?? 0), first: rows.map((row) => ({ line: Number(row['line']), reason: String(row['reason']) })) };
  } finally {
    for (const statement of queries.cleanup) await connection.execute(statement).catch(() => undefined);
  }
}

/** `data/people.csv:3: too many columns: 7 where the header has 6` */
export function locatedLine(source: SourceDef, line: RejectedLine): string {
  return `${source.file?.path ?? source.name}:${line.line}: ${line.reason}`;
}
