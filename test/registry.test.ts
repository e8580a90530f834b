import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MODEL_KINDS } from '../models/index.js';
import { DIALECTS } from '../src/dialects/registry.js';
import { WAREHOUSES } from '../src/warehouses/registry.js';
import { expectCompleteWarehouse, foldersWith } from './support/registries.js';

/**
 * Registries must not lose entries silently: each is compared with its folders, and every entry it has — not a
 * chosen few — is checked. The suites that loop over warehouses, kinds and destinations take their lists from them.
 */
describe('registries', () => {
  describe('warehouses', () => {
    for (const warehouse of WAREHOUSES) it(`${warehouse.type} is complete`, () => expectCompleteWarehouse(warehouse));

    it('registers every warehouse folder (src/warehouses/<name>/warehouse.ts), each type once', () => {
      const types = WAREHOUSES.map((w) => w.type);
      expect(new Set(types).size).toBe(types.length);
      expect([...types].sort()).toEqual(foldersWith(join(import.meta.dirname, '../src/warehouses'), 'warehouse.ts'));
    });

    it('has a target in every golden project (test/fixtures/*/tideline.yml), named after it: golden SQL is compiled for each', () => {
      const fixtures = join(import.meta.dirname, 'fixtures');
      for (const fixture of foldersWith(fixtures, 'tideline.yml')) {
        const file = join(fixtures, fixture, 'tideline.yml');
        const targets = (parse(readFileSync(file, 'utf8')) as { targets?: Record<string, { type?: string }> }).targets ?? {};
        for (const { type } of WAREHOUSES) expect(targets[type]?.type, `test/fixtures/${fixture}/tideline.yml: a target \`${type}\` of type ${type}`).toBe(type);
      }
    });

    it('gives every dialect by the name of its warehouse: DIALECTS is the registry seen by name', () => {
      expect(Object.keys(DIALECTS)).toEqual(WAREHOUSES.map((w) => w.type));
      for (const warehouse of WAREHOUSES) expect(DIALECTS[warehouse.type]).toBe(warehouse.dialect);
    });
  });

  describe('model kinds', () => {
    it('names each kind once, each with a summary', () => {
      const kinds = MODEL_KINDS.map((k) => k.kind);
      expect(new Set(kinds).size).toBe(kinds.length);
      for (const kind of MODEL_KINDS) expect(kind.summary.length, kind.kind).toBeGreaterThan(10);
    });

    it('registers every kind folder (models/<kind>/kind.ts), so that no kind drops out of the suites unnoticed', () => {
      expect(MODEL_KINDS.map((k) => k.kind).sort()).toEqual(foldersWith(join(import.meta.dirname, '../models'), 'kind.ts'));
    });
  });
});
