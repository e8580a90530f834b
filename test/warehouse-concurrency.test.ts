import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { peopleModels, tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

/**
 * Commands beside another process holding the embedded DuckDB file, for real: a second process (test/support/
 * hold-duckdb.mjs) opens the file to write, as a running `tideline run` or `sync` would, or to read, as `tideline
 * status` would; the command under test runs in this process. A writer keeps readers and writers out: the command
 * fails at once naming its pid and `--wait`, or with `--wait` waits and then succeeds. Readers share the file.
 */
const HOLDER = join(import.meta.dirname, 'support', 'hold-duckdb.mjs');
const PEOPLE = 'id,email\n1,ada@example.org\n2,bob@example.net\n';

let root: string;
let file: string;
const holders: ChildProcess[] = [];
const tideline = (...args: string[]) => tidelineInProcess(['--project', root, '--log-format', 'pretty', ...args]);

/** Another process holding the file until `release`. */
async function hold(mode: 'READ_WRITE' | 'READ_ONLY'): Promise<{ pid: number; release(): Promise<void> }> {
  const child = spawn(process.execPath, [HOLDER, file, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  holders.push(child);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
    child.on('exit', (code) => reject(new Error(`the holder exited with ${code} before holding ${file}`)));
  });
  return { pid: child.pid!, release: () => (child.stdin!.end(), exited) };
}

async function timed<T>(work: Promise<T>): Promise<T & { seconds: number }> {
  const started = performance.now();
  const result = await work;
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

beforeAll(async () => {
  root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': PEOPLE, 'models/people.yml': peopleModels() });
  file = join(root, '.tideline', 'warehouse.duckdb');
  // Before anything is built, a reading command creates no file, and says what it reads.
  const status = await tideline('status');
  expect(status.code, status.stderr).toBe(0);
  expect(status.stderr).toContain('.tideline/warehouse.duckdb does not exist yet (nothing was built in this target)');
  const show = await tideline('show', 'people');
  expect(show.code).toBe(1);
  expect(show.stderr).toContain('people is not built in target dev: run `tideline run --select +people` first');
  expect(existsSync(file)).toBe(false);
  const run = await tideline('run');
  expect(run.code, run.stderr).toBe(0);
});

afterEach(() => {
  for (const child of holders.splice(0)) if (child.exitCode === null) child.kill();
});

describe('another process writing the embedded warehouse', () => {
  it('without --wait, readers and writers fail at once naming its pid and --wait', async () => {
    const holder = await hold('READ_WRITE');
    for (const args of [['status'], ['run'], ['show', 'people']]) {
      const result = await timed(tideline(...args));
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toContain(`the warehouse is in use by another process (pid ${holder.pid})`);
      expect(result.stderr).toContain('`--wait [seconds]` waits for it');
      expect(result.seconds).toBeLessThan(2);
    }
    await holder.release();
  });

  it('with --wait, a command waits for it, says so once, and succeeds when it is gone', async () => {
    const holder = await hold('READ_WRITE');
    setTimeout(() => void holder.release(), 1000);
    const run = await timed(tideline('run', '--wait', '20'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.match(/waiting: the warehouse is in use by another process/g)).toHaveLength(1);
    expect(run.stderr).toContain(`(pid ${holder.pid})`);
    expect(run.stderr).toContain('1 built, 0 failed');
    expect(run.seconds).toBeGreaterThanOrEqual(0.9);
    expect(run.seconds).toBeLessThan(5);
  });

  it('a --wait too short gives up saying how long it waited', async () => {
    const holder = await hold('READ_WRITE');
    const status = await timed(tideline('status', '--wait', '0.6'));
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(new RegExp(`in use by another process \\(pid ${holder.pid}\\).*; gave up waiting after 0\\.\\d s`));
    expect(status.seconds).toBeGreaterThanOrEqual(0.55);
    expect(status.seconds).toBeLessThan(2);
    await holder.release();
  });
});

describe('another process reading the embedded warehouse', () => {
  it('reading commands run beside it; a writer waits for it', async () => {
    const reader = await hold('READ_ONLY');
    for (const args of [['status'], ['show', 'people', '--json'], ['plan'], ['validate'], ['audit'], ['docs']]) {
      const result = await tideline(...args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    }
    expect((await tideline('show', 'people', '--json')).stdout.trim().split('\n')).toHaveLength(2);
    const writer = await tideline('run');
    expect(writer.code).toBe(1);
    expect(writer.stderr).toContain(`in use by another process (pid ${reader.pid})`);
    setTimeout(() => void reader.release(), 500);
    const waited = await tideline('run', '--wait', '20');
    expect(waited.code, waited.stderr).toBe(0);
  });
});

it('--wait takes a number of seconds', async () => {
  const result = await tideline('run', '--wait', 'soon');
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("option '--wait [seconds]' argument 'soon' is invalid. a number of seconds");
});
