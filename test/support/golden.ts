import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';
import type { DialectName } from '../../src/dialects/dialect.js';
import { DIALECTS } from '../../src/dialects/registry.js';
import type { Engine } from './engines.js';

/** The command that rewrites every golden file; README.md's Development section gives the same. */
export const UPDATE_GOLDEN_COMMAND =
  'UPDATE_GOLDEN=1 npx vitest run test/golden test/sync-golden test/dialect-semantics models';

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
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing: run ${UPDATE_GOLDEN_COMMAND} and review it`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

/** The dialects the test engines run for real (test/support/engines.ts). */
const EXECUTED: readonly Engine['name'][] = ['duckdb', 'postgres'];

/**
 * Dialects whose compiled scripts get golden files: those no test executes, for which the golden file is the only
 * check. DuckDB and PostgreSQL run the same scripts against results worked out by hand, and the code they share with
 * the other dialects is pinned by these dialects' files; what is theirs alone is their primitives, which keep a golden
 * file for every dialect (test/dialect-semantics.test.ts). A dialect added to the registry and not executed here gets
 * golden files without further edits.
 */
export const GOLDEN_DIALECTS: readonly DialectName[] = (Object.keys(DIALECTS) as DialectName[]).filter((name) => !EXECUTED.includes(name as Engine['name']));

/**
 * Compares a variant of a script (a full refresh, one option changed) with a golden file holding only what the
 * variant changes, as one unified-diff hunk, instead of a second full copy of the base script whose golden file
 * already pins the rest. A variant that changes nothing fails: it would check nothing.
 */
/**
 * The `targets:` of a golden project (its tideline.yml after `name:`): one per dialect, offline, so that `--target
 * <dialect>` compiles the same model for each; DuckDB is the default.
 */
export const GOLDEN_TARGETS = `targets:
  duckdb: { type: duckdb }
  postgres: { type: postgres, url: 'postgres://golden@127.0.0.1/golden' }
  bigquery: { type: bigquery, project: acme-data, dataset: analytics }
  snowflake: { type: snowflake, account: acme, user: TIDELINE, password: x, warehouse: W, database: ANALYTICS, schema: analytics }
target: duckdb
schema: analytics
`;

export function expectGoldenVariant(path: string, base: string, variant: string): void {
  const hunk = changedLines(base, variant);
  expect(hunk, 'the variant compiles to the same script as its base').not.toBe('');
  expectGolden(path, hunk);
}

/** Lines kept around the change for a reader; more would make the file follow unrelated edits of the base. */
const CONTEXT = 2;

/** The lines between the longest common head and tail of two texts, as a unified-diff hunk; '' when they are equal. */
export function changedLines(base: string, variant: string): string {
  const a = base.split('\n');
  const b = variant.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  if (head === a.length && head === b.length) return '';
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const before = a.slice(Math.max(0, head - CONTEXT), head);
  const after = a.slice(a.length - tail, Math.min(a.length, a.length - tail + CONTEXT));
  const removed = a.slice(head, a.length - tail);
  const added = b.slice(head, b.length - tail);
  const start = head - before.length + 1;
  const range = (length: number) => `${start},${before.length + length + after.length}`;
  return [
    '--- base',
    '+++ variant',
    `@@ -${range(removed.length)} +${range(added.length)} @@`,
    ...before.map((line) => ` ${line}`),
    ...removed.map((line) => `-${line}`),
    ...added.map((line) => `+${line}`),
    ...after.map((line) => ` ${line}`),
  ].join('\n') + '\n';
}
