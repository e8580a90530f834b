import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scrubPersonalData } from '../src/log/redact.js';
import { tempProject } from './support/cli.js';
import { tidelineInProcess } from './support/in-process.js';

/**
 * A failure's message may quote a row (a model's own error(), a warehouse message in a shape no list of
 * row-value shapes knows): what looks like personal data never reaches a log line or run_results.json.
 */
describe('personal data in failure messages', () => {
  it('a model whose SQL fails quoting a row logs and records the failure without the e-mail, phone or hash', async () => {
    const root = tempProject({
      'tideline.yml': 'name: shop\n',
      'data/people.csv': 'id,email,phone\n1,jane.doe@example.com,+33 6 12 34 56 78\n',
      'models/all.yml': `sources:
  - name: people_raw
    file: data/people.csv
models:
  - name: people
    kind: sql
    sql: |
      SELECT id, error('bad row ' || email || ', call ' || phone || ', key ' || md5(email)) AS x FROM {{ ref('people_raw') }}
`,
    });
    const out = await tidelineInProcess(['run', '--project', root, '--log-format', 'json']);
    expect(out.code).toBe(1);
    const results = readFileSync(join(root, 'target/run_results.json'), 'utf8');
    const own = readFileSync(join(root, 'target/tideline_run_results.json'), 'utf8');
    for (const text of [out.stdout + out.stderr, results, own]) {
      expect(text).toContain('bad row <email>, call <phone>, key <hash>');
      expect(text).not.toMatch(/jane\.doe|12 34 56 78/);
    }
  });

  it('keeps what is not personal: dates, times, counts, identifiers of tables', () => {
    const text = 'model people failed at 2026-12-07 10:22:59 after 1200000 rows in "analytics"."people" (line 12:4)';
    expect(scrubPersonalData(text)).toBe(text);
    expect(scrubPersonalData("Could not convert 'ann@x.org' or 06 12 34 56 78 or 0612345678")).toBe("Could not convert '<email>' or <phone> or <phone>");
  });
});
