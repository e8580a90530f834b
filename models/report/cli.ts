import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { GlobalOptions } from '../../src/cli/context.js';
import { ConfigError } from '../../src/project/problems.js';
import { selectModels } from '../../src/project/select.js';
import { sandboxStateSchema } from '../../src/sync/sandbox.js';
import type { KindCommandEngine, KindCommands } from '../model-kind.js';
import { deliverySyncs, readDeliveries } from './deliveries.js';
import { chartJsSource, renderHtml } from './html.js';
import { readReport, reportTables, type ReportData } from './read.js';
import type { ReportSpec } from './schema.js';
import { renderTerminal } from './terminal.js';

/** `tideline report`, listed after `run`: it shows what `run` built. */
export const reportCommands: KindCommands<ReportSpec> = { after: 'run', register };

function register(program: Command, engine: KindCommandEngine<ReportSpec>): void {
  const { run, exit: EXIT, load, analyse } = engine;
  program
    .command('report')
    .description('print what the report models measured (KPIs, programs, uplift, cohorts, segments) as last built by `tideline run`')
    .option('-s, --select <selectors...>', 'report models to show: names, tag:NAME… (default: every report model)')
    .option('--html <file>', 'also write one self-contained HTML page with charts (no network needed to view it)')
    .option('--sandbox', "the syncs' deliveries (`deliveries:`) from the sandbox state instead of production")
    .action(async (options: { select?: string[]; html?: string; sandbox?: boolean }, command: Command) => {
      process.exitCode = await run(command.optsWithGlobals<GlobalOptions>(), async (context) => {
        const project = await load(context);
        const reports = selectModels(project, options.select).filter((name) => engine.model(project.models.get(name)!) !== undefined);
        const all = engine.models(project).map((m) => m.name);
        if (reports.length === 0) {
          const message = all.length ? `no report model selected; report models: ${all.join(', ')}` : 'the project has no model of kind `report`; add one (see models/report/README.md)';
          throw new ConfigError([{ code: 'no-report', severity: 'error', message }]);
        }
        if (options.html && reports.length > 1) {
          throw new ConfigError([{ code: 'usage', severity: 'error', message: `--html writes one report: choose it with --select (selected: ${reports.join(', ')})` }]);
        }
        const { connection } = await analyse(context, project, false, { readOnly: true });
        try {
          const data: ReportData[] = [];
          for (const name of reports) {
            const tables = reportTables({ schema: project.target.schema, name });
            if (!(await connection!.columns(tables.scorecard))) {
              context.logger.error({ model: name }, `report ${name} has not been built in target ${project.target.name}: run \`tideline run --select +${name}\` first`);
              return EXIT.failed;
            }
            const read = await readReport(connection!, project.target.dialect, name, tables);
            // Deliveries are read from the state now, not from the tables `run` built: syncs run after models.
            const spec = engine.model(project.models.get(name)!)!.spec.deliveries;
            if (spec === undefined) {
              data.push(read);
              continue;
            }
            for (const missing of (spec.syncs ?? []).filter((s) => !project.syncs.has(s))) context.logger.warn({ model: name, sync: missing }, `report ${name} counts the deliveries of ${missing}, which is no sync of the project`);
            const stateSchema = options.sandbox ? sandboxStateSchema(project) : project.target.stateSchema;
            const syncs = deliverySyncs(spec, [...project.syncs.values()].map((s) => ({ name: s.name, mode: s.mode })));
            data.push({ ...read, deliveries: { stateSchema, rows: await readDeliveries(connection!, project.target.dialect, stateSchema, syncs) } });
          }
          process.stdout.write(data.map(renderTerminal).join('\n'));
          if (options.html) {
            const file = resolve(options.html);
            await mkdir(dirname(file), { recursive: true });
            await writeFile(file, renderHtml(data[0]!, { chartJs: chartJsSource() }));
            context.logger.info({ model: data[0]!.name, file }, `wrote the HTML report to ${file}`);
          }
          return EXIT.ok;
        } finally {
          await connection!.close();
        }
      });
    });
}
