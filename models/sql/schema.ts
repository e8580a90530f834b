import { z } from 'zod';
import { LOGICAL_TYPES } from '../../src/dialects/dialect.js';
import { columnName } from '../../src/project/names.js';

/** A model written as a SELECT in the target warehouse's own SQL, with {{ ref('name') }} and {{ var('name') }}. */
export const sqlModelSchema = z.strictObject({
  sql: z.string().min(1).describe("The SELECT statement. `{{ ref('x') }}` names a source or model; `{{ var('x') }}` a project variable."),
  columns: z.union([z.array(columnName).min(1), z.record(columnName, z.enum(LOGICAL_TYPES))]).optional().describe('The columns the SELECT returns, when known: models that read this one are then checked against them before anything runs. `name: type` or just a list of names.'),
});
export type SqlModelSpec = z.infer<typeof sqlModelSchema>;
