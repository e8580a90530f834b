import { z } from 'zod';
import { LOGICAL_TYPES } from '../../src/dialects/dialect.js';
import { TRANSFORM_NAMES } from '../../src/expressions/transforms.js';
import { columnConditionSchema } from '../../src/expressions/conditions.js';
import { columnName } from '../../src/project/names.js';

/** One output column: the input column it comes from (or a SQL expression), its type, and clean-ups. */
export const stagingColumnSchema = z.union([
  z.string().min(1),
  z.strictObject({
    from: z.string().min(1).optional().describe("Input column; defaults to the output column's name."),
    sql: z.string().min(1).optional().describe("A SQL expression over the input's columns, instead of `from`."),
    type: z.enum(LOGICAL_TYPES).optional(),
    clean: z.array(z.enum(TRANSFORM_NAMES)).optional(),
    description: z.string().optional(),
  }),
]);

export const stagingSchema = z.strictObject({
  from: z.string().min(1).describe('The source or model to read.'),
  columns: z.record(columnName, stagingColumnSchema).optional().describe('Output columns in order; all input columns as they are when left out.'),
  where: z.array(columnConditionSchema).optional().describe('Rows kept: every condition must hold.'),
  deduplicate: z
    .strictObject({
      key: z.union([columnName, z.array(columnName).min(1)]),
      by: columnName,
      keep: z.enum(['latest', 'earliest']).default('latest'),
    })
    .optional()
    .describe('Keep one row per key: the latest (or earliest) by a column, ties broken by the other columns.'),
});
export type StagingSpec = z.infer<typeof stagingSchema>;

/** Row conditions are shared with other kinds; these names are kept for the modules that import them from here. */
export { columnConditionSchema as conditionSchema, COMPARISONS as OPERATORS, type ColumnCondition as Condition } from '../../src/expressions/conditions.js';
