import type { Command } from 'commander';
import type { z } from 'zod';
import type { Access, CommandContext, EXIT, GlobalOptions } from '../src/cli/context.js';
import type { Dialect, LogicalType, TableRef } from '../src/dialects/dialect.js';
import type { Sql } from '../src/dialects/sql.js';
import type { Analysis } from '../src/project/analyse.js';
import type { PressurePolicy } from '../src/project/pressure.js';
import type { Channel } from '../src/project/channels.js';
import type { ModelDef, Project } from '../src/project/loader.js';
import type { Policies } from '../src/project/policies.js';
import type { FieldPath, Place } from '../src/project/problems.js';
import type { ColumnSpec, Connection, Value } from '../src/warehouses/connection.js';

/**
 * The contract of a model kind (identity, customers, rfm, ltv, audiences…). A kind is one folder under models/ with
 * its YAML schema, its planner and, optionally, its own commands (cli.ts), registered by one line in models/index.ts
 * (see the checklist there). The engine owns everything around it: loading and locating errors, checking references
 * and columns, ordering models, running the steps, swapping the result in atomically, recording run results.
 */
export interface ModelKind<Spec> {
  /** The value of `kind:` in YAML. */
  readonly kind: string;
  /** One line for `tideline --help` and the docs. */
  readonly summary: string;
  /**
   * The kind's own fields, producing its Spec (see KindSchema). The engine adds the fields every model has (name,
   * kind, description, tags, enabled) and validates the whole item strictly, so unknown keys are reported with a
   * suggestion.
   */
  readonly schema: KindSchema<Spec>;
  /** The sources and models this model reads, with the columns it uses of each, and where each is written. */
  inputs(spec: Spec): InputRef[];
  /**
   * Checks that need the inputs' columns and returns the model's output columns, or undefined when they cannot be
   * known without the warehouse. Column references from `inputs` are checked by the engine before this runs;
   * `columnsOf` is undefined for a source that was not introspected (offline validation), in which case checks
   * depending on it are skipped.
   */
  analyse(spec: Spec, context: AnalyseContext): readonly OutputColumn[] | undefined;
  /** The SQL steps that build the model into `context.output`. Pure: the same spec and context give the same SQL. */
  plan(spec: Spec, context: PlanContext): ModelPlan;
  /**
   * Optional: the companion tables the model keeps beside its own (see PlanContext.companion), declared ahead of
   * the build so that other models and syncs can read `<model>_<suffix>` like any relation: the reference orders the
   * build after this model, and its columns are checked. Columns undefined when they cannot be known before a run.
   */
  companions?(spec: Spec): readonly CompanionDeclaration[];
  /**
   * Optional: the model's rows belong to named parts (an audiences model: one audience each), and a sync must name
   * the part it sends (`audience:` in the sync). `filter` selects the rows of a part that may ever be sent.
   */
  syncParts?(spec: Spec): SyncParts;
  /**
   * Optional: the kind applies the project's contact policies (tideline.yml `suppressions:` and `preferences:`, see
   * PlanContext.policies), so its models are built after the relations those read.
   */
  readonly appliesPolicies?: boolean;
  /**
   * Optional: the kind applies the project's pressure policy (PlanContext.pressure), so its models read the
   * policy's delivered events and are built after the models those name.
   */
  readonly appliesPressure?: boolean;
  /**
   * Optional: after a successful build (the model's table swapped in), what `tideline run` should print and record
   * in tideline_run_results.json — e.g. identity's merge report, LTV's fitted parameters. Reads only; must not fail the build.
   */
  summarise?(spec: Spec, context: SummaryContext): Promise<ModelSummary>;
  /**
   * Optional: how `tideline forget` finds people in this model's tables (identity): the customers an e-mail, a phone,
   * a customer id or a `source:id` designates, and every value identifying them, as SQL rows (`kind`, `v`) hashed in
   * the warehouse — the values never leave it. Reads only.
   */
  people?(spec: Spec, context: PeopleContext): PeopleLookup;
  /**
   * Optional: the kind's own `tideline` commands, in models/<kind>/cli.ts (`tideline identity explain`). Imported when
   * the CLI builds its program, not with the kind: commands use the engine (loading, planning), which reads the kind
   * registry, so importing cli.ts from kind.ts statically would make a cycle.
   */
  cli?(): Promise<KindCommands<Spec>>;
}

