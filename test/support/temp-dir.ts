import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Folders the test helpers made during the current test file. */
const made = new Set<string>();

/**
 * A fresh folder under the system's temporary directory, removed when the test file that made it ends
 * (test/setup/per-file.ts). Left behind, the suite's projects and warehouse files filled /tmp with about 3,000 folders
 * a run.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Removes the folders tempDir made; after each test file, once the file's own hooks closed what used them. */
export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}
