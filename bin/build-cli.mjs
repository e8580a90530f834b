#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm install` in a clone runs it): bundles the CLI's TypeScript into one ES module,
// src/cli/.tideline.mjs, which bin/tideline loads while it is newer than every source file. Against running the
// sources through tsx, a command starts in half the time and the process holds about 40 MB less. Dependencies stay in
// node_modules. The file sits in src/cli/ so that paths relative to its modules (templates, package.json) still hold.
// Without esbuild (an install without dev dependencies), nothing is built and bin/tideline runs the sources; `prepack`
// (--for-package) fails instead, since a package carries the bundle and no sources.
import { existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BUILT_CLI = fileURLToPath(new URL('../src/cli/.tideline.mjs', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const SOURCES = ['src', 'models', 'destinations'];

/** Bundles src/cli/main.ts into `outfile`; false when esbuild is not installed. */
export async function buildCli(outfile = BUILT_CLI) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return false;
  }
  // Written beside, then renamed over the bundle: a command starting meanwhile loads the old bundle or the new one,
  // never half of one (a test packs the package while other suites run the CLI).
  const partial = `${outfile}.${process.pid}.partial`;
  await esbuild.build({
    entryPoints: [MAIN],
    outfile: partial,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  renameSync(partial, outfile);
  return true;
}

/** Whether the built CLI exists and no source file changed since it was built. */
export function builtCliIsFresh(built = BUILT_CLI) {
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  const newer = (dir) =>
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') return false;
      const path = `${dir}/${entry.name}`;
      return entry.isDirectory() ? newer(path) : statSync(path).mtimeMs > builtAt;
    });
  return !SOURCES.some((dir) => existsSync(`${ROOT}${dir}`) && newer(`${ROOT}${dir}`));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // An installed package has the bundle and no sources (npm runs a tarball dependency's `prepare` once the user
  // approves it): nothing to build, and its bundle is kept. A git dependency is prepared in npm's own clone.
  if (!existsSync(MAIN)) process.exit(0);
  if (await buildCli()) console.error(`built ${BUILT_CLI}`);
  else if (process.argv.includes('--for-package')) {
    // `prepack`: a package holds no sources, so without the bundle its bin could not run at all.
    console.error('esbuild is not installed (a dev dependency): run `npm install` before `npm pack`');
    process.exit(1);
  } else console.error('esbuild is not installed: bin/tideline will run the TypeScript sources through tsx');
}
