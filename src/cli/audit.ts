import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { joinSql, sql, type Sql } from '../dialects/sql.js';
import { ConfigError } from '../project/problems.js';
import { privacyTable } from '../privacy/state.js';
import { StateStore } from '../state/store.js';
import { sandboxStateSchema } from '../sync/sandbox.js';
import type { Row } from '../warehouses/connection.js';
import { connect, EXIT, loadFor, runCommand, type GlobalOptions } from './context.js';

interface AuditOptions {
  erasures?: boolean;
  since?: string;
  sync?: string;
  format: 'text' | 'csv' | 'json';
  output?: string;
  sandbox?: boolean;
}

const RUN_COLUMNS = ['sent_at', 'run_id', 'sync_name', 'destination', 'destination_type', 'object', 'mode', 'fields', 'records', 'removed'] as const;
const ERASURE_COLUMNS = ['requested_at', 'request_id', 'reference', 'request_status', 'sync_name', 'destination', 'destination_type', 'object', 'status', 'method', 'records', 'erased', 'refused', 'state_rows', 'erased_at'] as const;

/**
 * `tideline audit`: the audit trail for a data-protection officer (README "Privacy") — per run, which destination
 * received which fields for how many records; with `--erasures`, per request, what was done where and when. Names and
 * counts only: the state holds no personal value for it to print.
 */
export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('the audit trail: which destination received which fields for how many records, run by run; --erasures: what each erasure request did where')
    .option('--erasures', 'the erasure requests (tideline forget) instead of the runs')
    .option('--since <date>', 'only from this day on (YYYY-MM-DD)')
    .option('--sync <name>', 'only this sync')
    .option('--format <format>', 'text, csv or json (one object a line)', 'text')
    .option('--output <file>', 'write to a file instead of the terminal')
    .option('--sandbox', "the sandbox state's trail")
    .action(async (options: AuditOptions, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        if (!['text', 'csv', 'json'].includes(options.format)) throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--format: expected text, csv or json, got "${options.format}"` }]);
        if (options.since !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(options.since)) throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--since: expected a day as YYYY-MM-DD, got "${options.since}"` }]);
        const project = await loadFor(context);
        const connection = await connect(context, project, { readOnly: true });
        try {
          const store = new StateStore(connection, options.sandbox ? sandboxStateSchema(project) : project.target.stateSchema);
          // Read-only: a trail no sync or erasure has started yet is empty, not created.
          const tables = options.erasures ? [privacyTable(store, 'requests'), privacyTable(store, 'erasures')] : [store.table('audit')];
          let recorded = true;
          for (const table of tables) recorded &&= await store.exists(table);
          const rows = !recorded ? [] : options.erasures ? await erasureRows(store, options) : await runRows(store, options);
          const columns = options.erasures ? ERASURE_COLUMNS : RUN_COLUMNS;
          const text = render(rows, columns, options.format);
          if (options.output) {
            writeFileSync(resolve(options.output), text);
            context.logger.info(`${rows.length} row${rows.length === 1 ? '' : 's'} written to ${options.output}`);
          } else process.stdout.write(text);
          return EXIT.ok;
        } finally {
          await connection.close();
        }
      });
    });
}

async function runRows(store: StateStore, options: AuditOptions): Promise<Row[]> {
  const d = store.dialect;
  const filters = [sql`1 = 1`];
  if (options.since) filters.push(sql`${d.id('sent_at')} >= ${d.timestampLiteral(new Date(`${options.since}T00:00:00Z`))}`);
  if (options.sync) filters.push(sql`${d.id('sync_name')} = ${d.string(options.sync)}`);
  return store.connection.query(
    sql`SELECT * FROM ${d.table(store.table('audit'))} WHERE ${joinAnd(filters)} ORDER BY ${d.id('sent_at')}, ${d.id('sync_name')}`,
  );
}

async function erasureRows(store: StateStore, options: AuditOptions): Promise<Row[]> {
  const d = store.dialect;
  const filters = [sql`1 = 1`];
  if (options.since) filters.push(sql`r.${d.id('requested_at')} >= ${d.timestampLiteral(new Date(`${options.since}T00:00:00Z`))}`);
  if (options.sync) filters.push(sql`e.${d.id('sync_name')} = ${d.string(options.sync)}`);
  return store.connection.query(sql`SELECT r.${d.id('requested_at')}, r.${d.id('request_id')}, r.${d.id('reference')}, r.${d.id('status')} AS ${d.id('request_status')}, e.${d.id('sync_name')}, e.${d.id('destination')}, e.${d.id('destination_type')}, e.${d.id('object')}, e.${d.id('status')}, e.${d.id('method')}, e.${d.id('records')}, e.${d.id('erased')}, e.${d.id('refused')}, e.${d.id('state_rows')}, e.${d.id('erased_at')}
FROM ${d.table(privacyTable(store, 'requests'))} AS r
LEFT JOIN ${d.table(privacyTable(store, 'erasures'))} AS e ON e.${d.id('request_id')} = r.${d.id('request_id')}
WHERE ${joinAnd(filters)}
ORDER BY r.${d.id('requested_at')}, e.${d.id('sync_name')}`);
}

function joinAnd(parts: readonly Sql[]): Sql {
  return joinSql(parts, sql` AND `);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function render(rows: readonly Row[], columns: readonly string[], format: AuditOptions['format']): string {
  const values = rows.map((row) => columns.map((c) => cell(row[c] ?? row[c.toUpperCase()])));
  if (format === 'csv') return stringify([columns, ...values]);
  if (format === 'json') return values.map((v) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, v[i]])))).join('\n') + (values.length ? '\n' : '');
  if (!values.length) return 'nothing recorded yet\n';
  const widths = columns.map((c, i) => Math.min(48, Math.max(c.length, ...values.map((v) => v[i]!.length))));
  const line = (v: readonly string[]) => v.map((x, i) => (x.length > widths[i]! ? `${x.slice(0, widths[i]! - 1)}…` : x.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns), ...values.map(line)].join('\n') + '\n';
}
