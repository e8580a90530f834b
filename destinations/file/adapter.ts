import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, truncate, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { defineDestination, StopSyncError, SYNC_MODES, type Batch, type CurrentList, type DestinationContext, type DestinationSession, type FieldValue, type RecordOutcome } from '../destination.js';
import { FileEmulator } from './emulator.js';

export const fileConfigSchema = z.strictObject({
  /** Folder the files go to, relative to the project root. */
  path: z.string().min(1),
  format: z.enum(['csv', 'jsonl']).default('jsonl'),
  /** Records per write. */
  batch_size: z.number().int().min(1).max(100_000).default(5000),
  full_list: z
    .boolean()
    .default(false)
    .describe(
      "`true`: each run that succeeds also writes `<run>.full.<ext>`, every record the sync then holds (the day's whole call list), beside the change file, with the same columns and its own manifest (`list: full`); the previous full list is then deleted, so the folder never keeps someone who left. Written even when nothing changed.",
    ),
});
export type FileConfig = z.infer<typeof fileConfigSchema>;

/** The column carrying each row's operation (upsert, delete, add, remove…) in every file. */
export const OP_COLUMN = '_op';
/** An events sync's rows (`_op: track`) carry the event's name and time in these columns, after the key. */
export const EVENT_COLUMNS = ['_event', '_event_time'] as const;

/** What a run's manifest says: a consumer reads a data file only once its manifest exists. */
export interface Manifest {
  /** `changes`: a run's changes, to replay in order; `full`: the whole list after a run (full_list), to read alone. */
  readonly list: 'changes' | 'full';
  readonly sync: string;
  readonly run_id: string;
  readonly object: string;
  readonly format: 'csv' | 'jsonl';
  readonly file: string;
  readonly records: number;
  readonly operations: Readonly<Record<string, number>>;
  readonly columns: readonly string[];
  readonly sha256: string;
  /**
   * False when the run stopped early, or died and the file was recovered by the next run: it then holds exactly the
   * records the run's journal recorded as delivered (the rest are in a later run's file), never a row twice.
   */
  readonly complete: boolean;
  readonly finished_at: string;
  /**
   * Set when `tideline forget` rewrote the file without an erased person's rows (records, operations and sha256 then
   * describe the file as rewritten): when, and how many rows it has taken out in all. A consumer that copied the file
   * earlier sees the manifest change and takes the file again (see destinations/README.md, "file").
   */
  readonly erased_at?: string;
  readonly erased_rows?: number;
}

/**
 * Files: one data file per run (CSV or JSON Lines) in `<path>/<sync>/`, each with a `.manifest.json` written last.
 * Every row carries its operation in `_op`, so a consumer replays the files in order to hold what the sync holds.
 * A record is accepted once written to the file and flushed to disk. A run that dies leaves `<run>.<ext>.partial`
 * (or, dying while finishing, a data file without a manifest). The next run of the sync cuts that file to the
 * records the dead run's journal recorded as delivered (`DestinationContext.interruptedRuns`: rows are written in
 * the order their outcomes are journaled, so they are its first rows), renames it and writes its manifest with
 * `complete: false`; the records cut are sent again in the new run's file. So every manifested row was delivered
 * once: no row is in two manifested files, and none is lost. A file of a run the state does not know (state reset)
 * is kept whole, with a warning.
 */
