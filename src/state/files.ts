import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `text` through a temporary file and a rename, so that a reader in another process (a `tideline sync
 * --sandbox` beside a starting `tideline sandbox`, a second command reading the lock note, a scheduler reading
 * sync_results.json) sees the old file or the whole new one, never half of it.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}
