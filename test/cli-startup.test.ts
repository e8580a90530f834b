import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCli } from '../bin/build-cli.mjs';
import { peopleModels, runCli, tempProject } from './support/cli.js';

/**
 * The CLI is one bundled ES module whose static imports of packages all load when any command starts. Packages only
 * some commands need are imported where they are used (a dynamic import, or src/lazy-package.ts): DuckDB when a
 * connection opens, the other warehouses' SDKs likewise, OAuth and JWT for the destinations that sign in, phone numbers
 * for those that read them, the spinner on an interactive terminal, the pretty log format, the LTV fit's special
 * functions. A static import of one of them brought back costs every command its load time (`tideline --version`
 * took 1.1 s with them, 0.55 s without, on the 2-core machine under load).
 */
const LOADED_WHEN_USED = [
  '@duckdb/node-api',
  'pg',
  'pg-cursor',
  'snowflake-sdk',
  '@google-cloud/bigquery',
  'google-auth-library',
  'jose',
  'libphonenumber-js',
  'protobufjs',
  'ora',
  'cli-progress',
  'pino-pretty',
  '@stdlib/math-base-special-digamma',
  '@stdlib/math-base-special-gammaln',
  '@stdlib/math-base-special-hyp2f1',
];

describe('what the CLI loads when it starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tideline-startup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports statically none of the packages only some commands need', async () => {
    const bundle = join(dir, 'cli.mjs');
    expect(await buildCli(bundle)).toBe(true);
    const text = readFileSync(bundle, 'utf8');
    const statics = new Set([...text.matchAll(/^import\s+(?:[^;]*?\s+from\s+)?"([^"]+)";$/gm)].map((m) => m[1]!));
    // The pattern finds the bundle's imports: the packages every command needs are among them.
    expect([...statics]).toEqual(expect.arrayContaining(['commander', 'zod', 'yaml', 'pino']));
    expect(LOADED_WHEN_USED.filter((name) => statics.has(name))).toEqual([]);
    // and each is still used, through a dynamic import or a lazy require, so the list does not go stale.
    for (const name of LOADED_WHEN_USED) expect(text.includes(`import("${name}")`) || text.includes(`lazyPackage("${name}")`), name).toBe(true);
  });

  it('loads none of them to print its version or compile offline (what Node reports loading, NODE_DEBUG=module,esm)', async () => {
    const root = tempProject({ 'tideline.yml': 'name: startup\n', 'data/people.csv': 'id,email\n1,a@example.com\n', 'models/people.yml': peopleModels() });
    for (const args of [['--version'], ['compile', '--offline']]) {
      const result = await runCli(args, { cwd: root, env: { NODE_DEBUG: 'module,esm' } });
      expect(result.code, result.stderr.slice(-2000)).toBe(0);
      const loaded = new Set([...result.stderr.matchAll(/node_modules\/((?:@[\w.-]+\/)?[\w.-]+)\//g)].map((m) => m[1]!));
      expect([...loaded], args.join(' ')).toEqual(expect.arrayContaining(['zod', 'commander']));
      expect(LOADED_WHEN_USED.filter((name) => loaded.has(name)), args.join(' ')).toEqual([]);
    }
  });
});
