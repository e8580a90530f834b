import { describe, expect, it } from 'vitest';
import { loadProject } from '../src/project/loader.js';
import { ConfigError, formatProblem, type Problem } from '../src/project/problems.js';
import { runCli, tempProject } from './support/cli.js';

/**
 * The YAML of the guards: `max_removals` (and `max_deletes`, its former name), sources' `freshness`, models' `checks`.
 * Every mistake is a problem located at file:line:col and field, and nothing runs.
 */
const CSV = 'id,orders,loaded_at\nc1,3,2026-12-01 10:00:00\n';

function project(source: string, checks: string, options: readonly string[]): string {
  return tempProject({
    'tideline.yml': 'name: g\n',
    'data/c.csv': CSV,
    'models/m.yml': `sources:
  - name: raw
    file: data/c.csv
${source}models:
  - name: customers
    kind: staging
    from: raw
${checks}    columns:
      customer_id: { from: id, type: string }
      orders: { from: orders, type: integer }
`,
    'syncs/s.yml': options.length === 0 ? 'syncs: []\n' : `destinations:
  - name: out
    type: file
    path: out
syncs:
${options
  .map(
    (line, i) => `  - name: s${i}
    model: customers
    destination: out
    object: o${i}
    key: customer_id
${line}`,
  )
  .join('')}`,
  });
}

async function problems(root: string): Promise<string[]> {
  try {
    const loaded = await loadProject({ projectDir: root });
    return loaded.warnings.map((p) => formatProblem(p, root));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p: Problem) => formatProblem(p, root));
  }
}

describe('guards in YAML', () => {
  it('max_removals takes a count or a share, on mirror and audience syncs only; max_deletes still loads, with a warning', async () => {
    const root = project('', '', [
      "    mode: mirror\n    options: { max_removals: 'abc' }\n",
      '    mode: mirror\n    options: { max_deletes: 5 }\n',
      '    mode: upsert\n    options: { max_removals: 5 }\n',
      "    mode: mirror\n    options: { max_removals: 5, max_deletes: '5%' }\n",
    ]);
    expect(await problems(root)).toEqual([
      'syncs/s.yml:12:30  syncs[0].options.max_removals  a count (100) or a percentage ("5%")',
      'syncs/s.yml:19:16  syncs[1].options.max_deletes  warning: `max_deletes` is now `max_removals` (it guards audience syncs too): rename it',
      'syncs/s.yml:26:16  syncs[2].options.max_removals  `max_removals` guards mirror and audience syncs only (mode upsert never removes anything)',
      'syncs/s.yml:33:33  syncs[3].options.max_deletes  `max_deletes` is the former name of `max_removals`: keep only `max_removals`',
    ]);
  });

  it('max_deletes alone is read as max_removals, and max_removals defaults to 10%', async () => {
    const loaded = await loadProject({ projectDir: project('', '', ['    mode: mirror\n    options: { max_deletes: 7 }\n', '    mode: mirror\n']) });
    expect(loaded.syncs.get('s0')!.options.max_removals).toBe(7);
    expect(loaded.syncs.get('s1')!.options.max_removals).toBe('10%');
  });

  it('freshness needs loaded_at and a valid warn_after shorter than error_after; checks need sound bounds', async () => {
    const missing = project('    freshness: { error_after: 2 dayz }\n', "    checks: { min_rows: 5, max_rows: 2 }\n", []);
    expect(await problems(missing)).toEqual([
      'models/m.yml:4:16  sources[0].freshness.loaded_at  required: expected a string',
      'models/m.yml:4:31  sources[0].freshness.error_after  expected a positive duration such as "30 minutes", "6 hours", "2 days" or "1 week", got "2 dayz"',
      'models/m.yml:9:25  models[0].checks.min_rows  min_rows must not exceed max_rows',
    ]);
    const order = project('    freshness: { loaded_at: loaded_at, warn_after: 3 days, error_after: 48 hours }\n', '    checks: { max_change: lots }\n', []);
    expect(await problems(order)).toEqual([
      'models/m.yml:4:52  sources[0].freshness.warn_after  warn_after (3 days) must be shorter than error_after (48 hours)',
      'models/m.yml:9:27  models[0].checks.max_change  expected a percentage between 0 and 100 such as "10%", got "lots"',
    ]);
    const neither = project('    freshness: { loaded_at: loaded_at }\n', '', []);
    expect(await problems(neither)).toEqual(['models/m.yml:4:16  sources[0].freshness  give `warn_after`, `error_after` or both']);
  });

  it('loaded_at must be a column of the source holding a timestamp, a date or text: exit 2 from tideline validate', async () => {
    const typo = project('    freshness: { loaded_at: loadedat, error_after: 2 days }\n', '', []);
    const a = await runCli(['validate', '--log-format', 'pretty'], { cwd: typo });
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('models/m.yml:4:29  sources[0].freshness.loaded_at  unknown column "loadedat" in source "raw" (did you mean "loaded_at"?)');
    const number = project('    freshness: { loaded_at: orders, error_after: 2 days }\n', '', []);
    const b = await runCli(['validate', '--log-format', 'pretty'], { cwd: number });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('models/m.yml:4:29  sources[0].freshness.loaded_at  column "orders" of source "raw" is integer: freshness needs a timestamp or a date');
  });
});
