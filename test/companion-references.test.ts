import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempProject } from './support/cli.js';

/** A model's companion tables (`<model>_<suffix>`) are relations like any other: referenced, ordered, checked. */
const FILES = {
  'tideline.yml': 'name: shop\n',
  'data/people.csv': 'customer_id,consent_email\nc1,true\nc2,false\n',
  'models/m.yml': `sources:
  - { name: people, file: data/people.csv }
models:
  - name: sizes
    kind: sql
    sql: SELECT audience, members FROM {{ ref('segments_report') }}
    columns: { audience: string, members: integer }
  - name: segments
    kind: audiences
    customers: people
    audiences:
      - { name: all_people, channel: email, where: { field: customer_id, is_null: false } }
`,
};

describe('companion tables as relations', () => {
  it('orders the reader after the owner and reads the companion', async () => {
    const root = tempProject(FILES);
    const run = await runCli(['run'], { cwd: root });
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(root, 'target/tideline_run_results.json'), 'utf8')) as { results: { model: string; rows: number }[] };
    expect(results.results.map((r) => [r.model, r.rows])).toEqual([
      ['segments', 2],
      ['sizes', 1],
    ]);
    const selected = await runCli(['run', '--select', '+sizes'], { cwd: root });
    expect(selected.code).toBe(0);
    expect((JSON.parse(readFileSync(join(root, 'target/tideline_run_results.json'), 'utf8')) as { results: { model: string }[] }).results.map((r) => r.model)).toEqual(['segments', 'sizes']);
  });

  it('reports a misspelt companion with a suggestion', async () => {
    const root = tempProject({ ...FILES, 'models/m.yml': FILES['models/m.yml'].replace('segments_report', 'segments_reprot') });
    const run = await runCli(['validate', '--log-format', 'pretty'], { cwd: root });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown source or model "segments_reprot" (did you mean "segments_report"?)');
  });
});
