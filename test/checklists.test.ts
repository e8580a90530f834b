import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { DESTINATIONS } from '../destinations/index.js';
import { heldCopy, SUITE_RETRIES, type ContractKit, type ContractOptions } from '../destinations/emulator-kit/contract.js';
import { EmulatorServer, requestHeader, requestObject, type EmulatorReply, type EmulatorRequest, type RecordStore } from '../destinations/emulator-kit/server.js';
import { ApiClient, bearer, defineDestination, Outcomes, rejected, SYNC_MODES, type Batch, type DestinationSession, type RecordOutcome } from '../destinations/kit/index.js';
import { Dialect, type DateFormatToken, type DateUnit, type FunctionMap, type TableRef } from '../src/dialects/dialect.js';
import { joinSql, Sql, sql } from '../src/dialects/sql.js';
import { redactor } from '../src/log/redact.js';
import { modelScript } from '../src/pipeline/script.js';
import { analyseWithSources } from '../src/project/analyse.js';
import { loadProject } from '../src/project/loader.js';
import { ConfigError } from '../src/project/problems.js';
import { WarehouseError } from '../src/warehouses/connection.js';
import { WAREHOUSES } from '../src/warehouses/registry.js';
import { defineWarehouse } from '../src/warehouses/warehouse.js';
import { seedSourceColumns } from './fixtures/shop-mini/seed.js';
import { tempProject } from './support/cli.js';
import { describeDestinationContract } from './support/destination-contract.js';
import { describeQuoting, doubledQuote, type Lexer } from './support/hostile.js';
import { expectCompleteDestination, expectCompleteWarehouse } from './support/registries.js';

/**
 * The checklists beside the registries, followed step by step for a warehouse and a destination that exist only in
 * this file. If a checklist missed a step — a list kept by hand somewhere the checklist does not name — the
 * throwaway would fail here although it did all the checklist says. The registries are constants: the throwaways
 * reach the suites the documented way, registries passed to loadProject (LoadOptions.registries) standing for their
 * registry line, and the suites as functions of an entry (expectCompleteWarehouse, describeQuoting,
 * describeDestinationContract), the same functions the registered entries go through.
 */

// ---- A warehouse, by the checklist of src/warehouses/registry.ts ----

/** Step 1, dialect.ts: a dialect quoting identifiers in brackets, so that any name that bypassed it would show. */
class ThrowawayDialect extends Dialect {
  readonly name = 'throwaway' as const;
  readonly capabilities = {
    transactionalDdl: true,
    buildsInTransaction: false,
    buildsBesideModel: false,
    supportsQualify: false,
    supportsMerge: true,
    readsLocalFiles: false,
    identifierCase: 'insensitive',
    maxIdentifierBytes: 128,
    requiresSetup: false,
    needsSelectFences: true,
  } as const;
  readonly types = { string: 'NVARCHAR(4000)', integer: 'BIGINT', float: 'FLOAT', decimal: 'DECIMAL(18,2)', boolean: 'BIT', date: 'DATE', timestamp: 'DATETIME2' } as const;
  readonly functions: FunctionMap = {
    lower: (a) => sql`LOWER(${a})`,
    upper: (a) => sql`UPPER(${a})`,
    trim: (a) => sql`TRIM(${a})`,
    length: (a) => sql`LEN(${a})`,
    sha256Hex: (a) => sql`LOWER(CONVERT(VARCHAR(64), HASHBYTES('SHA2_256', ${a}), 2))`,
    md5Hex: (a) => sql`LOWER(CONVERT(VARCHAR(32), HASHBYTES('MD5', ${a}), 2))`,
    regexpReplaceAll: (a, pattern, replacement) => sql`REGEXP_REPLACE(${a}, ${pattern}, ${replacement})`,
    regexpContains: (a, pattern) => sql`REGEXP_LIKE(${a}, ${pattern})`,
    substring: (a, start, length) => sql`SUBSTRING(${a}, ${start}, ${length})`,
    foldAccents: null,
    jaroWinkler: null,
    editDistance: (a, b) => sql`EDIT_DISTANCE(${a}, ${b})`,
    tryCastFromString: (a, type) => sql`TRY_CAST(${a} AS ${type})`,
  };
  /** The date-part keywords, written out: a unit never enters SQL as text. */
  readonly #parts: Record<DateUnit, Sql> = { day: sql`DAY`, week: sql`ISO_WEEK`, month: sql`MONTH`, quarter: sql`QUARTER`, year: sql`YEAR` };

