import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Emulator, EmulatorState } from '../destination.js';
import type { HeldEvent } from '../emulator-kit/contract.js';
import type { Manifest } from './adapter.js';

const OP = '_op';

/**
 * The file destination's stand-in for an API: a folder. Its state is what a consumer holds after replaying every
 * change file that has a manifest, in run order (upserts merge fields, deletes and removals drop the key), each
 * checked against its manifest's sha256 and record count (a file an erasure rewrote must still match).
 */
export class FileEmulator implements Emulator {
  constructor(readonly endpoint: string) {}

  /** The files are the state, and stay in the sandbox folder. */
  async save(): Promise<unknown> {
    return {};
  }

  async state(): Promise<EmulatorState> {
    const { objects, files } = await this.replay();
    return { objects, requests: { writes: files } };
  }

  /** Every event row (`_op: track`) of an object's manifested files, in run order: each copy a consumer would read. */
  async events(object: string): Promise<HeldEvent[]> {
    return (await this.replay()).events[object] ?? [];
  }

  private async replay(): Promise<{ objects: Record<string, Record<string, Record<string, unknown>>>; files: number; events: Record<string, HeldEvent[]> }> {
    await mkdir(this.endpoint, { recursive: true });
    const objects: Record<string, Record<string, Record<string, unknown>>> = {};
    const events: Record<string, HeldEvent[]> = {};
    let files = 0;
    for (const sync of (await readdir(this.endpoint, { withFileTypes: true })).filter((e) => e.isDirectory())) {
      const dir = join(this.endpoint, sync.name);
      const manifests = (await readdir(dir)).filter((n) => n.endsWith('.manifest.json')).sort();
      for (const name of manifests) {
        const manifest = JSON.parse(await readFile(join(dir, name), 'utf8')) as Manifest;
        // A full list restates what the change files already hold: replaying it would add nothing.
        if (manifest.list === 'full' || !existsSync(join(dir, manifest.file))) continue;
        files++;
        const records = (objects[manifest.object] ??= {});
        // A careful consumer checks a file against its manifest before taking it: the digest, and the rows counted.
        const data = await readFile(join(dir, manifest.file));
        const rows = parseRows(data.toString('utf8'), manifest.format);
        if (createHash('sha256').update(data).digest('hex') !== manifest.sha256 || rows.length !== manifest.records) {
          throw new Error(`${sync.name}/${manifest.file}: the file does not match its manifest (sha256 or records)`);
        }
        for (const row of rows) {
          const { [OP]: op, ...rest } = row;
          const keyField = Object.keys(rest)[0]!;
          const { [keyField]: key, ...fields } = rest;
          const id = String(key);
          if (op === 'delete' || op === 'remove') delete records[id];
          else records[id] = { ...records[id], ...fields };
          if (op === 'track') (events[manifest.object] ??= []).push({ id, fields });
        }
      }
    }
    return { objects, files, events };
  }

  async close(): Promise<void> {}
}

function parseRows(text: string, format: 'csv' | 'jsonl'): Record<string, unknown>[] {
  if (format === 'jsonl') return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  // An empty cell is a value that was not sent (null under null_policy: skip).
  return rows.map((row) => Object.fromEntries(Object.entries(row).filter(([, v]) => v !== '')));
}
