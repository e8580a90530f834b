import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { ConfigError } from '../project/problems.js';
import { joinSql, sql } from '../dialects/sql.js';
import type { Connection } from '../warehouses/connection.js';
import { forget, PERSON_KINDS, resumeRequests, type ForgetReport, type PersonKind, type PersonRef } from '../privacy/forget.js';
import { SyncCommand } from '../sync/command.js';
import { connectOnce, EXIT, loadFor, runCommand, targetDir, writeJson, type CommandContext, type GlobalOptions, waitSeconds } from './context.js';
import { VERSION } from './version.js';

interface ForgetOptions {
  email?: string[];
  phone?: string[];
  customer?: string[];
  record?: string[];
  key?: string[];
  from?: string;
  requestId?: string;
  reference?: string;
  plan?: boolean;
  resume?: boolean;
  sandbox?: boolean;
}

/**
 * `tideline forget`: a right-to-erasure request (src/privacy/forget.ts, README "Privacy"). Values are never printed
 * nor written to target/: the output counts records per sync and names the request.
 */
export function registerForget(program: Command): void {
  program
    .command('forget')
    .description('erase people from every destination a sync sent them to and from Tideline\'s state, and keep them out of every later sync')
    .option('--email <addresses...>', 'e-mail addresses')
    .option('--phone <numbers...>', 'phone numbers (normalised as the identity models normalise them)')
    .option('--customer <ids...>', 'customer ids of the identity models (or of your customers model)')
    .option('--record <source:id...>', 'source records, as the identity map names them (eshop:42)')
    .option('--key <values...>', 'sync keys or other ids (a loyalty card)')
    .option('--from <file>', 'requests, one person a row, with any of the columns email, phone, customer, record, key: a CSV file, or a warehouse table as table:<schema>.<name>')
    .option('--request-id <id>', 'the request\'s id (default: derived from the values, so the same command resumes the same request)')
    .option('--reference <text>', 'your reference for the request (a ticket number), kept in the audit trail: no personal data')
    .option('--plan', 'show what would be erased where, erase and write nothing')
    .option('--resume', 'finish the requests a crash or a refusal left unfinished (no values needed)')
    .option('--sandbox', 'erase from the sandbox\'s emulators and state')
    .action(async (options: ForgetOptions, command: Command) => {
      process.exitCode = await runCommand(command.optsWithGlobals<GlobalOptions>(), (context) => runForget(context, options));
    });
}

async function runForget(context: CommandContext, options: ForgetOptions): Promise<number> {
  if (options.resume && options.plan) throw new ConfigError([{ code: 'bad-option', severity: 'error', message: 'tideline forget: --resume finishes requests for real; leave out --plan (a plan of a new request takes the values)' }]);
  const project = await loadFor(context);
  const fromTable = options.from?.startsWith('table:') ? options.from.slice('table:'.length) : undefined;
  const people = options.resume ? [] : peopleOf({ ...options, ...(fromTable ? { from: undefined } : {}) }, project.root);
  if (!options.resume && !people.length && !fromTable) {
    throw new ConfigError([{ code: 'bad-option', severity: 'error', message: 'tideline forget: give who to forget (--email, --phone, --customer, --record, --key or --from), or --resume' }]);
  }
  const syncs = [...project.syncs.values()];
  // `--wait` (global): for the embedded warehouse and for the locks of syncs running now, as `tideline sync --wait`.
  const wait = waitSeconds(context.options);
  const command = await SyncCommand.open({ project, syncs, logger: context.logger, connect: () => connectOnce(context, project), sandbox: options.sandbox, dryRun: options.plan, waitMs: wait === undefined ? undefined : wait * 1000 });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on('SIGINT', onSignal);
  try {
    const reports = await command.withState(async ({ store, configOf }) => {
      const input = { project, connection: store.connection, store, configOf, log: context.logger, signal: abort.signal, plan: options.plan === true };
      if (options.resume) return resumeRequests(input);
      if (fromTable) people.push(...(await peopleOfTable(store.connection, fromTable)));
      return [await forget({ ...input, people, ...(options.requestId ? { requestId: options.requestId } : {}), ...(options.reference ? { reference: options.reference } : {}) })];
    });
    if (!reports.length) context.logger.info('no unfinished erasure request');
    for (const report of reports) describe(context, report);
    await writeJson(join(targetDir(project), 'forget_results.json'), {
      tideline_version: VERSION,
      command: 'forget',
      project: project.name,
      sandbox: options.sandbox === true,
      plan: options.plan === true,
      requests: reports.map((r) => ({ request_id: r.requestId, status: r.status, customers: r.customers, hashed_values: r.tokens, syncs: r.syncs })),
    });
    return reports.some((r) => r.status === 'partial') ? EXIT.failed : EXIT.ok;
  } finally {
    process.off('SIGINT', onSignal);
    await command.close();
  }
}