export const file = defineDestination<FileConfig>({
  type: 'file',
  summary: 'CSV or JSON Lines files, one per run, each with a manifest',
  configSchema: fileConfigSchema,
  modes: SYNC_MODES,
  secrets: () => [],
  limits: (config) => ({ maxBatchRecords: config.batch_size, maxBatchBytes: 256 * 1024 * 1024, requestsPerSecond: null, concurrency: 1, timeoutMs: 120_000 }),
  checkSync: (config, sync) => [
    ...[OP_COLUMN, ...EVENT_COLUMNS].flatMap((reserved) =>
      sync.fields.includes(reserved) || sync.keyField === reserved ? [{ at: ['fields', reserved], message: `"${reserved}" is a column the file destination writes itself (the operation, an event's name and time)` }] : [],
    ),
    // Events are sent once and never held as a list: each run's file already holds exactly the new ones.
    ...(config.full_list && sync.mode === 'events' ? [{ at: ['mode'], message: "the destination's `full_list` writes the records a sync holds; an events sync holds none (each run's file has its new events): use a destination without full_list" }] : []),
  ],
  events: { maxAgeDays: () => undefined, deduplication: undefined },
  lockScope: (config, object) => `file:${config.path}#${object}`,
  // The files are the only copy Tideline wrote: erasing a person is rewriting every file of the sync's folder without
  // their rows (FileSession.forget).
  erasure: () => ({ operation: 'forget', method: "file: every data file of the sync's folder rewritten without the erased keys' rows (temporary file, fsync, rename) and its manifest updated (destinations/README.md, \"file\")" }),
  open: async (config, context) => new FileSession(config, context),
  currentList: {
    wanted: (config) => config.full_list,
    write: writeFullList,
  },
  recoverInterrupted: async (config, context) => {
    const dir = syncDir(config, context);
    if (existsSync(dir)) await recoverUnfinished(dir, context);
  },
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
    this.#dir = syncDir(config, context);
    this.#columns = [OP_COLUMN, context.keyField, ...(context.mode === 'events' ? EVENT_COLUMNS : []), ...context.fields.map((f) => f.name)];
    this.#base = `${context.runId}.${config.format}`;
  }

  async check(): Promise<void> {
    // An erasure creates nothing: a folder that is not there holds nobody (forget).
    if (this.context.erasure) return;
    try {
      await mkdir(this.#dir, { recursive: true });
    } catch (error) {
      throw new StopSyncError(`cannot create the folder ${this.#dir}: ${(error as Error).message}`);
    }
  }

  async apply(batch: Batch): Promise<readonly RecordOutcome[]> {
    // An erasure writes no change file: it takes the keys' rows out of the files already written.
    if (batch.operation === 'forget') return this.forget(batch);
    if (!this.#handle) {
      this.#handle = await open(join(this.#dir, `${this.#base}.partial`), 'a');
      if (this.config.format === 'csv') await this.write(stringify([this.#columns]));
    }
    const event = (r: (typeof batch.records)[number]) => (r.event ? { [EVENT_COLUMNS[0]]: r.event.name, [EVENT_COLUMNS[1]]: r.event.time } : {});
    const rows = batch.records.map((r) => ({ [OP_COLUMN]: batch.operation, [batch.keyField]: r.key, ...event(r), ...r.fields }) as Record<string, FieldValue>);
    await this.write(formatRows(this.config.format, this.#columns, rows));
    // Accepted means on disk: the journal will say so, and a recovery trusts the rows the journal counts.
    await this.#handle!.datasync();
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
      list: 'changes',
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
    await writeManifest(this.#dir, manifest);
    return { file: join(this.#dir, this.#base), records: this.#records };
  }

  async close(): Promise<void> {
    await this.#handle?.close();
  }

  private async write(text: string): Promise<void> {
    this.#hash.update(text);
    await this.#handle!.write(text);
  }

  /**
   * Erases the batch's keys from every manifested file of the sync's folder (change files and the full list): each
   * file holding one of them is rewritten without those rows, to a temporary file that is flushed and then renamed
   * over it, so a crash leaves the old file or the new one, never a mix; then its manifest is rewritten (atomically,
   * writeManifest) with the new records, operations and sha256. A crash between the two leaves a manifest whose
   * sha256 is not its file's: the next erasure (a re-run) finds it so and writes the manifest again. A key is erased
   * once no file holds it. A file a run left unfinished (`.partial`, or a data file without its manifest) is not
   * touched: the next run cuts it to the rows its journal counts, which taking rows out would shift, so a key found
   * there is refused, retryable, until a run of the sync has finished that file.
   */
  private async forget(batch: Batch): Promise<readonly RecordOutcome[]> {
    const keys = new Set(batch.records.map((r) => r.key));
    if (!existsSync(this.#dir)) return batch.records.map(() => ({ ok: true }));
    const names = await readdir(this.#dir);
    // What an erasure that died left: copies being written, which may still hold the rows being erased.
    for (const name of names.filter((n) => n.endsWith(ERASING))) await rm(join(this.#dir, name), { force: true });
    const files = new Set(names.filter((n) => n.endsWith('.manifest.json')).map((n) => n.slice(0, -'.manifest.json'.length)));
    const unfinished = new Set<string>();
    for (const name of names) {
      if (name.endsWith('.manifest.json') || name.endsWith(ERASING) || name.endsWith(MANIFEST_TEMP)) continue;
      // A full list a run deleted meanwhile (it replaced it) holds nobody any more.
      if (files.has(name)) await eraseRows(this.#dir, name, keys).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
      else if (/\.(csv|jsonl)(\.partial)?$/.test(name)) for (const key of await keysIn(join(this.#dir, name), keys)) unfinished.add(key);
    }
    return batch.records.map((r): RecordOutcome =>
      unfinished.has(r.key)
        ? { ok: false, code: 'unfinished_file', message: "the sync's folder holds this record in the file of a run that did not finish: run the sync once (it finishes that file), then forget again", retryable: true }
        : { ok: true },
    );
  }
}

/** The suffix of a data file being rewritten by an erasure (see eraseRows). */
const ERASING = '.erasing';

/**
 * Rewrites one manifested data file without the rows of `keys` (the key is the column after `_op`, as the file's
 * manifest lists them), and its manifest; leaves both as they are when the file holds none of them and the manifest
 * describes it. Kept rows are copied byte for byte.
 */
async function eraseRows(dir: string, name: string, keys: ReadonlySet<string>): Promise<void> {
  const manifest = JSON.parse(await readFile(join(dir, `${name}.manifest.json`), 'utf8')) as Manifest;
  const path = join(dir, name);
  const buffer = await readFile(path);
  const { header, rows } = splitRows(buffer, manifest.format);
  const keyColumn = manifest.columns[1] ?? header[1];
  const kept = rows.filter((row) => keyColumn === undefined || !keys.has(String(row.values[keyColumn])));
  const removed = rows.length - kept.length;
  if (!removed && createHash('sha256').update(buffer).digest('hex') === manifest.sha256) return;
  const text = Buffer.concat([buffer.subarray(0, rows[0]?.start ?? buffer.length), ...kept.map((row) => buffer.subarray(row.start, row.end))]);
  if (removed) await replaceFile(path, ERASING, text);
  const operations: Record<string, number> = {};
  for (const row of kept) operations[String(row.values[OP_COLUMN])] = (operations[String(row.values[OP_COLUMN])] ?? 0) + 1;
  await writeManifest(dir, {
    ...manifest,
    records: kept.length,
    operations,
    sha256: createHash('sha256').update(text).digest('hex'),
    erased_at: new Date().toISOString(),
    erased_rows: (manifest.erased_rows ?? 0) + removed,
  });
}

/** The keys of `keys` that an unfinished data file holds (its whole rows). */
async function keysIn(path: string, keys: ReadonlySet<string>): Promise<string[]> {
  const { header, rows } = splitRows(await readFile(path), /\.csv(\.partial)?$/.test(path) ? 'csv' : 'jsonl');
  const found = new Set<string>();
  for (const row of rows) {
    const key = String(row.values[header[1] ?? Object.keys(row.values)[1] ?? '']);
    if (keys.has(key)) found.add(key);
  }
  return [...found];
}

/** Rows as the data files hold them: CSV lines in the columns' order, or one JSON object per line. */
function formatRows(format: FileConfig['format'], columns: readonly string[], rows: readonly Record<string, FieldValue>[]): string {
  return format === 'csv' ? stringify(rows.map((row) => columns.map((c) => csvCell(row[c])))) : rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
}

function csvCell(value: FieldValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

/** The folder of a sync's files. */
function syncDir(config: FileConfig, context: Pick<DestinationContext, 'root' | 'sync'>): string {
  return join(isAbsolute(config.path) ? config.path : resolve(context.root, config.path), context.sync);
}

/** The suffix of a manifest being written (see writeManifest). */
const MANIFEST_TEMP = '.manifest.json.tmp';

/**
 * Writes a file's manifest atomically: to a temporary name, flushed, then renamed into place. A consumer reads a data
 * file only once its manifest exists, so the manifest must never be seen half-written (a run killed while writing it
 * left an empty one, which a consumer and the next run took for complete).
 */
async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await replaceFile(join(dir, `${manifest.file}.manifest.json`), '.tmp', JSON.stringify(manifest, null, 2) + '\n');
}

/** Writes `path` whole or not at all: to `path + suffix`, flushed to disk, then renamed over it. */
async function replaceFile(path: string, suffix: string, content: string | Buffer): Promise<void> {
  const handle = await open(`${path}${suffix}`, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(`${path}${suffix}`, path);
}

/**
 * Finishes the files of runs that died: `<run>.<ext>.partial`, or a data file without its manifest (the run died
 * while finishing). Each is cut to the records its run delivered, when the state knows the run, then renamed and
 * given a manifest that lists exactly what it holds, marked incomplete.
 */
async function recoverUnfinished(dir: string, context: DestinationContext): Promise<void> {
  const names = new Set(await readdir(dir));
  const delivered = new Map((context.interruptedRuns ?? []).map((r) => [r.runId, r.delivered]));
  for (const name of names) {
    // A full list is never recovered: the next run that succeeds writes a whole one.
    if (FULL_LIST.test(name)) continue;
    // A manifest a dead run was writing: never renamed into place, so its data file has no manifest and is recovered.
    // A copy an erasure that died was writing (eraseRows): the file it was replacing stands; the copy may hold rows
    // being erased, so it goes.
    if (name.endsWith(MANIFEST_TEMP) || name.endsWith(ERASING)) {
      await rm(join(dir, name), { force: true });
      continue;
    }
    const partial = name.endsWith('.partial');
    const base = partial ? name.slice(0, -'.partial'.length) : name;
    const format = base.endsWith('.csv') ? 'csv' : base.endsWith('.jsonl') ? 'jsonl' : undefined;
    if (!format || (!partial && names.has(`${base}.manifest.json`))) continue;
    const runId = base.slice(0, base.lastIndexOf('.'));
    const path = join(dir, name);
    const keep = delivered.get(runId);
    if (keep === undefined) context.logger.warn({ file: base }, `the file of run ${runId} was left unfinished by a run the sync's state does not know: kept whole`);
    const rows = await readRows(path, format, keep);
    if (keep !== undefined && rows.records < keep) {
      context.logger.warn({ file: base, delivered: keep, rows: rows.records }, `the file of run ${runId} holds fewer rows (${rows.records}) than its journal recorded (${keep})`);
    }
    await truncate(path, rows.bytes);
    await rename(path, join(dir, base));
    const text = await readFile(join(dir, base));
    const manifest: Manifest = {
      list: 'changes',
      sync: context.sync,
      run_id: runId,
      object: context.object,
      format,
      file: base,
      records: rows.records,
      operations: rows.operations,
      columns: rows.columns,
      sha256: createHash('sha256').update(text).digest('hex'),
      complete: false,
      finished_at: new Date().toISOString(),
    };
    await writeManifest(dir, manifest);
  }
}

/**
 * The first `limit` whole records of a data file (all of them when undefined): how many bytes they take (the header
 * included), their operations and columns. A last record cut short by the crash is never counted.
 */
async function readRows(path: string, format: 'csv' | 'jsonl', limit: number | undefined): Promise<{ records: number; bytes: number; operations: Record<string, number>; columns: string[] }> {
  const { header, headerEnd, rows } = splitRows(await readFile(path), format);
  const taken = limit === undefined ? rows : rows.slice(0, limit);
  const operations: Record<string, number> = {};
  for (const row of taken) operations[String(row.values[OP_COLUMN])] = (operations[String(row.values[OP_COLUMN])] ?? 0) + 1;
  const columns = format === 'csv' ? header : [...new Set(taken.flatMap((row) => Object.keys(row.values)))];
  return { records: taken.length, bytes: taken.at(-1)?.end ?? headerEnd, operations, columns };
}

/** A whole row of a data file: where its bytes start and end (after its newline), and its values by column. */
interface Row {
  readonly start: number;
  readonly end: number;
  readonly values: Readonly<Record<string, unknown>>;
}

/**
 * The whole rows of a data file, each with its byte range, after the CSV header (`header`, ending at `headerEnd`; none
 * in JSON Lines). A row is whole once its newline is written: the writer ends every row with one, so a last row cut
 * short by a crash (or a CSV quote never closed) is left out.
 */
function splitRows(buffer: Buffer, format: 'csv' | 'jsonl'): { header: string[]; headerEnd: number; rows: Row[] } {
  if (format === 'jsonl') {
    const rows: Row[] = [];
    for (let start = 0, end = buffer.indexOf(0x0a); end >= 0; start = end + 1, end = buffer.indexOf(0x0a, start)) {
      rows.push({ start, end: end + 1, values: JSON.parse(buffer.subarray(start, end).toString('utf8')) as Record<string, unknown> });
    }
    return { header: [], headerEnd: 0, rows };
  }
  const records: { end: number; cells: string[] }[] = [];
  try {
    parse(buffer, {
      relax_column_count: true,
      on_record: (cells: string[], info: { bytes: number }) => {
        if (buffer[info.bytes - 1] === 0x0a) records.push({ end: info.bytes, cells });
        return null;
      },
    });
  } catch {
    // An unfinished last record (a quote never closed): the records before it stand.
  }
  const [head, ...body] = records;
  const header = head?.cells ?? [];
  const rows = body.map((r, i): Row => ({ start: i === 0 ? head!.end : body[i - 1]!.end, end: r.end, values: Object.fromEntries(header.map((column, j) => [column, r.cells[j]])) }));
  return { header, headerEnd: head?.end ?? 0, rows };
}

/** Names of full lists and what their writing leaves: `<run>.full.<ext>`, `.partial`, `.manifest.json`, `.manifest.json.tmp`. */
const FULL_LIST = /^[^.]+\.full\.(csv|jsonl)(\.partial|\.manifest\.json(\.tmp)?)?$/;

/**
 * Writes the full list of a run that succeeded (`full_list: true`): to `<run>.full.<ext>.partial`, flushed, renamed,
 * then its manifest, atomically; only then are older full lists deleted (manifest first, so that no manifest names a
 * missing file). A run dying at any point leaves the previous list whole, or the new one whole with its manifest, plus
 * leftovers without a manifest, which no consumer reads and the next full list removes.
 */
async function writeFullList(config: FileConfig, context: DestinationContext, list: CurrentList): Promise<Record<string, unknown>> {
  const dir = syncDir(config, context);
  await mkdir(dir, { recursive: true });
  const base = `${context.runId}.full.${config.format}`;
  const columns = [OP_COLUMN, context.keyField, ...context.fields.map((f) => f.name)];
  const hash = createHash('sha256');
  let records = 0;
  const handle = await open(join(dir, `${base}.partial`), 'w');
  try {
    const write = async (text: string) => {
      hash.update(text);
      await handle.write(text);
    };
    if (config.format === 'csv') await write(stringify([columns]));
    for await (const page of list.pages) {
      await write(formatRows(config.format, columns, page.map((r) => ({ [OP_COLUMN]: list.operation, [context.keyField]: r.key, ...r.fields }) as Record<string, FieldValue>)));
      records += page.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(join(dir, `${base}.partial`), join(dir, base));
  await writeManifest(dir, {
    list: 'full',
    sync: context.sync,
    run_id: context.runId,
    object: context.object,
    format: config.format,
    file: base,
    records,
    operations: records ? { [list.operation]: records } : {},
    columns,
    sha256: hash.digest('hex'),
    complete: true,
    finished_at: new Date().toISOString(),
  });
  const names = await readdir(dir);
  const older = names.filter((n) => FULL_LIST.test(n) && !n.startsWith(`${context.runId}.`));
  for (const name of older.filter((n) => n.endsWith('.manifest.json'))) await rm(join(dir, name), { force: true });
  for (const name of older.filter((n) => !n.endsWith('.manifest.json'))) await rm(join(dir, name), { force: true });
  return { file: join(dir, base), records };
}