/**
 * A kind's YAML schema: an object schema (the engine adds the common fields to its shape) whose output is the kind's
 * Spec, so that `defineModelKind` does not type-check when the schema and the code reading its specs disagree.
 */
export type KindSchema<Spec> = z.ZodObject & z.ZodType<Spec>;

export interface SyncParts {
  /** What a part is called, for messages and the sync field (`audience`). */
  readonly noun: 'audience';
  readonly names: readonly string[];
  filter(d: Dialect, name: string): Sql;
  /** The channel a part is for (an audience's `channel`), which its syncs take unless they name their own. */
  channelOf(name: string): Channel | undefined;
  /** The model column holding the customer key (an audiences model's `key`), for suppressions and pressure. */
  readonly contact: string | undefined;
  /** Which of the project's contact policies a part's syncs apply (see PartPolicy). */
  policyOf(name: string): PartPolicy;
  /** The communication type of a part's messages (an audience's `type`), which its syncs take unless they name their own. */
  typeOf(name: string): string | undefined;
}

/**
 * The project's contact policies as they apply to the syncs of one part: an exclusion audience contacts nobody (no
 * suppression, no preference), an audience without consent needs no preference, an audience for a topic carries it.
 */
export interface PartPolicy {
  readonly suppressions: boolean;
  readonly preferences: boolean;
  readonly topic: string | undefined;
  /** Whether an entry into the part is a message to the customer: an exclusion audience's is not (pressure). */
  readonly messages: boolean;
}

export interface CompanionDeclaration {
  readonly suffix: string;
  readonly description: string;
  readonly columns: readonly OutputColumn[] | undefined;
}

export interface SummaryContext {
  readonly dialect: Dialect;
  readonly name: string;
  /** The model's table, now holding the new build. */
  readonly table: TableRef;
  /** Tables the model kept beside its own (e.g. `<name>_report`), by the suffix it gave them. */
  companion(suffix: string): TableRef;
  readonly io: HostIO;
}

export interface ModelSummary {
  /** Lines for the terminal, each a sentence a marketer can read. */
  readonly lines: readonly string[];
  /** Structured figures for tideline_run_results.json. */
  readonly data: Readonly<Record<string, unknown>>;
}

export interface InputRef {
  /** Name of a source or model. */
  readonly relation: string;
  /** Where the reference is written, relative to the model's YAML item. */
  readonly at: FieldPath;
  readonly columns: readonly ColumnRef[];
}

export interface ColumnRef {
  readonly name: string;
  readonly at: FieldPath;
}

export interface OutputColumn {
  readonly name: string;
  /** undefined when it cannot be known before the model runs (e.g. a source column not introspected). */
  readonly type: LogicalType | undefined;
}

export interface AnalyseContext {
  readonly dialect: Dialect;
  /** The project's contact policies (tideline.yml `suppressions:` and `preferences:`). */
  readonly policies: Policies;
  /** Project variables from tideline.yml `vars`. */
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  /** The project's marketing pressure policy (tideline.yml `pressure:`), when it declares one. */
  readonly pressure: PressurePolicy | undefined;
  columnsOf(relation: string): readonly OutputColumn[] | undefined;
  /**
   * Reports a problem located at `at` (relative to the model's YAML item): a value, or `keyOf(path)` for a problem
   * about a name written as a key.
   */
  problem(at: Place, message: string, code?: string): void;
}

