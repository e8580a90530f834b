import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Tests start `bin/tideline` as a child process hundreds of times; through tsx, each start spends about a second of
 * CPU resolving and loading TypeScript. For the run, the CLI is bundled once (esbuild, dependencies left in
 * node_modules) and `bin/tideline` loads the bundle when TIDELINE_CLI_BUNDLE names it — the same sources, half the
 * start-up. The bundle sits in src/cli/ so that paths relative to its modules (templates, package.json) still hold.
 * TIDELINE_TEST_TSX=1 keeps the tsx path (what users run), which test/cli-e2e.test.ts also exercises on its own.
 */
// One per run: concurrent runs never share (or delete) each other's bundle.
const BUNDLE = fileURLToPath(new URL(`../../src/cli/.main.bundle.${process.pid}.mjs`, import.meta.url));

export default async function setup(): Promise<() => void> {
  if (process.env['TIDELINE_TEST_TSX'] === '1') return () => undefined;
  await build({
    entryPoints: [fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  process.env['TIDELINE_CLI_BUNDLE'] = BUNDLE;
  return () => rmSync(BUNDLE, { force: true });
}
