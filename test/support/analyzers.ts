/**
 * The SQL analyzers of BigQuery and Snowflake, run here: ZetaSQL (the GoogleSQL frontend BigQuery's SQL is built on,
 * npm `@fivetrandevelopers/zetasql`) and Fivetran's Snowflake-dialect build of it (`@fivetrandevelopers/zetasql-
 * snowflake`). Each package ships the analyzer as a native gRPC server (Linux and macOS, x86-64 and arm64), started here on
 * 127.0.0.1 and spoken to with the package's own client.
 *
 * They are about 110 MB each, so they are not dependencies of Tideline: `npm ci --prefix tools/analyzers` installs
 * them (CI does; see README.md). Where they are absent the suite says so loudly and skips, unless
 * TIDELINE_ANALYZERS=1 (CI), which turns "absent" into a failure.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';

export type AnalysedDialect = 'bigquery' | 'snowflake';

const TOOLS = join(import.meta.dirname, '../../tools/analyzers');

const PACKAGES: Readonly<Record<AnalysedDialect, { readonly name: string; readonly folder: string }>> = {
  bigquery: { name: '@fivetrandevelopers/zetasql', folder: 'lib/zetasql' },
  snowflake: { name: '@fivetrandevelopers/zetasql-snowflake', folder: 'lib/snowflake' },
};

/** The server binary each package ships for this platform (as its own runServer picks it). */
const SERVER = `remote_server${process.arch === 'arm64' ? '_arm' : ''}${process.platform === 'darwin' ? '' : '.so'}`;

/** ZetaSQL's TypeProto, as the client reads and writes it: a kind and, for arrays, the element's type. */
export interface TypeProto {
  readonly typeKind: number | string;
  readonly arrayType?: { readonly elementType: TypeProto } | null;
}

/** A table of the catalog: its path (dataset/schema, name) and its columns. */
export interface CatalogTable {
  readonly path: readonly [string, string];
  readonly columns: readonly { readonly name: string; readonly type: TypeProto }[];
}

/** A function the analyzer's build lacks, declared in its catalog with the vendor's documented signature. */
export interface DeclaredFunction {
  readonly name: string;
  /** One signature per entry: argument types, then the return type. */
  readonly signatures: readonly { readonly args: readonly TypeProto[]; readonly optional?: readonly TypeProto[]; readonly returns: TypeProto }[];
  /** Why it is declared: the vendor's page, and that the analyzer lacks it. */
  readonly reason: string;
}

interface ZetaClient {
  testConnection(): Promise<boolean>;
  analyze(request: Record<string, unknown>): Promise<AnalyzeResponse | undefined>;
  registerCatalog(request: Record<string, unknown>): Promise<{ registeredId?: number | string | { toString(): string } } | undefined>;
  unRegisterCatalog(request: Record<string, unknown>): Promise<unknown>;
}

/** The resolved statement, as the client decodes it: one node kind holding the next, down to the statement. */
export interface AnalyzeResponse {
  readonly resolvedStatement?: Record<string, unknown>;
  readonly resumeBytePosition?: number;
}

/** A running analyzer: its language options, and analyze() against a catalog. */
export interface Analyzer {
  readonly dialect: AnalysedDialect;
  /**
   * Analyses one statement (or, with `from`, the next statement of a script from that byte) against a catalog,
   * registered with the analyzer once per `version` (building the catalog with its built-in functions is most of an
   * analysis's cost; statements that change no table re-use it).
   */
  analyze(text: string, catalog: () => Record<string, unknown>, version: string, from?: number): Promise<AnalyzeResponse>;
  readonly languageOptions: Record<string, unknown>;
  close(): void;
}

/** Whether the analyzers are installed here (and can run on this platform). */
export function analyzersInstalled(): boolean {
  const platform = (process.platform === 'linux' || process.platform === 'darwin') && (process.arch === 'x64' || process.arch === 'arm64');
  return platform && Object.values(PACKAGES).every((p) => existsSync(join(TOOLS, 'node_modules', p.name, p.folder, SERVER)));
}

/** Whether a missing analyzer fails the suite (TIDELINE_ANALYZERS=1, as CI sets) instead of skipping it. */
export const ANALYZERS_REQUIRED = process.env['TIDELINE_ANALYZERS'] === '1';

export const INSTALL_ANALYZERS = 'npm ci --prefix tools/analyzers';

/**
 * BigQuery's language: the features and statement kinds Google's own ZetaSQL toolkit enables for BigQuery
 * (GoogleCloudPlatform/zetasql-toolkit, BigQueryLanguageOptions.java), external product mode, QUALIFY reserved.
 * Features this build of the analyzer does not know are left out (none today).
 */