export interface PlanContext {
  readonly dialect: Dialect;
  /** The model being compiled. */
  readonly name: string;
  /** A relation to read an input from (a table, or a file read in place), ready for a FROM clause. */
  relation(name: string): Sql;
  /** Output columns of an input, when known. */
  columnsOf(relation: string): readonly OutputColumn[] | undefined;
  /** The table the final step must create, in the work schema; the engine swaps it in for the model's table. */
  readonly output: TableRef;
  /** The model's visible table, e.g. to read the previous build (stable ids); it may not exist yet. */
  readonly current: TableRef;
  /**
   * An intermediate table private to this build, in the work schema (never the model schema: it may hold raw
   * personal data), dropped when the build ends.
   */
  scratch(suffix: string): TableRef;
  /**
   * A table the model keeps beside its own, visible as `<name>_<suffix>` (e.g. identity's `_map` and `_report`).
   * The build writes it into `build`; the engine swaps every companion in together with the model's table, after the
   * whole build succeeded (in one transaction where the warehouse has transactional DDL, otherwise one atomic replace
   * per table, the model's own table last), so a failed build leaves all of them as they were. `current` is the
   * visible companion from the previous build, which may not exist yet.
   */
  companion(suffix: string): CompanionTables;
  /** Project variables from tideline.yml `vars`. */
  readonly vars: Readonly<Record<string, string | number | boolean>>;
  /** The project's contact policies (tideline.yml `suppressions:` and `preferences:`), for kinds that apply them. */
  readonly policies: Policies;
  /** The project's marketing pressure policy (tideline.yml `pressure:`), when it declares one. */
  readonly pressure: PressurePolicy | undefined;
  /**
   * A shared table of the state schema that models may read (src/state/tables.ts READABLE_STATE_TABLES, e.g.
   * `sync_messages`), ready for a FROM clause. It reads as an empty relation with the table's columns when the
   * warehouse does not hold it yet (no sync ran): the runner checks before it plans.
   */
  stateRelation(name: string): Sql;
}

/**
 * What a build runs, in order.
 * - `sql`: one statement.
 * - `repeat`: runs its body until the `until` query (one row, one numeric column: how many things changed this round)
 *   returns 0, for algorithms driven by the CLI such as connected components; exceeding `maxRounds` fails the build
 *   rather than looping on. The number of rounds is reported in the build's summary data as `rounds.<label>`.
 * - `carry`: carries state over from the previous build (identity's ids, a report's snapshots, audience history).
 *   `from` is the table the previous build left visible (PlanContext.current, or a companion's `current`). The runner
 *   decides, the same way for every kind:
 *   - `from` does not exist (the first build), or the run is a `--full-refresh`, or it names this step's label in
 *     RunOptions.fresh (`tideline identity train`: the parameters afresh, the ids carried): `fresh` runs, `from` is not read;
 *   - `from` exists and has every column in `columns`: `carried` runs;
 *   - `from` exists but lacks some of `columns` (left by an older Tideline, or by something else): the build fails
 *     with an error naming the table and the columns, and saying that `--full-refresh` starts afresh. It never carries
 *     part of the state: a history with a column made up would be wrong without anyone being told, and the previous
 *     table stays in place, so the user can still add the columns instead of losing what it holds.
 *   Both statements build the same table(s); `tideline compile` prints both (only `fresh` for a full refresh).
 * - `timed`: steps that use the time the build runs. The runner calls `body` once, when it reaches the step, with that
 *   time as a UTC timestamp literal, so every statement of the body sees the same instant; `tideline compile` calls it
 *   with the placeholder `:run_time`. `body` must be pure apart from that.
 * - `host`: work done in TypeScript between SQL steps, when the work is small and the warehouse cannot do it (e.g. a
 *   maximum-likelihood fit on a few thousand grouped rows). It reads and writes only through `io`, so it runs on
 *   every warehouse; `describe` says in the compiled script what it does. Not for reading the previous build: that
 *   is `carry`, whose SQL the compiled script shows.
 */
export type Step =
  | { readonly kind: 'sql'; readonly label: string; readonly sql: Sql }
  | { readonly kind: 'repeat'; readonly label: string; readonly body: readonly Step[]; readonly until: Sql; readonly maxRounds: number }
  | { readonly kind: 'carry'; readonly label: string; readonly from: TableRef; readonly columns: readonly string[]; readonly carried: Sql; readonly fresh: Sql }
  | { readonly kind: 'timed'; readonly label: string; body(runTime: Sql): readonly Step[] }
  | { readonly kind: 'host'; readonly label: string; readonly describe: string; run(io: HostIO): Promise<void> };

