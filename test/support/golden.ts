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
 * variant changes, as unified-diff hunks, instead of a second full copy of the base script whose golden file
 * already pins the rest (see changedLines). A variant that changes nothing fails: it would check nothing.
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

/** Lines kept around each change for a reader; more would make the file follow unrelated edits of the base. */
const CONTEXT = 2;

/**
 * What `variant` changes in `base`, as a unified diff: one hunk per change, with CONTEXT lines around it (changes
 * closer than twice that share a hunk); '' when the texts are equal. The lines matched are a longest common
 * subsequence, so a variant that adds steps in several places (a `probabilistic` block: tables to drop, steps,
 * companions to swap in) keeps one small hunk per place instead of one hunk spanning the script.
 */
export function changedLines(base: string, variant: string): string {
  const a = base.split('\n');
  const b = variant.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  if (head === a.length && head === b.length) return '';
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  // Edit script of the differing middle: lengths of the longest common subsequences of its suffixes, then a walk.
  const n = a.length - head - tail;
  const m = b.length - head - tail;
  const lcs = new Int32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[at(i, j)] = a[head + i] === b[head + j] ? lcs[at(i + 1, j + 1)]! + 1 : Math.max(lcs[at(i + 1, j)]!, lcs[at(i, j + 1)]!);
  type Op = { readonly kind: ' ' | '-' | '+'; readonly line: string };
  const ops: Op[] = a.slice(0, head).map((line) => ({ kind: ' ', line }));
  for (let i = 0, j = 0; i < n || j < m; ) {
    if (i < n && j < m && a[head + i] === b[head + j]) {
      ops.push({ kind: ' ', line: a[head + i]! });
      i++;
      j++;
    } else if (j === m || (i < n && lcs[at(i + 1, j)]! >= lcs[at(i, j + 1)]!)) ops.push({ kind: '-', line: a[head + i++]! });
    else ops.push({ kind: '+', line: b[head + j++]! });
  }
  ops.push(...a.slice(a.length - tail).map((line): Op => ({ kind: ' ', line })));
  // Hunks: runs of changes with at most 2·CONTEXT equal lines between them, plus CONTEXT lines each side.
  const hunks: string[] = [];
  let k = 0;
  let lineA = 1;
  let lineB = 1;
  while (k < ops.length) {
    if (ops[k]!.kind === ' ') {
      k++;
      lineA++;
      lineB++;
      continue;
    }
    const first = Math.max(0, k - CONTEXT);
    let last = k;
    for (let x = k; x < ops.length; x++) {
      if (ops[x]!.kind !== ' ') last = x;
      else if (x - last > 2 * CONTEXT) break;
    }
    const end = Math.min(ops.length, last + CONTEXT + 1);
    const startA = lineA - (k - first);
    const startB = lineB - (k - first);
    const body: string[] = [];
    let removed: string[] = [];
    let added: string[] = [];
    const flush = () => {
      body.push(...removed.map((line) => `-${line}`), ...added.map((line) => `+${line}`));
      removed = [];
      added = [];
    };
    for (let x = first; x < end; x++) {
      const op = ops[x]!;
      if (op.kind === '-') removed.push(op.line);
      else if (op.kind === '+') added.push(op.line);
      else {
        flush();
        body.push(` ${op.line}`);
      }
    }
    flush();
    const lengthA = ops.slice(first, end).filter((op) => op.kind !== '+').length;
    const lengthB = ops.slice(first, end).filter((op) => op.kind !== '-').length;
    hunks.push(`@@ -${startA},${lengthA} +${startB},${lengthB} @@`, ...body);
    for (let x = k; x < end; x++) {
      if (ops[x]!.kind !== '+') lineA++;
      if (ops[x]!.kind !== '-') lineB++;
    }
    k = end;
  }
  return ['--- base', '+++ variant', ...hunks].join('\n') + '\n';
}
