import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

/** Reads a variable; undefined when it is not set. */
export type EnvLookup = (name: string) => string | undefined;

export interface Interpolation {
  readonly value: string;
  /** Variables referenced without a default and not set. */
  readonly missing: readonly string[];
  readonly malformed: readonly string[];
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const INNER = /^env:([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Substitutes `${env:NAME}` and `${env:NAME:-default}` in a string; `$${` writes a literal `${`.
 * A reference to an unset variable without a default is reported, not silently emptied.
 */
export function interpolateEnv(text: string, env: EnvLookup): Interpolation {
  const missing: string[] = [];
  const malformed: string[] = [];
  const value = text.replace(REFERENCE, (whole, inner: string | undefined) => {
    if (whole === '$${') return '${';
    const match = INNER.exec(inner ?? '');
    if (!match) {
      malformed.push(whole);
      return whole;
    }
    const [, name, fallback] = match as unknown as [string, string, string | undefined];
    const found = env(name);
    if (found !== undefined) return found;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  });
  return { value, missing, malformed };
}

/**
 * The environment of a project: the process environment, plus a `.env` file beside tideline.yml when there is one.
 * Variables already set in the process win over the file, as with dotenv and docker compose.
 */
export function projectEnv(root: string, processEnv: NodeJS.ProcessEnv = process.env): EnvLookup {
  const file = join(root, '.env');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return (name) => processEnv[name] ?? (fromFile as Record<string, string | undefined>)[name];
}
