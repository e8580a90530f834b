import { z } from 'zod';
import type { LogicalType, TableRef } from '../../src/dialects/dialect.js';
import { joinSql, sql } from '../../src/dialects/sql.js';
import { NAME_PATTERN } from '../../src/project/names.js';
import { WarehouseError, type ColumnSpec, type Connection, type Value } from '../../src/warehouses/connection.js';
import { openTarget } from '../../src/warehouses/registry.js';
import {
  BatchRejectedError,
  defineDestination,
  TransientError,
  type Batch,
  type DestinationContext,
  type DestinationError,
  type DestinationSession,
  type RecordOutcome,
} from '../destination.js';
import { TableEmulator } from './emulator.js';

export const tableConfigSchema = z.strictObject({
  /** A warehouse target of tideline.yml (default: the project's own target). */
  target: z.string().min(1).optional(),
  /** Or a local DuckDB database file, relative to the project root (the sandbox uses this). */
  database: z.string().min(1).optional(),
  /** Schema (BigQuery dataset) of the tables; each sync's `object` names its table. A name like the table's. */
  schema: z.string().regex(NAME_PATTERN, 'a schema name of letters, digits and underscores, starting with a letter or underscore'),
  batch_size: z.number().int().min(1).max(50_000).default(5000),
});
export type TableConfig = z.infer<typeof tableConfigSchema>;

/** The column stamped with the time a row was last written. */
export const SYNCED_AT = '_synced_at';
/** An events sync's table also holds each event's name and time. */
export const EVENT_NAME = '_event';
export const EVENT_TIME = '_event_time';

/**
 * A table in any configured warehouse target: upserts by key through the Dialect's MERGE, deletes by key (and erases
 * by key: `tideline forget`). The sync's
 * `object` is the table name in `schema`; the table is created on first use with the key column, the mapped fields
 * (typed from the model) and `_synced_at`. A batch the warehouse refuses for its data (a constraint, a conversion)
 * is split by the engine until the offending row is alone; other warehouse failures are transient.
 */
export const table = defineDestination<TableConfig>({
  type: 'table',
  summary: 'upserts into a table of any configured warehouse target',
  configSchema: tableConfigSchema,
  modes: ['upsert', 'update', 'insert', 'mirror', 'audience', 'events'],
  events: { maxAgeDays: () => undefined, deduplication: 'one row per event id: an event whose id the table holds is not written again' },
  secrets: () => [],
  limits: (config) => ({ maxBatchRecords: config.batch_size, maxBatchBytes: 512 * 1024 * 1024, requestsPerSecond: null, concurrency: 1, timeoutMs: 600_000 }),
  checkSync: (config, sync, project) => {
    const problems = [];
    if (config.target !== undefined && config.database !== undefined) problems.push({ at: ['destination'], message: 'the destination names a `target` and a `database`; keep one' });
    if (config.target !== undefined && !project.targets.includes(config.target)) {
      problems.push({ at: ['destination'], message: `the destination writes to target "${config.target}", which tideline.yml does not define (targets: ${project.targets.join(', ') || 'none'})` });
    }
    if (!NAME_PATTERN.test(sync.object)) problems.push({ at: ['object'], message: 'a table name of letters, digits and underscores, starting with a letter or underscore' });
    for (const [name, at] of [[sync.keyField, ['key']] as const, ...sync.fields.map((f) => [f, ['fields', f]] as const)]) {
      if (!NAME_PATTERN.test(name) || [SYNCED_AT, EVENT_NAME, EVENT_TIME].includes(name)) problems.push({ at: [...at], message: `"${name}" cannot be a column name (letters, digits, underscores; not ${SYNCED_AT}, ${EVENT_NAME} or ${EVENT_TIME})` });
    }
    return problems;
  },
  lockScope: (config, object) => `table:${config.database ?? config.target ?? '(project target)'}:${config.schema}.${object}`,
  // The table is the user's own: erasing a person is deleting their rows by key, whatever the mode wrote them.
  erasure: (config, sync) => ({ operation: 'forget', method: `DELETE FROM ${config.schema}.${sync.object} WHERE <key> IN (…) in the destination warehouse (the erased keys' rows)` }),
  open: async (config, context) => {
    const connection = config.database !== undefined ? await openTarget({ type: 'duckdb', path: config.database }, { root: context.root }) : await context.warehouse(config.target);
    return new TableSession(config, context, connection, config.database !== undefined);
  },
  emulator: {
    start: async (context) => new TableEmulator(`${context.dir}/tables.duckdb`),
    sandboxConfig: (config, emulator) => ({ ...config, target: undefined, database: emulator.endpoint }),
  },
});

class TableSession implements DestinationSession {
  readonly #table: TableRef;
  readonly #staging: TableRef;
  readonly #columns: readonly ColumnSpec[];