  id(name: string): Sql {
    this.assertIdentifier(name);
    return Sql.trusted(`[${name.replaceAll(']', ']]')}]`);
  }

  string(value: string): Sql {
    if (value.includes('\u0000')) throw new RangeError('throwaway strings cannot hold the NUL character');
    return Sql.trusted(`'${value.replaceAll("'", "''")}'`);
  }

  currentDate(): Sql {
    return sql`CAST(SYSUTCDATETIME() AS DATE)`;
  }

  currentTimestamp(): Sql {
    return sql`SYSUTCDATETIME()`;
  }

  dateAdd(expr: Sql, amount: Sql, unit: DateUnit): Sql {
    return sql`DATEADD(${this.#parts[unit]}, ${amount}, ${expr})`;
  }

  dateDiff(unit: 'day' | 'month' | 'year', from: Sql, to: Sql): Sql {
    return sql`DATEDIFF(${this.#parts[unit]}, ${from}, ${to})`;
  }

  dateTrunc(unit: DateUnit, expr: Sql): Sql {
    return sql`DATETRUNC(${this.#parts[unit]}, ${expr})`;
  }

  hashToUint32(text: Sql): Sql {
    return sql`CAST(CONVERT(BINARY(4), HASHBYTES('MD5', ${text})) AS BIGINT)`;
  }

  replaceTable(staging: TableRef, target: TableRef): Sql[] {
    return [this.dropTable(target), this.createTableAs(target, sql`SELECT * FROM ${this.table(staging)}`), this.dropTable(staging)];
  }

  protected renderDateFormat(expr: Sql, tokens: readonly DateFormatToken[]): Sql {
    const spell: Record<Exclude<DateFormatToken, object>, string> = { YYYY: 'yyyy', MM: 'MM', DD: 'dd', HH: 'HH', mm: 'mm', ss: 'ss', 'ss.SSS': 'ss.fff', 'ss.SSSSSS': 'ss.ffffff' };
    return sql`FORMAT(${expr}, ${this.string(tokens.map((t) => (typeof t === 'object' ? t.literal : spell[t])).join(''))})`;
  }

  jsonArray(items: readonly Sql[]): Sql {
    return sql`JSON_ARRAY(${joinSql(items)})`;
  }
}

/** Its quoting rules, as a reader of its documentation would write them: `[`…`]`, a `]` doubled inside. */
const bracketed: Lexer = (text) => {
  expect(text[0]).toBe('[');
  let value = '';
  for (let i = 1; i < text.length; i++) {
    if (text[i] === ']') {
      if (text[i + 1] !== ']') return { value, length: i + 1 };
      i++;
    }
    value += text[i];
  }
  throw new Error(`unterminated identifier: ${text}`);
};

/** Step 2, config.ts: its targets, strict, each field described, the token a secret. */
const throwawayTargetSchema = z.strictObject({
  type: z.literal('throwaway'),
  host: z.string().min(1).describe('Server host.'),
  token: z.string().min(8).describe('Access token; never printed.'),
  schema: z.string().min(1).optional().describe("Schema where models are built, overriding the project's `schema`."),
});

/** Steps 3 and 4, connection.ts and warehouse.ts. There is no such server: opening one says so. */
const throwaway = defineWarehouse({
  type: 'throwaway',
  dialect: new ThrowawayDialect(),
  schema: throwawayTargetSchema,
  secrets: (t) => [t.token],
  modelSchema: (t) => t.schema,
  open: async (t) => {
    throw new WarehouseError(`no throwaway server at ${t.host}`);
  },
});

/** Step 5, its line in the registry. */
const warehouses = [...WAREHOUSES, throwaway];

const SHOP = join(import.meta.dirname, 'fixtures/shop-mini');
const TOKEN = 'throwaway-token-4f1e';

/** Step 6's golden project: the shop-mini fixture with a target named after the warehouse. */
function shopWithThrowawayTarget(): string {
  const project = parse(readFileSync(join(SHOP, 'tideline.yml'), 'utf8')) as { targets: Record<string, unknown> };
  project.targets['throwaway'] = { type: 'throwaway', host: 'db.example.internal', token: TOKEN, schema: 'shop' };
  return tempProject({ 'tideline.yml': stringify(project) }, SHOP);
}

