import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Sql } from '../src/dialects/sql.js';
import { openTarget } from '../src/warehouses/registry.js';
import { runCli, tempProject } from './support/cli.js';

/**
 * CSV files read in place (DuckDB): a broken line is rejected, counted and reported with its file:line and reason —
 * never its values, which are personal data — and the rest of the file is read; with `strict: true`, the first
 * broken line is a located configuration error; an empty file says so at the source's YAML location.
 */
const HEADER = 'id,email,first_name,last_name,city,phone\n';
const GOOD = '1,ann@example.com,Ann,Lee,Lyon,0612345678\n';
const BROKEN = '2,jane.doe@example.com,Jane,Doe,Paris,0698765432,EXTRA\n';
const MORE = '3,bob@example.com,Bob,Ray,Nice,0611111111\n';

const models = (options = '') => `sources:
  - name: people_raw
    file: data/people.csv
    types: { phone: string }${options}
models:
  - name: people
    kind: staging
    from: people_raw
    columns:
      id: id
      email: email
      phone: phone
`;

interface RunResults {
  results: { model: string; status: string; rows: number | null }[];
  sources: { source: string; file: string; rejected: number; lines: { line: number; reason: string }[] }[];
}

async function queryDuckDb(root: string, text: string) {
  const connection = await openTarget({ type: 'duckdb', path: '.tideline/warehouse.duckdb' }, { root });
  try {
    return await connection.query(Sql.trusted(text));
  } finally {
    await connection.close();
  }
}

describe('CSV sources with broken lines', () => {
  it('rejects a line with a column too many, reads the others, and reports file:line and reason without the values', async () => {
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': HEADER + GOOD + BROKEN + MORE, 'models/m.yml': models() });
    for (const format of ['json', 'pretty']) {
      const run = await runCli(['run', '--log-format', format], { cwd: root });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('data/people.csv:3: too many columns: 7 where the header has 6');
      expect(run.stderr).toMatch(/1 built, 0 failed, 0 skipped; 1 CSV line rejected/);
      const results = JSON.parse(readFileSync(join(root, 'target', 'tideline_run_results.json'), 'utf8')) as RunResults;
      expect(results.results).toMatchObject([{ model: 'people', status: 'success', rows: 2 }]);
      expect(results.sources).toEqual([
        { source: 'people_raw', file: 'data/people.csv', rejected: 1, lines: [{ line: 3, reason: 'too many columns: 7 where the header has 6' }] },
      ]);
      for (const text of [run.stdout, run.stderr, JSON.stringify(results)]) {
        expect(text).not.toContain('jane');
        expect(text).not.toContain('0698765432');
      }
    }
    // The phone keeps its leading zero: the declared type still applies.
    expect(await queryDuckDb(root, 'SELECT id, email, phone FROM tideline.people ORDER BY id')).toEqual([
      { id: 1, email: 'ann@example.com', phone: '0612345678' },
      { id: 3, email: 'bob@example.com', phone: '0611111111' },
    ]);
  });

  it('rejects a value of the wrong type, naming the column and the type', async () => {
    const root = tempProject({
      'tideline.yml': 'name: shop\n',
      'data/people.csv': HEADER + GOOD + '2,jane.doe@example.com,Jane,Doe,Paris,not-a-number\n' + MORE,
      'models/m.yml': models().replace('types: { phone: string }', 'types: { phone: integer }'),
    });
    const run = await runCli(['run'], { cwd: root });
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(root, 'target', 'tideline_run_results.json'), 'utf8')) as RunResults;
    expect(results.sources[0]!.lines).toEqual([{ line: 3, reason: 'column "phone" is not a valid BIGINT' }]);
    expect(run.stderr + JSON.stringify(results)).not.toMatch(/jane|not-a-number/);
  });

  it('a file without broken lines reports nothing', async () => {
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': HEADER + GOOD + MORE, 'models/m.yml': models() });
    const run = await runCli(['run'], { cwd: root });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/line skipped|CSV line|"level":"warn"/);
    expect((JSON.parse(readFileSync(join(root, 'target', 'tideline_run_results.json'), 'utf8')) as RunResults).sources).toEqual([]);
  });

  it('strict: true makes the first broken line a located error, and nothing runs', async () => {
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': HEADER + GOOD + BROKEN + MORE + BROKEN, 'models/m.yml': models('\n    strict: true') });
    const run = await runCli(['run', '--log-format', 'pretty'], { cwd: root });
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n').filter((l) => l.startsWith('error: '))).toEqual([
      'error: models/m.yml:3:11  sources[0].file  data/people.csv:3: too many columns: 7 where the header has 6 (and 1 more broken line); strict: true refuses a file with broken lines',
    ]);
    expect(run.stderr).not.toContain('jane');
    expect(run.stderr).not.toMatch(/do not exist/);
  });

  it('an empty file is a located error that says so', async () => {
    const root = tempProject({ 'tideline.yml': 'name: shop\n', 'data/people.csv': '', 'models/m.yml': models() });
    for (const args of [['run'], ['validate', '--offline']]) {
      const run = await runCli([...args, '--log-format', 'pretty'], { cwd: root });
      expect(run.code).toBe(2);
      expect(run.stderr.split('\n').filter((l) => l.startsWith('error: '))).toEqual(['error: models/m.yml:3:11  sources[0].file  data/people.csv is empty (0 bytes)']);
    }
  });
});
