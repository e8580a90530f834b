import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';

/**
 * Compares text with a golden file. `UPDATE_GOLDEN=1` rewrites the file instead (review the diff before
 * committing); a missing golden file fails with that instruction rather than being created silently.
 */
export function expectGolden(path: string, actual: string): void {
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing: run UPDATE_GOLDEN=1 npx vitest run test/golden and review it`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