describe('a warehouse added by the checklist of src/warehouses/registry.ts', () => {
  it('is a complete registration, as the registry test checks every registered one', () => {
    expectCompleteWarehouse(throwaway);
  });

  // Step 6: its quoting rules in the hostile-identifier suite.
  describeQuoting(throwaway.dialect, { id: bracketed, string: doubledQuote("'") });

  it('is read from tideline.yml by its registry line alone: the target, its dialect, its schema, its secret', async () => {
    const project = await loadProject({ projectDir: shopWithThrowawayTarget(), target: 'throwaway', env: {}, registries: { warehouses } });
    expect(project.target).toMatchObject({ name: 'throwaway', warehouse: throwaway, dialect: throwaway.dialect, schema: 'shop', workSchema: 'shop__tl_work' });
    expect(redactor.scrub(`token ${TOKEN}`)).toBe('token ***');
    await expect(project.target.warehouse.open(project.target.config, { root: project.root })).rejects.toThrow(/no throwaway server at db\.example\.internal/);
  });

  it('compiles every model of the golden project, every name through its own quoting', async () => {
    const project = await loadProject({ projectDir: shopWithThrowawayTarget(), target: 'throwaway', env: {}, registries: { warehouses } });
    const analysis = analyseWithSources(project, seedSourceColumns(), true);
    expect(project.order.length).toBeGreaterThan(0);
    for (const model of project.order) {
      const script = modelScript(project, analysis, project.models.get(model)!).script;
      expect(script).toContain(`for target throwaway (throwaway)`);
      expect(script).toContain(`CREATE TABLE [shop__tl_work].`);
      // A double quote would be an identifier quoted by hand, past the dialect (or another dialect's quoting).
      expect(script, model).not.toContain('"');
    }
  });

  it('is unknown without its registry line: the target is refused where it is written', async () => {
    const error = await loadProject({ projectDir: shopWithThrowawayTarget(), target: 'throwaway', env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field)).toContain('targets.throwaway.type');
  });
});

// ---- A destination, by the checklist of destinations/index.ts and destinations/README.md ("Writing a destination") ----

/** Step 1, protocol.ts: the (invented) vendor's facts. */
const PROTOCOL = {
  /** Most records per request; more is answered 413. */
  maxBatch: 500,
  /** `POST /v1/<object>/<operation>` with `{ records: [{ key, fields }] }`; `GET /v1/me` checks the token. */
  path: (object: string, operation: string) => `/v1/${encodeURIComponent(object)}/${operation}`,
  /** The answer to a batch: one result per record, by key. */
  results: (body: unknown) => ((body as { results?: ThrowawayResult[] } | undefined)?.results ?? []) as readonly ThrowawayResult[],
};
interface ThrowawayResult {
  readonly key: string;
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

/** Step 2, adapter.ts: the verbs, on the kit. */
const throwawayConfigSchema = z.strictObject({
  base_url: z.url().describe('The API root.'),
  token: z.string().min(8).describe('API token; never printed.'),
  batch_size: z.number().int().min(1).max(PROTOCOL.maxBatch).default(100).describe('Records per request.'),
});
type ThrowawayConfig = z.infer<typeof throwawayConfigSchema>;

class ThrowawaySession implements DestinationSession {
  readonly #client: ApiClient;

  constructor(config: ThrowawayConfig) {
    this.#client = new ApiClient({ vendor: 'throwaway', baseUrl: config.base_url, headers: bearer(config.token) });
  }

  async check(): Promise<void> {
    await this.#client.request('GET', '/v1/me', { signal: AbortSignal.timeout(10_000) });
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const outcomes = new Outcomes(batch, 'throwaway');
    const sent = outcomes.distinct();
    const body = { records: sent.map(({ record }) => ({ key: record.key, fields: record.fields })) };
    const answer = await this.#client.json<unknown>('POST', PROTOCOL.path(batch.object, batch.operation), { body, signal: batch.signal });
    const byKey = new Map(PROTOCOL.results(answer).map((r) => [r.key, r]));
    outcomes.settleAll(sent, ({ record }): RecordOutcome => {
      const result = byKey.get(record.key);
      if (!result) return { ok: false, code: 'no_outcome', message: 'no result for this record', retryable: true };
      return result.ok ? { ok: true } : rejected(result.code ?? 'rejected', result.message ?? 'rejected by the vendor');
    });
    return outcomes.done();
  }

