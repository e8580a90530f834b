import { InvalidArgumentError, type Command } from 'commander';
import { sql, type Sql } from '../dialects/sql.js';
import { sourceRelation } from '../project/analyse.js';
import type { Project } from '../project/loader.js';
import { ConfigError } from '../project/problems.js';
import { didYouMean } from '../project/suggest.js';
import { maskRecord } from '../sync/mask.js';
import type { Connection, Row } from '../warehouses/connection.js';
import { connect, EXIT, loadFor, runCommand, type GlobalOptions } from './context.js';

const DEFAULT_LIMIT = 10;
/** Characters of a value a table cell shows; the rest is cut to `…` (--json prints values whole). */
const CELL_WIDTH = 40;

interface ShowOptions {
  readonly limit: number;
  readonly showPii?: boolean;
  readonly json?: boolean;
}

export function registerShow(program: Command): void {
  program
    .command('show')
    .description("print the first rows of a model or source as the warehouse holds them (personal data masked, as in `plan`); builds nothing")
    .argument('<name>', 'a model, a companion table of one (customers_history), or a source')
    .option('--limit <n>', `rows to print (default ${DEFAULT_LIMIT})`, parseLimit, DEFAULT_LIMIT)
    .option('--show-pii', 'print personal data unmasked')
    .option('--json', 'print one JSON object per row instead of a table')
    .action(async (name: string, options: ShowOptions, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await loadFor(context);
        const relation = relationOf(project, name);
        const connection = await connect(context, project, { readOnly: true });
        try {
          if (relation.table && !(await connection.columns(relation.table))) {
            context.logger.error({ model: relation.model }, `${name} is not built in target ${project.target.name}: run \`tideline run --select +${relation.model}\` first`);
            return EXIT.failed;
          }
          const select = sql`SELECT * FROM ${relation.from} LIMIT ${project.target.dialect.literal(options.limit)}`;
          const rows = (await connection.query(select)).map((row) => (options.showPii ? row : (maskRecord(row) as Row)));
          if (options.json) {
            for (const row of rows) process.stdout.write(JSON.stringify(row) + '\n');
          } else {
            const columns = rows.length ? Object.keys(rows[0]!) : await columnNames(connection, select);
            process.stdout.write(table(columns, rows));
            const note = options.showPii ? '' : '; personal data masked (--show-pii to show)';
            process.stdout.write(`${rows.length} row${rows.length === 1 ? '' : 's'} of ${relation.kind} ${name}${rows.length === options.limit ? ` (--limit ${options.limit})` : ''}${note}\n`);
          }
          return EXIT.ok;
        } finally {
          await connection.close();
        }
      });
    });
}

function parseLimit(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a whole number of rows');
  return Number(value);
}

/** What `name` reads: a model (or a companion table of one) in the target schema, or a source as models read it. */
function relationOf(project: Project, name: string): { kind: 'model' | 'table' | 'source'; from: Sql; table?: { schema: string; name: string }; model?: string } {
  const d = project.target.dialect;
  const owner = project.models.has(name) ? name : project.companions.get(name)?.model;
  if (owner !== undefined) {
    const table = { schema: project.target.schema, name };
    return { kind: owner === name ? 'model' : 'table', from: d.table(table), table, model: owner };
  }
  const source = project.sources.get(name);
  if (source) return { kind: 'source', from: sourceRelation(project, source) };
  const known = [...project.models.keys(), ...project.companions.keys(), ...project.sources.keys()];
  throw new ConfigError([{ code: 'unknown-reference', severity: 'error', message: `tideline show: no model or source "${name}"${didYouMean(name, known)}` }]);
}

async function columnNames(connection: Connection, select: Sql): Promise<string[]> {
  return (await connection.columnsOfQuery(select)).map((c) => c.name);
}

/** A plain-text table: a header, a rule, one line per row; control characters shown escaped, long values cut. */
export function table(columns: readonly string[], rows: readonly Readonly<Record<string, unknown>>[]): string {
  const cells = rows.map((row) => columns.map((c) => cell(row[c])));
  const widths = columns.map((c, i) => Math.max(width(cell(c)), ...cells.map((r) => width(r[i]!))));
  const line = (values: readonly string[]) => `| ${values.map((v, i) => v + ' '.repeat(widths[i]! - width(v))).join(' | ')} |\n`;
  return line(columns.map(cell)) + `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n` + cells.map(line).join('');
}

function cell(value: unknown): string {
  const text = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  // eslint-disable-next-line no-control-regex
  const visible = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  const chars = [...visible];
  return chars.length > CELL_WIDTH ? chars.slice(0, CELL_WIDTH - 1).join('') + '…' : visible;
}

function width(text: string): number {
  return [...text].length;
}
