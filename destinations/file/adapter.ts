import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { defineDestination, StopSyncError, SYNC_MODES, type Batch, type DestinationContext, type DestinationSession, type FieldValue, type RecordOutcome } from '../destination.js';
import { FileEmulator } from './emulator.js';

export const fileConfigSchema = z.strictObject({
  /** Folder the files go to, relative to the project root. */
  path: z.string().min(1),
  format: z.enum(['csv', 'jsonl']).default('jsonl'),
  /** Records per write. */
  batch_size: z.number().int().min(1).max(100_000).default(5000),
});
export type FileConfig = z.infer<typeof fileConfigSchema>;

/** The column carrying each row's operation (upsert, delete, add, remove…) in every file. */
export const OP_COLUMN = '_op';

/** What a run's manifest says: a consumer reads a data file only once its manifest exists. */
export interface Manifest {
  readonly sync: string;
  readonly run_id: string;
  readonly object: string;
  readonly format: 'csv' | 'jsonl';
  readonly file: string;
  readonly records: number;
  readonly operations: Readonly<Record<string, number>>;
  readonly columns: readonly string[];
  readonly sha256: string;
  /** False when the run stopped early (or died and the file was recovered by the next run). */
  readonly complete: boolean;
  readonly finished_at: string;
}

/**
 * Files: one data file per run (CSV or JSON Lines) in `<path>/<sync>/`, each with a `.manifest.json` written last.
 * Every row carries its operation in `_op`, so a consumer replays the files in order to hold what the sync holds.
 * A record is accepted once written to the file. A run that dies leaves `<run>.<ext>.partial`; the next run of the
 * sync renames it and writes its manifest with `complete: false`, so no accepted record is lost.
 */
export const file = defineDestination<FileConfig>({
  type: 'file',
  summary: 'CSV or JSON Lines files, one per run, each with a manifest',
  configSchema: fileConfigSchema,
  modes: SYNC_MODES,
  secrets: () => [],
  limits: (config) => ({ maxBatchRecords: config.batch_size, maxBatchBytes: 256 * 1024 * 1024, requestsPerSecond: null, concurrency: 1, timeoutMs: 120_000 }),
  checkSync: (_config, sync) => (sync.fields.includes(OP_COLUMN) || sync.keyField === OP_COLUMN ? [{ at: ['fields', OP_COLUMN], message: `"${OP_COLUMN}" is the column that carries each row's operation` }] : []),
  lockScope: (config, object) => `file:${config.path}#${object}`,
  open: async (config, context) => new FileSession(config, context),
  emulator: {
    start: async (context) => new FileEmulator(join(context.dir, 'files')),
    sandboxConfig: (config, emulator) => ({ ...config, path: emulator.endpoint }),
  },
});

class FileSession implements DestinationSession {
  readonly #dir: string;
  readonly #columns: readonly string[];
  readonly #base: string;
  #handle: FileHandle | undefined;
  readonly #hash = createHash('sha256');
  #records = 0;
  readonly #operations: Record<string, number> = {};

  constructor(
    private readonly config: FileConfig,
    private readonly context: DestinationContext,
  ) {
    const root = isAbsolute(config.path) ? config.path : resolve(context.root, config.path);
    this.#dir = join(root, context.sync);
    this.#columns = [OP_COLUMN, context.keyField, ...context.fields.map((f) => f.name)];
    this.#base = `${context.runId}.${config.format}`;
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.#dir, { recursive: true });
    } catch (error) {
      throw new StopSyncError(`cannot create the folder ${this.#dir}: ${(error as Error).message}`);
    }
    await recoverPartials(this.#dir, this.context.sync, this.context.object);
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    if (!this.#handle) {
      this.#handle = await open(join(this.#dir, `${this.#base}.partial`), 'a');
      if (this.config.format === 'csv') await this.write(stringify([this.#columns]));
    }
    const rows = batch.records.map((r) => ({ [OP_COLUMN]: batch.operation, [batch.keyField]: r.key, ...r.fields }) as Record<string, FieldValue>);
    const text =
      this.config.format === 'csv'
        ? stringify(rows.map((row) => this.#columns.map((c) => csvCell(row[c]))))
        : rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
    await this.write(text);
    this.#records += rows.length;
    this.#operations[batch.operation] = (this.#operations[batch.operation] ?? 0) + rows.length;
    return batch.records.map(() => ({ ok: true }));
  }

  async finish(outcome: { complete: boolean }): Promise<Record<string, unknown> | void> {
    if (!this.#handle) return;
    await this.#handle.sync();
    await this.#handle.close();
    this.#handle = undefined;
    await rename(join(this.#dir, `${this.#base}.partial`), join(this.#dir, this.#base));
    const manifest: Manifest = {
      sync: this.context.sync,
      run_id: this.context.runId,
      object: this.context.object,
      format: this.config.format,
      file: this.#base,
      records: this.#records,
      operations: this.#operations,
      columns: this.#columns,
      sha256: this.#hash.digest('hex'),
      complete: outcome.complete,
      finished_at: new Date().toISOString(),
    };
    await writeFile(join(this.#dir, `${this.#base}.manifest.json`), JSON.stringify(manifest, null, 2) + '\n');
    return { file: join(this.#dir, this.#base), records: this.#records };
  }

  async close(): Promise<void> {
    await this.#handle?.close();
  }

  private async write(text: string): Promise<void> {
    this.#hash.update(text);
    await this.#handle!.write(text);
  }
}

function csvCell(value: FieldValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

/** Finishes the files of runs that died: renamed, with a manifest saying they are incomplete. */
async function recoverPartials(dir: string, sync: string, object: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.partial')) continue;
    const base = name.slice(0, -'.partial'.length);
    const format = base.endsWith('.csv') ? 'csv' : 'jsonl';
    const text = await readFile(join(dir, name), 'utf8');
    const records = format === 'csv' ? Math.max(0, parse(text, { relax_column_count: true }).length - 1) : text.split('\n').filter((l) => l.length > 0).length;
    await rename(join(dir, name), join(dir, base));
    if (existsSync(join(dir, `${base}.manifest.json`))) continue;
    const manifest: Manifest = {
      sync,
      run_id: base.slice(0, base.lastIndexOf('.')),
      object,
      format,
      file: base,
      records,
      operations: {},
      columns: [],
      sha256: createHash('sha256').update(text).digest('hex'),
      complete: false,
      finished_at: new Date().toISOString(),
    };
    await writeFile(join(dir, `${base}.manifest.json`), JSON.stringify(manifest, null, 2) + '\n');
  }
}
