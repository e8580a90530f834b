import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The shared public datasets (CDNOW, FEBRL, online retail), read in place and never copied into the repository:
 * `TIDELINE_DATASETS`, or ../shared/datasets from the project root. Undefined when absent (a user's fresh clone);
 * callers skip their tests and say so loudly with `warnDatasetsMissing`.
 */
export function datasetsDir(): string | undefined {
  const dir = resolve(ROOT, process.env['TIDELINE_DATASETS'] ?? '../shared/datasets');
  return existsSync(dir) ? dir : undefined;
}

export function datasetPath(...parts: string[]): string | undefined {
  const dir = datasetsDir();
  const path = dir ? join(dir, ...parts) : undefined;
  return path && existsSync(path) ? path : undefined;
}

export function warnDatasetsMissing(what: string): void {
  if (process.env['TIDELINE_REQUIRE_DATASETS'] === '1') throw new Error(`datasets folder not found (TIDELINE_DATASETS); required for ${what}`);
  console.warn(`\n[tideline tests] WARNING: datasets folder not found (set TIDELINE_DATASETS): ${what} SKIPPED\n`);
}
