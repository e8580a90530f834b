import type { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MODEL_KINDS } from '../models/index.js';
import { defineModelKind, type KindCommands } from '../models/model-kind.js';
import type { GlobalOptions } from '../src/cli/context.js';
import { buildProgram } from '../src/cli/program.js';
import { sql } from '../src/dialects/sql.js';
import { createLogger } from '../src/log/logger.js';
import { runModels } from '../src/pipeline/runner.js';
import { analyseProject } from '../src/project/analyse.js';
import { loadProject } from '../src/project/loader.js';
import { ConfigError } from '../src/project/problems.js';
import { selectModels } from '../src/project/select.js';
import { openTarget } from '../src/warehouses/registry.js';
import { tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

/**
 * The checklist in models/index.ts, followed for a kind that exists only here: `tally` counts the rows of a relation
 * by one of its columns, and brings a command of its own, `tideline tally`, which prints the counts. Instead of a
 * line in MODEL_KINDS (a production file), the kind joins the registry's kinds in the lists that loadProject
 * (LoadOptions.registries) and buildProgram take, as test/checklists.test.ts does for a warehouse and a destination.
 */

const tallySchema = z.strictObject({
  from: z.string().min(1).describe('The relation whose rows are counted.'),
  by: z.string().min(1).describe('The column they are counted by.'),
});
type TallySpec = z.infer<typeof tallySchema>;

/** models/tally/cli.ts, as it would be. */
const tallyCommands: KindCommands<TallySpec> = {
  after: 'validate',
  register(program, engine) {
    program
      .command('tally')
      .description('print the counts of the tally models, as last built')
      .option('-m, --model <name>', 'one tally model')
      .action(async (options: { model?: string }, command: Command) => {
        process.exitCode = await engine.run(command.optsWithGlobals<GlobalOptions>(), async (context) => {
          const project = await engine.load(context);
          const models = engine.models(project).filter((m) => options.model === undefined || m.name === options.model);
          if (!models.length) throw new ConfigError([{ code: 'bad-option', severity: 'error', message: `--model: no tally model named "${options.model}"` }]);
          const d = project.target.dialect;
          const connection = await engine.connect(context, project);
          try {
            for (const model of models) {
              // model.spec is a TallySpec: `by` is read without a cast.
              const rows = await connection.query(sql`SELECT ${d.id(model.spec.by)} AS v, n FROM ${d.table({ schema: project.target.schema, name: model.name })} ORDER BY 1`);
              process.stdout.write(`${model.name} by ${model.spec.by}: ${rows.map((r) => `${String(r['v'])} ${String(r['n'])}`).join(', ')}\n`);
            }
            return engine.exit.ok;
          } finally {
            await connection.close();
          }
        });
      });
  },
};

/** models/tally/kind.ts, as it would be. */
const tally = defineModelKind({
  kind: 'tally',
  summary: 'Rows of a relation counted by one of its columns',
  schema: tallySchema,
  cli: async () => tallyCommands,
  inputs: (spec) => [{ relation: spec.from, at: ['from'], columns: [{ name: spec.by, at: ['by'] }] }],
  analyse: (spec, context) => [
    { name: spec.by, type: context.columnsOf(spec.from)?.find((c) => c.name === spec.by)?.type },
    { name: 'n', type: 'integer' },
  ],
  plan: (spec, context) => {
    const d = context.dialect;
    const by = d.id(spec.by);
    const select = sql`SELECT ${by}, COUNT(*) AS n FROM ${context.relation(spec.from)} GROUP BY ${by}`;
    return { steps: [{ kind: 'sql', label: 'count', sql: d.createTableAs(context.output, select) }] };
  },
});

const KINDS = [...MODEL_KINDS, tally];

function project(): string {
  return tempProject({
    'tideline.yml': 'name: tallies\n',
    'data/visits.csv': 'id,channel\n1,email\n2,sms\n3,email\n4,email\n5,push\n',
    'models/visits.yml': `sources:
  - name: visits
    file: data/visits.csv
models:
  - name: visits_by_channel
    kind: tally
    from: visits
    by: channel
`,
  });
}

const tideline = (args: readonly string[]) => tidelineInProcess(args, KINDS);

afterEach(() => {
  process.exitCode = undefined;
});

describe('a model kind added by the checklist in models/index.ts', () => {
  it('lists its command in `tideline --help`, after the engine command it names', async () => {
    const names = (await buildProgram(KINDS)).commands.map((c) => c.name());
    expect(names.slice(0, 3)).toEqual(['init', 'validate', 'tally']);
    expect((await buildProgram(KINDS)).helpInformation()).toMatch(/^ {2}tally \[options\] +print the counts of the tally models/m);
    // Without it in the list, neither its command nor its models exist.
    expect((await buildProgram()).commands.map((c) => c.name())).not.toContain('tally');
    const failure = await loadProject({ projectDir: project() }).then(() => undefined, (error: unknown) => error);
    expect(failure instanceof ConfigError && failure.problems.map((p) => p.code)).toEqual(['unknown-kind']);
  });

  it('the registry places every kind command where `tideline --help` always listed it', async () => {
    const names = (await buildProgram()).commands.map((c) => c.name());
    expect(names).toEqual(['init', 'validate', 'compile', 'docs', 'run', 'report', 'test', 'build', 'show', 'source', 'plan', 'sync', 'status', 'rejected', 'forget', 'audit', 'sandbox', 'identity', 'audience']);
  });

  it('builds its models as `tideline run` does, and its command reads them with their spec typed', async () => {
    const root = project();
    const loaded = await loadProject({ projectDir: root, registries: { kinds: KINDS } });
    expect(loaded.models.get('visits_by_channel')?.kind).toBe(tally);
    const connection = await openTarget(loaded.target.config, { root });
    try {
      const results = await runModels(loaded, connection, await analyseProject(loaded, connection), selectModels(loaded, undefined), { logger: createLogger({ level: 'silent' }) });
      expect(results.map((r) => [r.model, r.kind, r.status, r.rows, r.error])).toEqual([['visits_by_channel', 'tally', 'success', 3, null]]);
    } finally {
      await connection.close();
    }

    const shown = await tideline(['tally', '--project', root]);
    expect(shown.stderr).toBe('');
    expect(shown).toMatchObject({ code: 0, stdout: 'visits_by_channel by channel: email 3, push 1, sms 1\n' });

    // Its errors take the engine's exit codes: a configuration problem exits 2, printed.
    const wrong = await tideline(['tally', '--model', 'nope', '--project', root, '--log-format', 'pretty']);
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toContain('--model: no tally model named "nope"');
  });

  it('its registered methods accept only specs its own schema produced', async () => {
    const loaded = await loadProject({ projectDir: project(), registries: { kinds: KINDS } });
    const model = loaded.models.get('visits_by_channel')!;
    expect(tally.inputs(model.spec)).toEqual([{ relation: 'visits', at: ['from'], columns: [{ name: 'channel', at: ['by'] }] }]);
    // The same fields, not read by the kind: refused rather than trusted.
    expect(() => tally.inputs({ from: 'visits', by: 'channel' })).toThrow('a tally model was given a spec that the tally schema did not produce');
    // A spec of another kind is refused too.
    const staging = MODEL_KINDS.find((k) => k.kind === 'staging')!;
    expect(() => staging.inputs(model.spec)).toThrow('a staging model was given a spec');
  });
});
