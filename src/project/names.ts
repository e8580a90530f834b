import { z } from 'zod';

/**
 * Names Tideline creates (models, sources, output columns) are kept to portable identifiers: they become table and
 * column names in four warehouses with different rules, so letters, digits and underscores, starting with a letter
 * or underscore. Names read from the warehouse (input columns) may be anything: they are always quoted.
 */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_NAME_LENGTH = 48;

export const objectName = z
  .string()
  .regex(NAME_PATTERN, 'a name of letters, digits and underscores, starting with a letter or underscore')
  .max(MAX_NAME_LENGTH, `at most ${MAX_NAME_LENGTH} characters (the warehouse needs room for build suffixes)`);

export const columnName = z.string().regex(NAME_PATTERN, 'a column name of letters, digits and underscores, starting with a letter or underscore').max(128);
