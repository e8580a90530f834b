import { z } from 'zod';
import { LOGICAL_TYPES } from '../../src/dialects/dialect.js';
import { TRANSFORM_NAMES } from '../../src/compile/transforms.js';
import { columnName } from '../../src/project/names.js';

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** One output column: the input column it comes from (or a SQL expression), its type, and clean-ups. */
export const stagingColumnSchema = z.union([
  z.string().min(1),
  z.strictObject({
    /** Input column; defaults to the output column's name. */
    from: z.string().min(1).optional(),
    /** A SQL expression over the input's columns, instead of `from`. */
    sql: z.string().min(1).optional(),
    type: z.enum(LOGICAL_TYPES).optional(),
    clean: z.array(z.enum(TRANSFORM_NAMES)).optional(),
    description: z.string().optional(),
  }),
]);

/** A row filter on an input column: exactly one operator. */
export const conditionSchema = z.strictObject({
  column: z.string().min(1),
  equals: scalar.optional(),
  not_equals: scalar.optional(),
  in: z.array(scalar).min(1).optional(),
  not_in: z.array(scalar).min(1).optional(),
  is_null: z.boolean().optional(),
  gt: z.union([z.number(), z.string()]).optional(),
  gte: z.union([z.number(), z.string()]).optional(),
  lt: z.union([z.number(), z.string()]).optional(),
  lte: z.union([z.number(), z.string()]).optional(),
});
export type Condition = z.infer<typeof conditionSchema>;
export const OPERATORS = ['equals', 'not_equals', 'in', 'not_in', 'is_null', 'gt', 'gte', 'lt', 'lte'] as const;

export const stagingSchema = z.strictObject({
  /** The source or model to read. */
  from: z.string().min(1),
  /** Output columns in order; all input columns as they are when left out. */
  columns: z.record(columnName, stagingColumnSchema).optional(),
  /** Rows kept: every condition must hold. */
  where: z.array(conditionSchema).optional(),
  /** Keep one row per key: the latest (or earliest) by a column, ties broken by the other columns. */
  deduplicate: z
    .strictObject({
      key: z.union([columnName, z.array(columnName).min(1)]),
      by: columnName,
      keep: z.enum(['latest', 'earliest']).default('latest'),
    })
    .optional(),
});
export type StagingSpec = z.infer<typeof stagingSchema>;