  constructor(
    config: TableConfig,
    private readonly context: DestinationContext,
    private readonly connection: Connection,
    private readonly ownsConnection: boolean,
  ) {
    this.#table = { schema: config.schema, name: context.object };
    this.#staging = { schema: config.schema, name: `${context.object}__tl_stage` };
    this.#columns = [
      { name: context.keyField, type: 'string' },
      // An events sync's rows hold the event's name and time after its id.
      ...(context.mode === 'events' ? [{ name: EVENT_NAME, type: 'string' as const }, { name: EVENT_TIME, type: 'timestamp' as const }] : []),
      ...context.fields.map((f) => ({ name: f.name, type: f.type ?? ('string' satisfies LogicalType) })),
      { name: SYNCED_AT, type: 'timestamp' },
    ];
  }

  async check(): Promise<void> {
    const d = this.connection.dialect;
    // An erasure creates nothing: a table that is not there holds nobody (apply).
    if (this.context.erasure) return;
    await this.guard(async () => {
      await this.connection.execute(d.createSchema(this.#table.schema!));
      await this.connection.execute(d.createTable(this.#table, this.#columns));
      await this.connection.execute(d.dropTable(this.#staging));
      await this.connection.execute(d.createTable(this.#staging, this.#columns));
    });
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    const d = this.connection.dialect;
    const key = d.id(this.context.keyField);
    const keys = joinSql(batch.records.map((r) => d.string(r.key)));
    // `forget` (tideline forget) deletes the same way: a key the table no longer holds deletes nothing, which is success.
    if (batch.operation === 'delete' || batch.operation === 'remove' || batch.operation === 'forget') {
      if (this.context.erasure && (await this.guard(() => this.connection.columns(this.#table))) === undefined) return batch.records.map(() => ({ ok: true }));
      await this.guard(() => this.connection.execute(sql`DELETE FROM ${d.table(this.#table)} WHERE ${key} IN (${keys})`));
      return batch.records.map(() => ({ ok: true }));
    }
    let existing = new Set<string>();
    if (batch.operation === 'insert' || batch.operation === 'update' || batch.operation === 'track') {
      const rows = await this.guard(() => this.connection.query(sql`SELECT ${key} AS ${d.id('k')} FROM ${d.table(this.#table)} WHERE ${key} IN (${keys})`));
      existing = new Set(rows.map((r) => String(r['k'])));
    }
    const refused = (key: string): RecordOutcome | undefined => {
      if (batch.operation === 'insert' && existing.has(key)) return { ok: false, code: 'duplicate', message: 'a row with this key exists', retryable: false, alreadyExists: true };
      if (batch.operation === 'update' && !existing.has(key)) return { ok: false, code: 'not_found', message: 'no row with this key', retryable: false };
      return undefined;
    };
    // An event the table holds (sent again after a lost answer or a resync) is there already: written once.
    const writes = batch.records.filter((r) => refused(r.key) === undefined && !(batch.operation === 'track' && existing.has(r.key)));
    if (writes.length) {
      const now = new Date();
      const event = (r: (typeof writes)[number]): Value[] => (this.context.mode === 'events' ? [r.event?.name ?? null, r.event ? new Date(r.event.time) : null] : []);
      const rows: Value[][] = writes.map((r) => [r.key, ...event(r), ...this.context.fields.map((f) => r.fields[f.name] ?? null), now]);
      const names = this.#columns.map((c) => c.name);
      const source = sql`SELECT ${joinSql(names.map((n) => d.id(n)))} FROM ${d.table(this.#staging)}`;
      const keepWhenNull = this.context.nullPolicy === 'skip' ? this.context.fields.map((f) => f.name) : [];
      await this.guard(async () => {
        await this.connection.execute(sql`DELETE FROM ${d.table(this.#staging)} WHERE 1 = 1`);
        await this.connection.insertRows(this.#staging, this.#columns, [rows]);
        await this.connection.execute(
          batch.operation === 'insert' || batch.operation === 'track'
            ? sql`INSERT INTO ${d.table(this.#table)} (${joinSql(names.map((n) => d.id(n)))}) ${source}`
            : d.upsert(this.#table, source, [this.context.keyField], names, { keepWhenNull }),
        );
      });
    }
    return batch.records.map((r) => refused(r.key) ?? { ok: true });
  }

  async close(): Promise<void> {
    await this.connection.execute(this.connection.dialect.dropTable(this.#staging)).catch(() => undefined);
    if (this.ownsConnection) await this.connection.close();
  }

  /** Warehouse failures as the engine's typed errors: bad data splits the batch, anything else is retried. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw classify(error);
    }
  }
}

function classify(error: unknown): DestinationError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error instanceof WarehouseError ? (error.cause as { code?: unknown } | undefined)?.code : undefined) as string | undefined;
  // SQLSTATE classes 22 (data exception) and 23 (integrity constraint); DuckDB names its errors in the message.
  if ((typeof code === 'string' && /^2[23]/.test(code)) || /constraint|conversion|out of range|invalid input|violat/i.test(message)) {
    // Only the first part: PostgreSQL's detail ("Failing row contains …") would copy customer data into messages.
    return new BatchRejectedError(`the warehouse refused the rows: ${message.split('\n')[0]!.split(' — ')[0]}`, 'rejected_by_warehouse');
  }
  return new TransientError(`the warehouse failed: ${message.split('\n')[0]}`);
}
