import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DESTINATIONS } from '../../destinations/index.js';
import { MODEL_KINDS } from '../../models/index.js';
import { WAREHOUSES } from '../warehouses/registry.js';
import { renderReference } from './reference.js';

const path = new URL('../../docs/reference.md', import.meta.url);

describe('docs/reference.md', () => {
  const reference = renderReference();

  it('is what the schemas generate', async () => {
    const written = await readFile(path, 'utf8').catch(() => '');
    if (written !== reference) {
      const at = [...written].findIndex((c, i) => c !== reference[i]);
      const line = written.slice(0, at).split('\n').length;
      expect.fail(`docs/reference.md is out of date (first difference on line ${line}): run \`npm run docs\` and commit the result`);
    }
  });

  it('has a section for every registered warehouse, model kind and destination type', () => {
    const headings = new Set(reference.split('\n').filter((l) => l.startsWith('### ')));
    for (const warehouse of WAREHOUSES) expect(headings).toContain(`### \`type: ${warehouse.type}\``);
    for (const kind of MODEL_KINDS) expect(headings).toContain(`### \`kind: ${kind.kind}\``);
    for (const destination of DESTINATIONS) expect(headings).toContain(`### \`type: ${destination.type}\``);
  });

  it('lists types, defaults, allowed values and descriptions from the schemas', () => {
    const row = (field: string) => reference.split('\n').find((l) => l.startsWith(`| \`${field}\` |`));
    expect(row('state_schema')).toBe(
      '| `state_schema` | string | no | `"tideline_state"` | non-empty | Schema where Tideline keeps its own state: sync snapshots, runs, rejected rows, locks. |',
    );
    expect(row('options.null_policy')).toContain('| `skip`, `overwrite` |');
    expect(row('retries.attempts')).toContain('| integer | no | `5` | 1–20 |');
    expect(row('targets')).toContain('object by `type`: `duckdb`, `postgres`, `bigquery`, `snowflake`');
  });

  it('is stable: rendering twice gives the same text', () => {
    expect(renderReference()).toBe(reference);
  });
});