/** What a host step or a summary may do with the warehouse: the Connection's reading and writing, nothing more. */
export interface HostIO {
  readonly dialect: Dialect;
  execute(statement: Sql): Promise<void>;
  query(statement: Sql): Promise<Readonly<Record<string, unknown>>[]>;
  stream(statement: Sql, options?: { batchSize?: number }): AsyncIterable<Readonly<Record<string, unknown>>[]>;
  /**
   * Columns of a table, or undefined when it does not exist: how the runner learns whether a previous build left a
   * `carry` step's table behind. Required: a runner that could not tell made identity fail while report and audiences
   * silently dropped their history.
   */
  columns(table: TableRef): Promise<readonly OutputColumn[] | undefined>;
  /**
   * Appends rows to an existing table through the warehouse's bulk path (Connection.insertRows: DuckDB's appender,
   * multi-row INSERTs elsewhere): how a host step writes what it computed.
   */
  insertRows(table: TableRef, columns: readonly ColumnSpec[], rows: readonly (readonly Value[])[]): Promise<number>;
}

/** A companion table of a model: where this build writes it, and its visible version (see PlanContext.companion). */
export interface CompanionTables {
  readonly build: TableRef;
  readonly current: TableRef;
}

export interface ModelPlan {
  readonly steps: readonly Step[];
}

/**
 * A kind as the registry holds it, its Spec hidden so that kinds of every Spec fit in one list (an existential). A
 * spec enters only through `parse`, and the methods accept only specs that `parse` of the same kind produced,
 * throwing on any other value: so the engine passes specs around as `unknown` and never casts one.
 */
export interface RegisteredKind extends Omit<ModelKind<unknown>, 'schema' | 'cli'> {
  /** The kind's own fields (ModelKind.schema, its Spec hidden): for the reference docs, and merged with the common fields. */
  readonly schema: z.ZodObject;
  /**
   * Reads a model's own fields (those of ModelKind.schema, without the common ones) into its spec, reporting
   * problems through `validate`; undefined when they are invalid.
   */
  parse(fields: unknown, validate: Validate): object | undefined;
  cli?(): Promise<RegisteredCommands>;
  people?(spec: unknown, context: PeopleContext): PeopleLookup;
}

/** Validates `data` against `schema`, reporting located problems; undefined when invalid. */
export type Validate = <T>(schema: z.ZodType<T>, data: unknown) => T | undefined;

export function defineModelKind<Spec extends object>(kind: ModelKind<Spec>): RegisteredKind {
  // Every spec this kind's schema produced, by identity: how a spec the engine holds as `unknown` is recognised as
  // this kind's and typed again, without a cast.
  const parsed = new WeakMap<object, Spec>();
  const typed = (spec: unknown): Spec | undefined => (typeof spec === 'object' && spec !== null ? parsed.get(spec) : undefined);
  const own = (spec: unknown): Spec => {
    const found = typed(spec);
    if (found === undefined) throw new Error(`a ${kind.kind} model was given a spec that the ${kind.kind} schema did not produce`);
    return found;
  };
  const model = (def: ModelDef): KindModel<Spec> | undefined => {
    const spec = typed(def.spec);
    return spec === undefined ? undefined : { ...def, spec };
  };
  const models = (project: Project): KindModel<Spec>[] => [...project.models.values()].flatMap((def) => model(def) ?? []);
  const companions = kind.companions?.bind(kind);
  const syncParts = kind.syncParts?.bind(kind);
  const summarise = kind.summarise?.bind(kind);
  const people = kind.people?.bind(kind);
  const cli = kind.cli?.bind(kind);
  // Every member of the contract is listed (`satisfies`), so that a member added to ModelKind is not dropped here.
  return {
    kind: kind.kind,
    summary: kind.summary,
    schema: kind.schema,
    parse(fields, validate) {
      const spec = validate<Spec>(kind.schema, fields);
      if (spec !== undefined) parsed.set(spec, spec);
      return spec;
    },
    inputs: (spec) => kind.inputs(own(spec)),
    analyse: (spec, context) => kind.analyse(own(spec), context),
    plan: (spec, context) => kind.plan(own(spec), context),
    companions: companions && ((spec) => companions(own(spec))),
    syncParts: syncParts && ((spec) => syncParts(own(spec))),
    appliesPolicies: kind.appliesPolicies,
    appliesPressure: kind.appliesPressure,
    summarise: summarise && ((spec, context) => summarise(own(spec), context)),
    people: people && ((spec: unknown, context: PeopleContext) => people(own(spec), context)),
    cli:
      cli &&
      (async () => {
        const commands = await cli();
        return { after: commands.after, register: (program, engine) => commands.register(program, { ...engine, models, model }) };
      }),
  } satisfies RegisteredKind & Record<keyof ModelKind<Spec>, unknown>;
}

