import type { Dialect, LogicalType } from '../../src/dialects/dialect.js';
import { sql, type Sql } from '../../src/dialects/sql.js';
import type { AsOf } from '../../src/expressions/as-of.js';
import type { OutputColumn } from '../model-kind.js';
import type { AudiencesSpec, Channel } from './schema.js';

/** The customer's fields, and the as-of date and consent column a spec leaves to defaults. */

export interface Field {
  readonly name: string;
  /** Alias of the relation in the base CTE: `b` or `j<i>` (see relationAlias). */
  readonly alias: Sql;
  readonly type: LogicalType | undefined;
}

export function fieldsOf(spec: AudiencesSpec, d: Dialect, columnsOf: (relation: string) => readonly OutputColumn[] | undefined): Map<string, Field> | undefined {
  const fields = new Map<string, Field>();
  const relations = [spec.customers, ...spec.join];
  for (const [i, relation] of relations.entries()) {
    const columns = columnsOf(relation);
    if (!columns) return undefined;
    for (const column of columns) {
      const key = d.identifierKey(column.name);
      if (!fields.has(key)) fields.set(key, { name: column.name, alias: relationAlias(d, i), type: column.type });
    }
  }
  return fields;
}

/**
 * Alias in the base CTE of relation `index` of [customers, ...join]: `b` for the customers, `j0`, `j1`, … for the
 * joined ones. Unquoted like the membership SELECT's other aliases, which it writes as plain text (`b.`, `base.`);
 * only the number varies, and it enters through a literal.
 */
export function relationAlias(d: Dialect, index: number): Sql {
  return index === 0 ? sql`b` : sql`j${d.literal(index - 1)}`;
}

/** The audiences' as-of date: their own `as_of`, else the project's `vars.as_of` when defined, else today. */
export function effectiveAsOf(spec: AudiencesSpec, vars: Readonly<Record<string, string | number | boolean>>): AsOf {
  return spec.as_of ?? (vars['as_of'] !== undefined ? { var: 'as_of' } : 'today');
}

export function consentColumn(spec: AudiencesSpec, channel: Channel): string | null {
  const configured = spec.consent[channel];
  return configured === undefined ? `consent_${channel}` : configured;
}