const BIGQUERY_FEATURES = [
  'FEATURE_ALLOW_MISSING_PATH_EXPRESSION_IN_ALTER_DDL', 'FEATURE_ALTER_COLUMN_SET_DATA_TYPE', 'FEATURE_ALTER_TABLE_RENAME_COLUMN',
  'FEATURE_ANALYTIC_FUNCTIONS', 'FEATURE_ANONYMIZATION', 'FEATURE_BIGNUMERIC_TYPE', 'FEATURE_CBRT_FUNCTIONS',
  'FEATURE_CREATE_EXTERNAL_TABLE_WITH_CONNECTION', 'FEATURE_CREATE_EXTERNAL_TABLE_WITH_PARTITION_COLUMNS',
  'FEATURE_CREATE_EXTERNAL_TABLE_WITH_TABLE_ELEMENT_LIST', 'FEATURE_CREATE_MATERIALIZED_VIEW_CLUSTER_BY',
  'FEATURE_CREATE_MATERIALIZED_VIEW_PARTITION_BY', 'FEATURE_CREATE_SNAPSHOT_TABLE', 'FEATURE_CREATE_TABLE_AS_SELECT_COLUMN_LIST',
  'FEATURE_CREATE_TABLE_CLONE', 'FEATURE_CREATE_TABLE_CLUSTER_BY', 'FEATURE_CREATE_TABLE_COPY', 'FEATURE_CREATE_TABLE_FIELD_ANNOTATIONS',
  'FEATURE_CREATE_TABLE_FUNCTION', 'FEATURE_CREATE_TABLE_LIKE', 'FEATURE_CREATE_TABLE_NOT_NULL', 'FEATURE_CREATE_TABLE_PARTITION_BY',
  'FEATURE_CREATE_VIEW_WITH_COLUMN_LIST', 'FEATURE_DML_UPDATE_WITH_JOIN', 'FEATURE_ENCRYPTION', 'FEATURE_FOREIGN_KEYS',
  'FEATURE_GEOGRAPHY', 'FEATURE_GROUP_BY_ROLLUP', 'FEATURE_INTERVAL_TYPE', 'FEATURE_INVERSE_TRIG_FUNCTIONS',
  'FEATURE_JSON_ARRAY_FUNCTIONS', 'FEATURE_JSON_TYPE', 'FEATURE_JSON_VALUE_EXTRACTION_FUNCTIONS', 'FEATURE_NAMED_ARGUMENTS',
  'FEATURE_NUMERIC_TYPE', 'FEATURE_PARAMETERIZED_TYPES', 'FEATURE_PARAMETERS_IN_GRANTEE_LIST', 'FEATURE_ROUND_WITH_ROUNDING_MODE',
  'FEATURE_TABLESAMPLE', 'FEATURE_TABLE_VALUED_FUNCTIONS', 'FEATURE_TEMPLATE_FUNCTIONS', 'FEATURE_TIMESTAMP_NANOS',
  'FEATURE_TIME_BUCKET_FUNCTIONS', 'FEATURE_UNENFORCED_PRIMARY_KEYS', 'FEATURE_V_1_1_HAVING_IN_AGGREGATE',
  'FEATURE_V_1_1_LIMIT_IN_AGGREGATE', 'FEATURE_V_1_1_NULL_HANDLING_MODIFIER_IN_AGGREGATE',
  'FEATURE_V_1_1_NULL_HANDLING_MODIFIER_IN_ANALYTIC', 'FEATURE_V_1_1_ORDER_BY_IN_AGGREGATE', 'FEATURE_V_1_1_SELECT_STAR_EXCEPT_REPLACE',
  'FEATURE_V_1_2_CIVIL_TIME', 'FEATURE_V_1_2_SAFE_FUNCTION_CALL', 'FEATURE_V_1_2_WEEK_WITH_WEEKDAY',
  'FEATURE_V_1_3_ADDITIONAL_STRING_FUNCTIONS', 'FEATURE_V_1_3_ALLOW_DASHES_IN_TABLE_NAME', 'FEATURE_V_1_3_ALLOW_REGEXP_EXTRACT_OPTIONALS',
  'FEATURE_V_1_3_ANNOTATION_FRAMEWORK', 'FEATURE_V_1_3_CASE_STMT', 'FEATURE_V_1_3_COLLATION_SUPPORT', 'FEATURE_V_1_3_COLUMN_DEFAULT_VALUE',
  'FEATURE_V_1_3_CONCAT_MIXED_TYPES', 'FEATURE_V_1_3_DATE_ARITHMETICS', 'FEATURE_V_1_3_DATE_TIME_CONSTRUCTORS',
  'FEATURE_V_1_3_DECIMAL_ALIAS', 'FEATURE_V_1_3_EXTENDED_DATE_TIME_SIGNATURES', 'FEATURE_V_1_3_EXTENDED_GEOGRAPHY_PARSERS',
  'FEATURE_V_1_3_FORMAT_IN_CAST', 'FEATURE_V_1_3_FOR_IN', 'FEATURE_V_1_3_IS_DISTINCT', 'FEATURE_V_1_3_LIKE_ANY_SOME_ALL',
  'FEATURE_V_1_3_NULLS_FIRST_LAST_IN_ORDER_BY', 'FEATURE_V_1_3_OMIT_INSERT_COLUMN_LIST', 'FEATURE_V_1_3_PIVOT', 'FEATURE_V_1_3_QUALIFY',
  'FEATURE_V_1_3_REMOTE_FUNCTION', 'FEATURE_V_1_3_REPEAT', 'FEATURE_V_1_3_SCRIPT_LABEL', 'FEATURE_V_1_3_UNNEST_AND_FLATTEN_ARRAYS',
  'FEATURE_V_1_3_UNPIVOT', 'FEATURE_V_1_3_WITH_GROUP_ROWS', 'FEATURE_V_1_3_WITH_RECURSIVE',
  // Not in the toolkit's list, and BigQuery's: "The full SELECT syntax is valid in subqueries", WITH included
  // (cloud.google.com/bigquery/docs/reference/standard-sql/subqueries).
  'FEATURE_V_1_1_WITH_ON_SUBQUERY',
];

