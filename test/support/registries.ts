import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { z } from 'zod';
import { SYNC_MODES, type RegisteredDestination } from '../../destinations/destination.js';
import { LOGICAL_TYPES } from '../../src/dialects/dialect.js';
import type { AnyWarehouse } from '../../src/warehouses/registry.js';

/**
 * What every registry entry must hold, checked the same way for the registered ones (test/registry.test.ts,
 * test/destination-registry.test.ts) and for the throwaway ones of test/checklists.test.ts.
 */

/** A warehouse's registration: its dialect named after it and complete, its target schema keyed by its type. */
export function expectCompleteWarehouse(warehouse: AnyWarehouse): void {
  const { type, dialect } = warehouse;
  expect(dialect.name, `${type}: the dialect's name is the warehouse's type`).toBe(type);
  for (const logical of LOGICAL_TYPES) expect(dialect.types[logical], `${type}.types.${logical}`).toMatch(/\S/);
  for (const [fn, template] of Object.entries(dialect.functions)) expect(template === null || typeof template === 'function', `${type}.functions.${fn}`).toBe(true);
  // The target schema is a strict object whose `type` is this warehouse's, as the `targets:` union reads it.
  const json = z.toJSONSchema(warehouse.schema, { io: 'input' }) as { properties?: Record<string, { const?: unknown }>; additionalProperties?: unknown };
  expect(json.properties?.['type']?.const, `${type}: the target schema's \`type\``).toBe(type);
  expect(json.additionalProperties, `${type}: the target schema is strict`).toBe(false);
  expect(warehouse.schema.safeParse({ type: `not-${type}` }).success).toBe(false);
  for (const fn of ['secrets', 'modelSchema', 'open'] as const) expect(typeof warehouse[fn], `${type}.${fn}`).toBe('function');
}

/** A destination type's registration: described, with modes, a config schema and an emulator. */
export function expectCompleteDestination(destination: RegisteredDestination): void {
  const { type } = destination;
  expect(type, 'a type of lower-case letters, digits and underscores').toMatch(/^[a-z][a-z0-9_]*$/);
  expect(destination.summary.length, type).toBeGreaterThan(10);
  expect(destination.modes.length, type).toBeGreaterThan(0);
  for (const mode of destination.modes) expect(SYNC_MODES).toContain(mode);
  expect(destination.configSchema, `${type}.configSchema`).toBeInstanceOf(z.ZodObject);
  for (const fn of ['secrets', 'limits', 'lockScope', 'open'] as const) expect(typeof destination[fn], `${type}.${fn}`).toBe('function');
  expect(typeof destination.emulator.start, type).toBe('function');
  expect(typeof destination.emulator.sandboxConfig, type).toBe('function');
}

/** Folders of `root` holding `file`, sorted: what a registry is compared with, so that none of its entries goes missing. */
export function foldersWith(root: string, file: string): string[] {
  const folders = readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(join(root, e.name, file)));
  expect(folders.length, `${root}/*/${file}`).toBeGreaterThan(0);
  return folders.map((f) => f.name).sort();
}
