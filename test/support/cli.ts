import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './temp-dir.js';

export const BIN = join(import.meta.dirname, '../../bin/tideline');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `tideline` executable in a child process. */
export function runCli(args: readonly string[], options: { cwd: string; env?: Record<string, string | undefined> }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env };
    for (const [k, v] of Object.entries(options.env ?? {})) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A throwaway project folder holding `files` (path → content). */
export function tempProject(files: Record<string, string>, copyFrom?: string): string {
  const root = tempDir('tideline-project-');
  if (copyFrom) cpSync(copyFrom, root, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/**
 * `models/people.yml` of the CLI tests' small projects: `data/people.csv` as a staging model `people` with
 * `customer_id` (from `id`) and a cleaned `email`, then the `columns` lines given (YAML, indented six spaces).
 */
export function peopleModels(columns: readonly string[] = []): string {
  return `sources:
  - name: raw_people
    file: data/people.csv
models:
  - name: people
    kind: staging
    from: raw_people
    columns:
      customer_id: { from: id, type: string }
      email: { from: email, clean: [trim, lower] }
${columns.map((c) => `      ${c}\n`).join('')}`;
}
