import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILT_CLI, builtCliIsFresh } from '../bin/build-cli.mjs';
import { collectGarbage } from '../src/sync/memory.js';

describe('the built CLI (bin/build-cli.mjs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tideline-built-'));
  const built = join(dir, 'tideline.mjs');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is used only while it is newer than every source file', () => {
    expect(builtCliIsFresh(join(dir, 'missing.mjs'))).toBe(false);
    writeFileSync(built, '');
    // Built before any source was written: stale, bin/tideline runs the sources.
    utimesSync(built, new Date(0), new Date(0));
    expect(builtCliIsFresh(built)).toBe(false);
    // Built after every source: fresh.
    const later = new Date(Date.now() + 3_600_000);
    utimesSync(built, later, later);
    expect(builtCliIsFresh(built)).toBe(true);
  });

  it('lives beside the CLI sources, so their relative paths (templates, package.json) hold', () => {
    expect(BUILT_CLI).toMatch(/src[\\/]cli[\\/]\.tideline\.mjs$/);
  });
});

describe('collectGarbage', () => {
  it('collects without putting a gc function in the program', () => {
    const before = process.memoryUsage().heapUsed;
    let garbage: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, text: `record ${i}` }));
    expect(garbage.length).toBe(200_000);
    garbage = undefined;
    collectGarbage();
    expect(process.memoryUsage().heapUsed).toBeLessThan(before + 5 * 1024 * 1024);
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });
});