const BIGQUERY_STATEMENTS = [
  'RESOLVED_ADD_CONSTRAINT_ACTION', 'RESOLVED_ALTER_ENTITY_STMT', 'RESOLVED_ALTER_MATERIALIZED_VIEW_STMT', 'RESOLVED_ALTER_MODEL_STMT',
  'RESOLVED_ALTER_SCHEMA_STMT', 'RESOLVED_ALTER_TABLE_STMT', 'RESOLVED_ALTER_VIEW_STMT', 'RESOLVED_ASSERT_STMT', 'RESOLVED_ASSIGNMENT_STMT',
  'RESOLVED_AUX_LOAD_DATA_STMT', 'RESOLVED_BEGIN_STMT', 'RESOLVED_CALL_STMT', 'RESOLVED_COMMIT_STMT', 'RESOLVED_CREATE_ENTITY_STMT',
  'RESOLVED_CREATE_EXTERNAL_TABLE_STMT', 'RESOLVED_CREATE_FUNCTION_STMT', 'RESOLVED_CREATE_INDEX_STMT',
  'RESOLVED_CREATE_MATERIALIZED_VIEW_STMT', 'RESOLVED_CREATE_MODEL_STMT', 'RESOLVED_CREATE_PROCEDURE_STMT',
  'RESOLVED_CREATE_ROW_ACCESS_POLICY_STMT', 'RESOLVED_CREATE_SCHEMA_STMT', 'RESOLVED_CREATE_SNAPSHOT_TABLE_STMT',
  'RESOLVED_CREATE_TABLE_AS_SELECT_STMT', 'RESOLVED_CREATE_TABLE_FUNCTION_STMT', 'RESOLVED_CREATE_TABLE_STMT', 'RESOLVED_CREATE_VIEW_STMT',
  'RESOLVED_DELETE_STMT', 'RESOLVED_DROP_CONSTRAINT_ACTION', 'RESOLVED_DROP_FUNCTION_STMT', 'RESOLVED_DROP_MATERIALIZED_VIEW_STMT',
  'RESOLVED_DROP_ROW_ACCESS_POLICY_STMT', 'RESOLVED_DROP_SEARCH_INDEX_STMT', 'RESOLVED_DROP_SNAPSHOT_TABLE_STMT', 'RESOLVED_DROP_STMT',
  'RESOLVED_DROP_TABLE_FUNCTION_STMT', 'RESOLVED_EXECUTE_IMMEDIATE_STMT', 'RESOLVED_EXPORT_DATA_STMT', 'RESOLVED_EXPORT_MODEL_STMT',
  'RESOLVED_GRANT_STMT', 'RESOLVED_INSERT_STMT', 'RESOLVED_MERGE_STMT', 'RESOLVED_QUERY_STMT', 'RESOLVED_REVOKE_STMT',
  'RESOLVED_ROLLBACK_STMT', 'RESOLVED_TRUNCATE_STMT', 'RESOLVED_UPDATE_STMT',
];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Starts the dialect's analyzer on a free port of 127.0.0.1 and waits until it answers. */
export async function startAnalyzer(dialect: AnalysedDialect): Promise<Analyzer> {
  const pkg = PACKAGES[dialect];
  const require = createRequire(join(TOOLS, 'package.json'));
  const root = join(TOOLS, 'node_modules', pkg.name);
  // The package's client is CommonJS, typed by its own declarations, which a fresh clone does not have: typed here.
  const module = require(pkg.name) as {
    ZetaSQLClient: { init(port: number): void; getInstance(): ZetaClient };
    LanguageOptions: new () => { enableMaximumLanguageFeatures(): Promise<{ serialize(): Record<string, unknown> }> };
  };
  const features = require(join(root, 'lib/types/zetasql/LanguageFeature.js')) as { LanguageFeature: Record<string, number> };
  // A resolved statement nests a node per operator and scan: past protobufjs's default of 100 levels (protoc's
  // default too), the client would fail to decode the analyzer's answer to a long CASE or a deep query.
  const protobuf = require('protobufjs') as { Reader: { recursionLimit: number }; util: { recursionLimit: number } };
  protobuf.Reader.recursionLimit = 100_000;
  protobuf.util.recursionLimit = 100_000;
  const port = await freePort();
  // The package's runServer() listens on "localhost"; the binary is started here on 127.0.0.1 instead.
  const child: ChildProcess = execFile(join(root, pkg.folder, SERVER), ['127.0.0.1', String(port)]);
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited (${code ?? signal})`));
  module.ZetaSQLClient.init(port);
  const client = module.ZetaSQLClient.getInstance();
  for (let i = 0; ; i++) {
    if (await client.testConnection().catch(() => false)) break;
    if (exited || i > 300) {
      child.kill('SIGKILL');
      throw new Error(`the ${dialect} analyzer did not start on 127.0.0.1:${port}: ${exited ?? 'no answer in 30 s'}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  let languageOptions: Record<string, unknown>;
  if (dialect === 'bigquery') {
    const known = BIGQUERY_FEATURES.filter((f) => f in features.LanguageFeature);
    languageOptions = {
      nameResolutionMode: 'NAME_RESOLUTION_DEFAULT',
      productMode: 'PRODUCT_EXTERNAL',
      enabledLanguageFeatures: known,
      supportedStatementKinds: BIGQUERY_STATEMENTS,
      reservedKeywords: ['QUALIFY'],
    };
  } else {
    // The Snowflake build publishes no language options of its own: all it knows, QUALIFY reserved.
    const max = (await new module.LanguageOptions().enableMaximumLanguageFeatures()).serialize();
    languageOptions = { ...max, reservedKeywords: ['QUALIFY'] };
  }
  let registered: { version: string; id: string } | undefined;
  return {
    dialect,
    languageOptions,
    async analyze(text, catalog, version, from) {
      if (registered?.version !== version) {
        if (registered) await client.unRegisterCatalog({ registeredId: registered.id });
        const response = await client.registerCatalog({ simpleCatalog: { ...catalog(), builtinFunctionOptions: { languageOptions } } });
        registered = { version, id: String(response?.registeredId ?? '') };
      }
      const target = from === undefined ? { sqlStatement: text } : { parseResumeLocation: { input: text, bytePosition: from, allowResume: true } };
      const response = await client.analyze({
        ...target,
        registeredCatalogId: registered.id,
        options: { languageOptions, errorMessageMode: 'ERROR_MESSAGE_ONE_LINE', productMode: languageOptions['productMode'] ?? 'PRODUCT_INTERNAL' },
      });
      return response ?? {};
    },
    close() {
      child.kill('SIGKILL');
    },
  };
}

