import type { Logger } from '../log/logger.js';
import { locatedLine, rejectedLines, type RejectedLine } from '../project/csv-rejects.js';
import type { Project } from '../project/loader.js';
import type { Connection } from '../warehouses/connection.js';

/** The lines of a CSV source a run skipped, for tideline_run_results.json. */
export interface SourceRejects {
  readonly source: string;
  /** The file as the source names it. */
  readonly file: string;
  /** How many lines were skipped. */
  readonly rejected: number;
  /** The first LISTED of them, in file order: line number and reason, never a value (personal data). */
  readonly lines: readonly RejectedLine[];
}

/** Lines logged one by one, per source; lines kept in tideline_run_results.json. */
const LOGGED = 10;
const LISTED = 100;

/**
 * The broken lines of the CSV sources the selected models read, which those models read without (a strict source
 * with a broken line was refused before anything ran). Each source with some is logged as warnings — the first
 * lines as `file:line: reason`, then the count — and reported for tideline_run_results.json.
 */
export async function reportRejectedLines(project: Project, connection: Connection, selected: readonly string[], log: Logger): Promise<SourceRejects[]> {
  const read = new Set(selected.flatMap((name) => (project.models.get(name)?.enabled ? project.models.get(name)!.inputs.map((input) => input.relation) : [])));
  const reports: SourceRejects[] = [];
  for (const source of project.sources.values()) {
    if (!read.has(source.name) || source.file?.format !== 'csv' || source.file.strict) continue;
    const { count, first } = await rejectedLines(project, source, connection, LISTED);
    if (count === 0) continue;
    const file = source.file.path;
    for (const line of first.slice(0, LOGGED)) log.warn({ source: source.name, file, line: line.line, reason: line.reason }, `${locatedLine(source, line)} (line skipped)`);
    const listed = count > LOGGED ? `; the first ${LOGGED} are above, the first ${Math.min(count, LISTED)} in tideline_run_results.json` : '';
    log.warn({ source: source.name, file, rejected: count }, `source ${source.name}: ${count} line${count === 1 ? '' : 's'} of ${file} rejected${listed}`);
    reports.push({ source: source.name, file, rejected: count, lines: first });
  }
  return reports;
}
