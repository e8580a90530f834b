import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A CommonJS package loaded the first time it is used, not when the CLI starts. The CLI is bundled into one ES module
 * (bin/build-cli.mjs) whose imports of packages all load at start-up, whichever command runs: a package only some
 * commands need (phone numbers for a few destinations, the LTV fit's special functions, the pretty log format) costs
 * every command its load time unless it is required here, on first use. Its types come from `import type`.
 */
export function lazyPackage<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
