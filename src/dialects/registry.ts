import { WAREHOUSES, type WarehouseType } from '../warehouses/registry.js';
import type { Dialect } from './dialect.js';

/**
 * Every dialect, by name: a view of the warehouse registry (src/warehouses/registry.ts), where a warehouse registers
 * its dialect and its connection together. Adding a dialect is adding a warehouse: see the checklist there.
 */
export type DialectName = WarehouseType;

export const DIALECTS: Readonly<Record<DialectName, Dialect>> = Object.freeze(
  // Object.fromEntries cannot type its keys; the entries are exactly one per registered type.
  Object.fromEntries(WAREHOUSES.map((w) => [w.type, w.dialect])) as Record<DialectName, Dialect>,
);
