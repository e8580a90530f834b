import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomically } from './files.js';

/**
 * A note of who holds a project's sync locks, in `target/sync.lock.json`, for warehouses a second process cannot
 * open at all while the first runs (embedded DuckDB: Connection.exclusive). That process cannot read the locks in
 * the state schema, so the note lets it say which run holds them and since when. Information only: the warehouse's
 * own exclusivity is the lock; the note is trusted only when its pid is the one the warehouse names.
 */
export interface LockNote {
  readonly runId: string;
  readonly syncs: readonly string[];
  readonly host: string;
  readonly pid: number;
  readonly since: string;
}

const noteSchema = z.object({ runId: z.string(), syncs: z.array(z.string()), host: z.string(), pid: z.number(), since: z.string() });

export function lockNotePath(targetDir: string): string {
  return join(targetDir, 'sync.lock.json');
}

export async function readLockNote(targetDir: string): Promise<LockNote | undefined> {
  try {
    return noteSchema.parse(JSON.parse(await readFile(lockNotePath(targetDir), 'utf8')));
  } catch {
    return undefined;
  }
}

/** Writes the note whole (see writeFileAtomically), so that a second command reads the whole note or none. */
export async function writeLockNote(targetDir: string, note: LockNote): Promise<void> {
  await writeFileAtomically(lockNotePath(targetDir), JSON.stringify(note, null, 2) + '\n');
}

/** Removes the note if this process wrote it. */
export async function removeLockNote(targetDir: string, pid = process.pid): Promise<void> {
  if ((await readLockNote(targetDir))?.pid === pid) await rm(lockNotePath(targetDir), { force: true });
}
