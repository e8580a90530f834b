import { applyTransforms } from '../expressions/transforms.js';
import type { Dialect, LogicalType } from '../dialects/dialect.js';
import { sql, type Sql } from '../dialects/sql.js';
import type { MappedField, SyncDef } from './load.js';

/** A mapped value compiled to SQL over the model's columns, with the logical type of its result. */
export interface CompiledField {
  readonly name: string;
  readonly expr: Sql;
  readonly type: LogicalType | undefined;
}

export interface CompiledMapping {
  /** The key as text (canonical), NULL when the model row has none. */
  readonly key: Sql;
  readonly fields: readonly CompiledField[];
  /** Column names of the fields in planner output, in mapping order (`f_0`, `f_1`…): destination names may be anything. */
  readonly columns: readonly string[];
}

/** Column types of the model, by the dialect's identifier key. */
export type ColumnTypes = ReadonlyMap<string, LogicalType | undefined>;

export function compileField(d: Dialect, field: MappedField, types: ColumnTypes): CompiledField {
  if (field.column === undefined) {
    const value = field.constant!;
    const type: LogicalType = typeof value === 'boolean' ? 'boolean' : typeof value === 'number' ? (Number.isInteger(value) ? 'integer' : 'float') : 'string';
    return { name: field.name, expr: d.literal(value), type };
  }
  let expr = d.id(field.column);
  let type = types.get(d.identifierKey(field.column));
  if (field.dateFormat !== undefined) {
    expr = d.formatTimestamp(expr, field.dateFormat);
    type = 'string';
  }
  if (field.transforms.length) {
    expr = applyTransforms(d, type === 'string' ? expr : d.cast(expr, 'string'), field.transforms);
    type = 'string';
  }
  return { name: field.name, expr, type };
}

export function compileMapping(d: Dialect, sync: SyncDef, types: ColumnTypes): CompiledMapping {
  const key = compileField(d, sync.key, types);
  const fields = sync.fields.map((f) => compileField(d, f, types));
  return { key: d.canonicalText(key.expr, key.type), fields, columns: fields.map((_, i) => `f_${i}`) };
}

/**
 * The hash of a record's mapped values, as SQL over the planner's `f_i` columns: MD5 of a canonical text that
 * names the destination object, the key field and every field with its value. Each piece is written
 * `<length>:<text>` (NULL as `~`), so no value can be confused with a separator; values are written by
 * `Dialect.canonicalText`, identical on DuckDB and PostgreSQL. Changing the object, the key field or the mapping
 * changes every hash, so every record is sent again — which is what such a change means.
 */
export function hashExpression(d: Dialect, sync: SyncDef, mapping: CompiledMapping, qualifier: Sql): Sql {
  const piece = (text: string) => `${[...text].length}:${text}`;
  const fields = mapping.fields.map((field, i) => ({ label: piece(field.name), value: d.canonicalText(sql`${qualifier}.${d.id(mapping.columns[i]!)}`, field.type) }));
  return d.functions.md5Hex(d.recordText(`${piece(sync.object)}${piece(sync.key.name)}`, fields));
}

/**
 * The same canonical text computed in TypeScript from values as the Connection returns them — the reference the
 * cross-engine test checks the SQL against.
 */
export function canonicalRecordText(object: string, keyField: string, fields: readonly { name: string; type: LogicalType | undefined; value: unknown }[]): string {
  const piece = (text: string) => `${[...text].length}:${text}`;
  let out = `${piece(object)}${piece(keyField)}`;
  for (const field of fields) out += piece(field.name) + (field.value === null || field.value === undefined ? '~' : piece(canonicalValue(field.value, field.type)));
  return out;
}

function canonicalValue(value: unknown, type: LogicalType | undefined): string {
  switch (type) {
    case 'decimal':
      return Number(value).toFixed(9);
    case 'float':
      return Math.abs(Number(value)) < 1e15 ? Number(value).toFixed(6) : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'timestamp': {
      const iso = (value instanceof Date ? value : new Date(String(value))).toISOString();
      return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
    }
    default:
      return String(value);
  }
}
