import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildCli } from '../../bin/build-cli.mjs';

/**
 * Tests start `bin/tideline` as a child process hundreds of times. For the run, the CLI is bundled once (as
 * `npm run build` does) into a file of its own, named in TIDELINE_CLI_BUNDLE, which `bin/tideline` then loads: the
 * sources as they are now, whatever the state of the user's build. TIDELINE_TEST_TSX=1 keeps the tsx path instead,
 * which test/cli-e2e.test.ts also exercises on its own.
 */
// One per run: concurrent runs never share (or delete) each other's bundle.
const BUNDLE = fileURLToPath(new URL(`../../src/cli/.main.bundle.${process.pid}.mjs`, import.meta.url));

export default async function setup(): Promise<() => void> {
  if (process.env['TIDELINE_TEST_TSX'] === '1') return () => undefined;
  if (!(await buildCli(BUNDLE))) throw new Error('esbuild is a dev dependency: run npm install');
  process.env['TIDELINE_CLI_BUNDLE'] = BUNDLE;
  return () => rmSync(BUNDLE, { force: true });
}