function describe(context: CommandContext, report: ForgetReport): void {
  const planned = report.status === 'planned';
  context.logger.info(
    { requestId: report.requestId, customers: report.customers, hashedValues: report.tokens },
    `${planned ? 'plan of ' : ''}erasure request ${report.requestId}: ${report.customers} customer${report.customers === 1 ? '' : 's'} of the identity models, ${report.tokens} identifying values (kept hashed, so that every later sync leaves them out)`,
  );
  for (const s of report.syncs) {
    const fields = { sync: s.sync, status: s.status, records: s.records, erased: s.erased, refused: s.refused, stateRows: s.stateRows };
    const where = `${s.sync} → ${s.destination} ${s.object}`;
    if (planned) context.logger.info(fields, `${where}: would erase ${s.records} record${s.records === 1 ? '' : 's'} (${s.method})`);
    else if (s.status === 'none') context.logger.info(fields, `${where}: nothing held`);
    else if (s.status === 'unresolved') context.logger.error(fields, `${where}: its model is not built, so not every record of theirs can be found (${s.erased} erased): build it and run \`tideline forget --resume\``);
    else if (s.status === 'manual') context.logger.warn(fields, `${where}: ${s.records} record(s) cannot be erased through the API — ${s.method}; Tideline's state of them was purged`);
    else if (s.status === 'partial') context.logger.error(fields, `${where}: ${s.erased} of ${s.records} erased, ${s.refused} refused${s.failure ? ` (${s.failure})` : ''}: run \`tideline forget --resume\``);
    else context.logger.info(fields, `${where}: ${s.erased} record${s.erased === 1 ? '' : 's'} erased (${s.method}); ${s.stateRows} state rows purged`);
  }
  if (!planned) context.logger.info(`request ${report.requestId}: ${report.status}; \`tideline audit --erasures\` lists what was done where`);
}

/** The people of a warehouse table of requests (`--from table:<schema>.<name>`): its columns named as a CSV's. */
async function peopleOfTable(connection: Connection, name: string): Promise<PersonRef[]> {
  const d = connection.dialect;
  const parts = name.split('.');
  const table = parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { name };
  const columns = await connection.columns(table);
  if (!columns) throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--from table:${name}: no such table in the target` }]);
  const known = columns.map((c) => c.name).filter((c) => (PERSON_KINDS as readonly string[]).includes(c.toLowerCase()));
  if (!known.length) throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--from table:${name}: expected a column among ${PERSON_KINDS.join(', ')}; found ${columns.map((c) => c.name).join(', ')}` }]);
  const rows = await connection.query(sql`SELECT ${joinSql(known.map((c) => d.cast(d.id(c), 'string')).map((e, i) => sql`${e} AS ${d.id(known[i]!.toLowerCase())}`))} FROM ${d.table(table)}`);
  const people: PersonRef[] = [];
  for (const row of rows) for (const column of known) {
    const value = row[column.toLowerCase()];
    if (typeof value === 'string' && value.trim()) people.push({ kind: column.toLowerCase() as PersonKind, value });
  }
  return people;
}

/** The people of the options and of the `--from` file. */
function peopleOf(options: ForgetOptions, root: string): PersonRef[] {
  const people: PersonRef[] = [];
  for (const kind of PERSON_KINDS) for (const value of options[kind] ?? []) people.push({ kind, value });
  if (options.from) {
    let rows: Record<string, string>[];
    try {
      rows = parse(readFileSync(resolve(root, options.from)), { columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), skip_empty_lines: true, trim: true });
    } catch (error) {
      throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--from ${options.from}: ${error instanceof Error ? error.message.replace(/"[^"]*@[^"]*"/g, '"…"') : String(error)}` }]);
    }
    const known = rows.length ? Object.keys(rows[0]!).filter((c) => (PERSON_KINDS as readonly string[]).includes(c)) : [];
    if (rows.length && !known.length) {
      throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--from ${options.from}:1: expected a header naming at least one of ${PERSON_KINDS.join(', ')}; found ${Object.keys(rows[0]!).join(', ')}` }]);
    }
    for (const row of rows) for (const kind of known) if (row[kind]) people.push({ kind: kind as PersonKind, value: row[kind]! });
  }
  return people;
}