  async close(): Promise<void> {}
}

const throwawayDestination = defineDestination<ThrowawayConfig>({
  type: 'throwaway',
  summary: 'a destination that exists only in test/checklists.test.ts',
  configSchema: throwawayConfigSchema,
  modes: SYNC_MODES,
  secrets: (config) => [config.token],
  limits: (config) => ({ maxBatchRecords: config.batch_size, maxBatchBytes: 1_000_000, requestsPerSecond: null, concurrency: 2, timeoutMs: 10_000 }),
  lockScope: (config, object) => `throwaway:${new URL(config.base_url).host}#${object}`,
  // Its vendor erases a record by deleting it (a list member by removing it): `tideline forget` sends those.
  erasure: (_config, sync) => ({ operation: sync.mode === 'audience' ? 'remove' : 'delete', method: 'the throwaway API: POST /v1/<object>/delete (or /remove for a list)' }),
  open: async (config) => new ThrowawaySession(config),
  emulator: {
    start: () => startThrowawayEmulator({ dir: '' }),
    sandboxConfig: (config, emulator) => ({ ...config, base_url: emulator.endpoint, token: TOKEN }),
  },
});

/** Step 3, emulator.ts: the vendor as its protocol says, on the emulator kit. */
async function startThrowawayEmulator(options: ContractOptions): Promise<EmulatorServer & { largest(): number }> {
  const refused = new Set(options.rejectKeys ?? []);
  const maxBatch = Math.min(options.maxBatchRecords ?? PROTOCOL.maxBatch, PROTOCOL.maxBatch);
  let largest = 0;
  const handle = (request: EmulatorRequest, store: RecordStore): EmulatorReply => {
    if (request.method === 'GET' && request.path === '/v1/me') return { status: 200, body: { ok: true } };
    const [, version, object, operation] = request.path.split('/').map(decodeURIComponent);
    const records = requestObject(request)?.['records'];
    if (request.method !== 'POST' || version !== 'v1' || !object || !operation || !Array.isArray(records)) return { status: 400, body: { error: 'bad request' } };
    if (records.length > maxBatch) return { status: 413, body: { error: `at most ${maxBatch} records` } };
    largest = Math.max(largest, records.length);
    const held = store.object(object);
    const results = (records as { key: string; fields: Record<string, unknown> }[]).map(({ key, fields }): ThrowawayResult => {
      if (refused.has(key)) return { key, ok: false, code: 'invalid', message: 'refused by the vendor' };
      if (operation === 'delete' || operation === 'remove') held.delete(key);
      else held.set(key, { ...held.get(key), ...fields });
      return { key, ok: true };
    });
    return { status: 200, body: { results } };
  };
  const server = await EmulatorServer.start(
    {
      authenticate: (request) => (requestHeader(request, 'authorization') === `Bearer ${TOKEN}` ? undefined : { status: 401, body: { error: 'unauthorized' } }),
      tooManyRequests: (state) => ({ status: 429, headers: { 'retry-after': String(Math.ceil(state.retryAfterMs / 1000)) }, body: { error: 'slow down' } }),
      serverError: (status) => ({ status, body: { error: 'internal' } }),
      handle,
    },
    { rateLimit: options.rateLimit },
  );
  return Object.assign(server, { largest: () => largest });
}

/** Step 4, contract.ts: the kit of the shared suite. */
const kit: ContractKit = {
  notApplicable: {},
  async start(options) {
    const emulator = await startThrowawayEmulator(options);
    return {
      destination: (o = {}) => ({
        type: 'throwaway',
        base_url: emulator.endpoint,
        token: o.badCredentials ? 'not-the-token' : TOKEN,
        ...(o.batchSize ? { batch_size: o.batchSize } : {}),
        retries: SUITE_RETRIES,
      }),
      object: (mode) => (mode === 'audience' ? 'members' : 'contacts'),
      records: async (object) => heldCopy(emulator.store.object(object)),
      maxBatch: () => emulator.largest(),
      rateLimited: () => emulator.count(429),
      close: () => emulator.close(),
    };
  },
};

/** Its line in the registry. */
const destinations = [...DESTINATIONS, throwawayDestination];

describe('a destination added by the checklist of destinations/README.md', () => {
  it('is a complete registration, as the registry test checks every registered one', () => {
    expectCompleteDestination(throwawayDestination);
  });

  // Its contract.ts in the shared suite, which runs every case against its emulator through the real engine.
  describeDestinationContract('throwaway', kit, { destinations });
});
