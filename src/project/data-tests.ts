import { z } from 'zod';
import { objectName } from './names.js';
import type { FieldPath } from './problems.js';

/**
 * Data tests declared in YAML (`tests:` on a source or a model, one grammar for both and for every model kind): each
 * an assertion on the relation's rows that `tideline test` and `tideline build` run as one query returning the rows
 * (or groups) that break it. They live in one `tests:` list, each naming its column, rather than under dbt's
 * `columns: {<col>: {tests: […]}}`, because `columns:` already means the output columns of `sql` and `staging`
 * models; the manifest shows them in dbt's shape all the same (src/cli/artifacts.ts).
 */
const column = z.string().min(1).describe('A column of the source or model.');
const common = {
  severity: z.enum(['error', 'warn']).default('error').describe('`error` (default): a failure fails `tideline test` and stops what `tideline build` would build or sync downstream; `warn`: reported, nothing stops.'),
  name: objectName.optional().describe('The test\'s name, unique in the project (default: made from its type, relation and columns, as dbt does: `not_null_customers_email`).'),
};
const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const dataTestSchema = z
  .strictObject({
    not_null: z
      .union([column, z.strictObject({ column, ...common })])
      .optional()
      .describe('The column holds no null: `not_null: email`, or `{column: email, severity: warn}`.'),
    unique: z
      .union([column, z.array(column).min(1), z.strictObject({ columns: z.union([column, z.array(column).min(1)]).describe('A column, or columns whose combination is unique.'), ...common })])
      .optional()
      .describe('No two rows share the column\'s value (nulls aside), or the combination of columns\' values (nulls equal to one another, as dbt_utils.unique_combination_of_columns): `unique: customer_id`, `unique: [email, country]`. Its failures are the values held more than once.'),
    accepted_values: z
      .strictObject({ column, values: z.array(scalar).min(1).describe('The values allowed; numbers for a numeric column.'), ...common })
      .optional()
      .describe('Every non-null value of the column is one of `values`: `{column: status, values: [active, churned]}`.'),
    relationships: z
      .strictObject({
        column,
        to: objectName.describe('The source or model the values must be found in.'),
        field: z.string().min(1).optional().describe('Its column holding them (default: the same name as `column`).'),
        ...common,
      })
      .optional()
      .describe('Every non-null value of the column is found in `field` of `to`: `{column: customer_id, to: customers, field: customer_id}`.'),
    expression: z
      .union([z.string().min(1), z.strictObject({ sql: z.string().min(1).describe('The SQL condition.'), ...common })])
      .optional()
      .describe('A SQL condition over one row that every row meets (a row where it is null passes, as in dbt): `expression: "amount >= 0"`.'),
    row_count: z
      .strictObject({ min: z.number().int().min(0).optional().describe('Fewest rows.'), max: z.number().int().min(0).optional().describe('Most rows.'), ...common })
      .refine((r) => r.min !== undefined || r.max !== undefined, { message: 'give `min`, `max` or both' })
      .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'min must not exceed max', path: ['min'] })
      .optional()
      .describe('Bounds of the row count, checked on the table as it stands (a model\'s `checks:` bounds guard its build instead): `{row_count: {min: 1}}`.'),
  })
  .superRefine((value, ctx) => {
    const given = Object.keys(value).filter((k) => value[k as keyof typeof value] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', message: `a test is one of ${DATA_TEST_TYPES.join(', ')}${given.length ? `; this one gives ${given.join(' and ')}` : ''}` });
  });

export const dataTestsSchema = z
  .array(dataTestSchema)
  .default([])
  .describe(
    'Data tests run by `tideline test` and `tideline build`: `not_null`, `unique`, `accepted_values`, `relationships`, `expression` and `row_count`, each naming its column, with `severity: error|warn`. See README "Data tests".',
  );

export const DATA_TEST_TYPES = ['not_null', 'unique', 'accepted_values', 'relationships', 'expression', 'row_count'] as const;
export type DataTestType = (typeof DATA_TEST_TYPES)[number];

/** One data test, normalised from its YAML entry. */
export interface DataTest {
  /** Unique in the project: the `name` written, or one made up as dbt does (`unique_customers_email`). */
  readonly name: string;
  readonly type: DataTestType;
  /** The source or model tested, and which it is. */
  readonly on: string;
  readonly onType: 'source' | 'model';
  /** The columns tested: one, or a `unique` combination; none for `expression` and `row_count`. */
  readonly columns: readonly string[];
  readonly values?: readonly (string | number | boolean)[];
  readonly to?: string;
  readonly field?: string;
  readonly sql?: string;
  readonly min?: number;
  readonly max?: number;
  readonly severity: 'error' | 'warn';
  /** Where each of `columns` is written, from the source's or model's item. */
  readonly columnsAt: readonly FieldPath[];
  /** Whether `name` was written in the YAML. */
  readonly named: boolean;
  /** The entry's path in its file, from the source's or model's item: `['tests', 2]`. */
  readonly at: FieldPath;
}

/** The entries of a `tests:` list as DataTests, named from their contents (made unique by the loader). */
export function dataTests(entries: readonly z.infer<typeof dataTestSchema>[], on: string, onType: 'source' | 'model'): DataTest[] {
  return entries.map((entry, i) => {
    const at = ['tests', i];
    const base = { on, onType, at };
    const finish = (type: DataTestType, fields: Omit<DataTest, 'name' | 'type' | 'on' | 'onType' | 'at' | 'severity' | 'named' | 'columnsAt'>, options: { severity?: 'error' | 'warn'; name?: string | undefined }, suffix = ''): DataTest => ({
      ...base,
      ...fields,
      columnsAt: fields.columns.map((_, n) => columnAt(entry, type, at, n)),
      type,
      severity: options.severity ?? 'error',
      named: options.name !== undefined,
      // Column names read from the warehouse may hold any character; a made-up name keeps to the portable ones.
      name: options.name ?? ([type, on, ...fields.columns].join('_') + suffix).replace(/[^A-Za-z0-9_]/g, '_'),
    });
    if (entry.not_null !== undefined) {
      const t = typeof entry.not_null === 'string' ? { column: entry.not_null, name: undefined } : entry.not_null;
      return finish('not_null', { columns: [t.column] }, t);
    }
    if (entry.unique !== undefined) {
      const t = typeof entry.unique === 'string' || Array.isArray(entry.unique) ? { columns: entry.unique, name: undefined } : entry.unique;
      return finish('unique', { columns: typeof t.columns === 'string' ? [t.columns] : t.columns }, t);
    }
    if (entry.accepted_values !== undefined) {
      const t = entry.accepted_values;
      return finish('accepted_values', { columns: [t.column], values: t.values }, t);
    }
    if (entry.relationships !== undefined) {
      const t = entry.relationships;
      return finish('relationships', { columns: [t.column], to: t.to, field: t.field ?? t.column }, t, `__${t.to}`);
    }
    if (entry.expression !== undefined) {
      const t = typeof entry.expression === 'string' ? { sql: entry.expression, name: undefined } : entry.expression;
      return finish('expression', { columns: [], sql: t.sql }, t, `_${i + 1}`);
    }
    const t = entry.row_count!;
    return finish('row_count', { columns: [], min: t.min, max: t.max }, t);
  });
}

/**
 * The valid entries of a `tests:` list whose source or model is invalid (another entry, or another field, is wrong),
 * each at its own index: their references are still checked, so that one run reports every problem of the list.
 */
export function validDataTests(item: unknown, on: string, onType: 'source' | 'model'): DataTest[] {
  const entries = item && typeof item === 'object' ? (item as { tests?: unknown }).tests : undefined;
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry, i) => {
    const parsed = dataTestSchema.safeParse(entry);
    return parsed.success ? dataTests([parsed.data], on, onType).map((test) => ({ ...test, at: ['tests', i] })) : [];
  });
}

/** Where the `n`-th column of a test is written: `not_null: email` or `{column: email}`, `unique: [a, b]`… */
function columnAt(entry: z.infer<typeof dataTestSchema>, type: DataTestType, at: FieldPath, n: number): FieldPath {
  const written = entry[type];
  if (typeof written === 'string') return [...at, type];
  if (Array.isArray(written)) return [...at, type, n];
  if (type === 'unique') return Array.isArray((written as { columns: unknown }).columns) ? [...at, type, 'columns', n] : [...at, type, 'columns'];
  return [...at, type, 'column'];
}