/** The message of a failed analysis (a gRPC error carrying the analyzer's one-line message in `details`). */
export function analysisError(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'details' in error && typeof error.details === 'string' && error.details) return error.details;
  return error instanceof Error ? error.message : String(error);
}

/** A type by ZetaSQL's kind name. */
export const T = {
  int64: { typeKind: 'TYPE_INT64' },
  string: { typeKind: 'TYPE_STRING' },
  double: { typeKind: 'TYPE_DOUBLE' },
  bool: { typeKind: 'TYPE_BOOL' },
  date: { typeKind: 'TYPE_DATE' },
  timestamp: { typeKind: 'TYPE_TIMESTAMP' },
  numeric: { typeKind: 'TYPE_NUMERIC' },
  bytes: { typeKind: 'TYPE_BYTES' },
  json: { typeKind: 'TYPE_JSON' },
} as const satisfies Record<string, TypeProto>;

/** FunctionProto entries for declared functions. */
export function functionProtos(functions: readonly DeclaredFunction[]): Record<string, unknown>[] {
  const argument = (type: TypeProto, cardinality: string) => ({ kind: 'ARG_TYPE_FIXED', type, numOccurrences: 1, options: { cardinality } });
  return functions.map((f) => ({
    namePath: [f.name],
    group: 'tideline-declared',
    mode: 'SCALAR',
    signature: f.signatures.map((s) => ({
      argument: [...s.args.map((t) => argument(t, 'REQUIRED')), ...(s.optional ?? []).map((t) => argument(t, 'OPTIONAL'))],
      returnType: { kind: 'ARG_TYPE_FIXED', type: s.returns, numOccurrences: 1, options: { cardinality: 'REQUIRED' } },
      contextId: 0,
    })),
  }));
}
