import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_KINDS } from '../models/index.js';
import { LOGICAL_TYPES } from '../src/dialects/dialect.js';
import { DIALECTS } from '../src/dialects/registry.js';
import { WAREHOUSES } from '../src/warehouses/registry.js';

/** Registries must not lose entries silently: each test names the entries it expects at the least. */
describe('registries', () => {
  it('has the four dialects, each complete', () => {
    expect(Object.keys(DIALECTS).sort()).toEqual(['bigquery', 'duckdb', 'postgres', 'snowflake']);
    for (const [name, d] of Object.entries(DIALECTS)) {
      expect(d.name).toBe(name);
      for (const type of LOGICAL_TYPES) expect(d.types[type], `${name}.${type}`).toMatch(/\S/);
      for (const [fn, template] of Object.entries(d.functions)) expect(template === null || typeof template === 'function', `${name}.${fn}`).toBe(true);
    }
  });

  it('has a warehouse for every dialect', () => {
    expect(Object.keys(WAREHOUSES).sort()).toEqual(['bigquery', 'duckdb', 'postgres', 'snowflake']);
    for (const [type, entry] of Object.entries(WAREHOUSES)) expect(Object.keys(DIALECTS)).toContain(entry.dialect ?? type);
  });

  it('has every model kind built so far, each with a unique name and a summary', () => {
    const kinds = MODEL_KINDS.map((k) => k.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const expected of ['staging', 'sql', 'customers', 'rfm', 'ltv']) expect(kinds).toContain(expected);
    for (const kind of MODEL_KINDS) expect(kind.summary.length, kind.kind).toBeGreaterThan(10);
  });

  it('registers every kind folder (models/<kind>/kind.ts), so that no kind drops out of the suites unnoticed', () => {
    const root = join(import.meta.dirname, '../models');
    const folders = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'kind.ts')));
    expect(folders.length).toBeGreaterThan(0);
    expect(MODEL_KINDS.map((k) => k.kind).sort()).toEqual(folders.map((f) => f.name).sort());
  });
});