/** What a kind's `people` reads: its model's visible table, the sources and models, and a way to query. */
export interface PeopleContext {
  readonly dialect: Dialect;
  readonly io: Pick<HostIO, 'query'>;
  /** The model's visible table (its companions are `<name>_<suffix>` beside it). */
  readonly table: TableRef;
  relation(name: string): Sql;
}

/** A model's answer to `tideline forget` (see ModelKind.people). */
export interface PeopleLookup {
  /** Customer ids a value designates; `kind` says what the value is. */
  find(kind: 'email' | 'phone' | 'customer' | 'record' | 'key', value: string): Promise<string[]>;
  /** Every value identifying these customers, as rows (`kind`: email, phone, customer, record, key; `v`: text). */
  values(customerIds: readonly string[]): Sql;
}

/** A kind's commands (models/<kind>/cli.ts), registered by `ModelKind.cli`. */
export interface KindCommands<Spec> {
  /**
   * The engine's command after which these are listed in `tideline --help` (`run` for `report`, which shows what
   * `run` built); by default after all of them.
   */
  readonly after?: string;
  /** Adds the commands to `program`. */
  register(program: Command, engine: KindCommandEngine<Spec>): void;
}

/** What the CLI gives every kind's commands. */
export interface CommandEngine {
  /**
   * Runs a command body and turns its outcome into an exit code: configuration problems → `exit.config` (all
   * printed), warehouse or other failures → `exit.failed`, with a message carrying no secret.
   */
  run(options: GlobalOptions, body: (context: CommandContext) => Promise<number>): Promise<number>;
  readonly exit: typeof EXIT;
  /** Loads the project (with the CLI's kinds), printing its warnings. */
  load(context: CommandContext): Promise<Project>;
  /**
   * Connects unless offline, and checks the project against the warehouse; the caller closes the connection. A
   * command that only reads passes `{ readOnly: true }` (several can then read an embedded warehouse at once). Both
   * wait for an embedded warehouse another process holds as long as `--wait` says.
   */
  analyse(context: CommandContext, project: Project, offline: boolean, access?: Access): Promise<{ analysis: Analysis; connection: Connection | undefined }>;
  /** Opens the project's target (read-only with `{ readOnly: true }`); the caller closes it. */
  connect(context: CommandContext, project: Project, access?: Access): Promise<Connection>;
  /**
   * Builds these models as `tideline run --select` does (checked against the warehouse, in order, summaries
   * logged), recording them in target/tideline_run_results.json under `command`; the exit code and each model's result.
   */
  build(
    context: CommandContext,
    project: Project,
    selected: readonly string[],
    options: { readonly fullRefresh: boolean; readonly command: string; /** Carry steps to start afresh (RunOptions.fresh). */ readonly fresh?: readonly string[] },
  ): Promise<{ code: number; results: readonly ModelBuildResult[] }>;
}

/** What `CommandEngine.build` says of one model (the runner's ModelResult). */
export interface ModelBuildResult {
  readonly model: string;
  readonly status: 'success' | 'error' | 'skipped';
  readonly error: string | null;
  readonly summary: ModelSummary | null;
}

/** The engine as a kind's commands see it: with the kind's own models, their specs typed. */
export interface KindCommandEngine<Spec> extends CommandEngine {
  /** The project's models of this kind, in the order they are declared. */
  models(project: Project): KindModel<Spec>[];
  /** `model` as a model of this kind, or undefined when it is of another. */
  model(model: ModelDef): KindModel<Spec> | undefined;
}

/** A model of a known kind: its spec typed. */
export type KindModel<Spec> = ModelDef & { readonly spec: Spec };

/** A kind's commands as the registry holds them (see RegisteredKind). */
export interface RegisteredCommands {
  readonly after?: string | undefined;
  register(program: Command, engine: CommandEngine): void;
}
