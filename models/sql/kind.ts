import type { LogicalType } from '../../src/dialects/dialect.js';
import { Sql, sql } from '../../src/dialects/sql.js';
import { didYouMean } from '../../src/project/suggest.js';
import { defineModelKind, type InputRef, type OutputColumn } from '../model-kind.js';
import { sqlModelSchema, type SqlModelSpec } from './schema.js';

/** `{{ ref('name') }}` / `{{ var('name') }}`, quotes single or double, spaces free. */
const PLACEHOLDER = /\{\{\s*(\w+)\s*\(\s*(['"])(.*?)\2\s*\)\s*\}\}/g;
const ANY_BRACES = /\{\{(.*?)\}\}/g;

interface Placeholder {
  readonly text: string;
  readonly fn: string;
  readonly arg: string;
}

function placeholders(text: string): Placeholder[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ text: m[0], fn: m[1]!, arg: m[3]! }));
}

export const sqlModel = defineModelKind<SqlModelSpec>({
  kind: 'sql',
  summary: "A SELECT in the warehouse's own SQL, for what the other kinds do not express",
  schema: sqlModelSchema,

  inputs(spec): InputRef[] {
    const refs = [...new Set(placeholders(spec.sql).filter((p) => p.fn === 'ref').map((p) => p.arg))];
    return refs.map((relation) => ({ relation, at: ['sql'], columns: [] }));
  },

  analyse(spec, context): readonly OutputColumn[] | undefined {
    const known = new Set(placeholders(spec.sql).map((p) => p.text));
    for (const m of spec.sql.matchAll(ANY_BRACES)) {
      if (!known.has(m[0])) context.problem(['sql'], `cannot read ${m[0]}: write {{ ref('model_or_source') }} or {{ var('name') }}`, 'bad-placeholder');
    }
    for (const p of placeholders(spec.sql)) {
      if (p.fn !== 'ref' && p.fn !== 'var') context.problem(['sql'], `unknown function ${p.fn}() in ${p.text}: use ref() or var()`, 'bad-placeholder');
      if (p.fn === 'var' && context.vars[p.arg] === undefined)
        context.problem(['sql'], `${p.text}: no variable "${p.arg}" in tideline.yml vars${didYouMean(p.arg, Object.keys(context.vars))}`, 'unknown-var');
    }
    if (!spec.columns) return undefined;
    return Array.isArray(spec.columns)
      ? spec.columns.map((name) => ({ name, type: undefined }))
      : Object.entries(spec.columns).map(([name, type]) => ({ name, type: type as LogicalType }));
  },

  plan(spec, context) {
    const d = context.dialect;
    let text = '';
    let last = 0;
    for (const m of spec.sql.matchAll(PLACEHOLDER)) {
      text += spec.sql.slice(last, m.index);
      const [, fn, , arg] = m as unknown as [string, string, string, string];
      if (fn === 'ref') text += context.relation(arg).text;
      else {
        const value = context.vars[arg];
        if (value === undefined) throw new Error(`{{ var('${arg}') }} reached the compiler; analyse should have reported it`);
        text += d.literal(value).text;
      }
      last = m.index + m[0].length;
    }
    text += spec.sql.slice(last);
    // The analyst's SELECT, wrapped so that a trailing semicolon or ORDER BY cannot change the statement around it.
    const select = sql`SELECT * FROM ${Sql.userQuery(text.trim().replace(/;+\s*$/, ''))} AS q`;
    return { steps: [{ kind: 'sql', label: 'build', sql: d.createTableAs(context.output, select) }] };
  },
});
