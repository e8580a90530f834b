import type { Dialect } from '../../src/dialects/dialect.js';
import { Sql, indentSql, joinSql, sql, unionAll } from '../../src/dialects/sql.js';
import type { PlanContext } from '../model-kind.js';
import { normaliseInline, normaliser, type NormaliseOptions } from './normalise.js';
import { phoneCountry } from './phone-countries.js';
import type { IdentifierPlan, IdentityPlan, InputPlan } from './plan.js';
import { col, emptySelect, text, type IdentityTables } from './tables.js';

/** An input of a source, numbered: its raw text is column `s<slot>` of the rows table. */
export interface Slot {
  readonly slot: number;
  readonly source: string;
  readonly input: InputPlan;
}

export function slotsOf(plan: IdentityPlan): Slot[] {
  let slot = 0;
  return plan.sources.flatMap((source) => source.inputs.map((input) => ({ slot: ++slot, source: source.label, input })));
}

const slotColumn = (slot: number) => `s${slot}`;

/** The raw value of an input, read from the source's row (`src`), as text. */
function inputExpression(d: Dialect, input: InputPlan): Sql {
  const raw = input.sql !== undefined ? Sql.userExpression(input.sql) : col(d, 'src', input.column!);
  return d.cast(raw, 'string');
}

/**
 * Rows: every source read once, in one table. A record is a (source, source id); rows sharing one are the same
 * record (their values all count), rows without an id get no record number and are only counted.
 */
export function rowsSelect(d: Dialect, plan: IdentityPlan, context: Pick<PlanContext, 'relation'>): Sql {
  const slots = slotsOf(plan);
  const branches = plan.sources.map((source) => {
    const time = (column: string | undefined) => (column === undefined ? d.cast(sql`NULL`, 'timestamp') : d.cast(col(d, 'src', column), 'timestamp'));
    const columns = [
      sql`${text(d, source.label)} AS ${d.id('source')}`,
      sql`${d.cast(col(d, 'src', source.id), 'string')} AS ${d.id('source_id')}`,
      sql`${time(source.updatedAt)} AS ${d.id('updated_at')}`,
      sql`${time(source.createdAt)} AS ${d.id('created_at')}`,
      sql`${d.cast(d.literal(source.priority), 'integer')} AS ${d.id('priority')}`,
      ...slots.map((s) => sql`${s.source === source.label ? inputExpression(d, s.input) : text(d, null)} AS ${d.id(slotColumn(s.slot))}`),
    ];
    return sql`SELECT\n${indentSql(joinSql(columns, sql`,\n`))}\nFROM ${context.relation(source.relation)} AS src`;
  });
  const u = (name: string) => col(d, 'u', name);
  return sql`SELECT
  CASE WHEN ${u('source_id')} IS NULL THEN NULL ELSE DENSE_RANK() OVER (ORDER BY ${u('source')}, ${u('source_id')}) END AS ${d.id('rec')},
  u.*
FROM (
${indentSql(unionAll(branches))}
) AS u`;
}

/** Records: one per (source, source id), with its latest update, its first appearance and its source's priority. */
export function recordsSelect(d: Dialect, t: IdentityTables): Sql {
  const r = (name: string) => col(d, 'r', name);
  return sql`SELECT
  ${r('rec')},
  ${r('source')},
  ${r('source_id')},
  MAX(${r('updated_at')}) AS ${d.id('updated_at')},
  MIN(COALESCE(${r('created_at')}, ${r('updated_at')})) AS ${d.id('first_seen')},
  MIN(${r('priority')}) AS ${d.id('priority')}
FROM ${d.table(t.rows)} AS r
WHERE ${r('rec')} IS NOT NULL
GROUP BY ${r('rec')}, ${r('source')}, ${r('source_id')}`;
}

/** Normalisation options of an input: its own, else its identifier's, else the model's. */
export function inputOptions(plan: IdentityPlan, identifier: IdentifierPlan, input: Pick<InputPlan, 'country' | 'dateOrder'> = { country: undefined, dateOrder: undefined }): NormaliseOptions {
  const country = input.country ?? identifier.country ?? plan.phoneCountry;
  return { country: country === undefined ? undefined : phoneCountry(country), dateOrder: input.dateOrder ?? identifier.dateOrder };
}

/** Inputs grouped by the normaliser they need (identifier and options), so that each is written once. */
function normaliserGroups(plan: IdentityPlan, slots: readonly Slot[]): { key: string; identifier: IdentifierPlan | undefined; field: string; options: NormaliseOptions; slots: Slot[] }[] {
  const groups = new Map<string, { key: string; identifier: IdentifierPlan | undefined; field: string; options: NormaliseOptions; slots: Slot[] }>();
  for (const slot of slots) {
    const identifier = slot.input.role === 'identifier' ? plan.identifiers.get(slot.input.field) : undefined;
    const options = identifier ? inputOptions(plan, identifier, slot.input) : {};
    const key = `${slot.input.role}:${slot.input.field}:${options.country?.callingCode ?? ''}:${options.dateOrder ?? ''}`;
    const group = groups.get(key) ?? { key, identifier, field: slot.input.field, options, slots: [] };
    group.slots.push(slot);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * Values: one row per record, field and value, normalised (identifiers) or as they are (attributes), with the form
 * kept for the golden record and whether the value is on the identifier's junk list. One SELECT per normaliser (the
 * table is created by the first and filled by the others): PostgreSQL caches 32 compiled regular expressions per
 * connection, and one statement holding every normaliser's patterns would recompile them on every row. Each
 * normaliser's stages are nested SELECTs, innermost first.
 */
export function valuesSelects(d: Dialect, plan: IdentityPlan, t: IdentityTables): Sql[] {
  const x = (name: string) => col(d, 'x', name);
  const selects = normaliserGroups(plan, slotsOf(plan)).map((group) => {
    const raw = unionAll(
      group.slots.map((s) => sql`SELECT ${d.id('rec')}, ${d.id(slotColumn(s.slot))} AS ${d.id('raw')}, ${d.id(slotColumn(s.slot))} AS ${d.id('v')} FROM ${d.table(t.rows)} WHERE ${d.id('rec')} IS NOT NULL AND ${d.id(slotColumn(s.slot))} IS NOT NULL`),
    );
    const stages = group.identifier ? normaliser(d, group.identifier.type, group.options) : { stages: [] };
    const staged = stages.stages.reduce(
      // The first stage's DISTINCT keeps each (record, raw value) once; every stage after it is a function of the raw
      // value, so a DISTINCT there removes nothing. Where the warehouse needs it, it fences each stage: without it
      // PostgreSQL flattens the nested SELECTs and evaluates a stage's expression again at every reference the next
      // stage makes to it (a date's regular expressions dozens of times). Elsewhere (DuckDB) it is a hash aggregate
      // over every value for nothing.
      (inner, stage, i) =>
        sql`SELECT ${i === 0 || d.capabilities.needsSelectFences ? sql`DISTINCT ` : Sql.empty}${d.id('rec')}, ${d.id('raw')}, ${stage(d.id('v'))} AS ${d.id('v')}\nFROM (\n${indentSql(inner)}\n) AS ${d.id(`n${i + 1}`)}`,
      raw,
    );
    const display = 'display' in stages && stages.display ? stages.display(d.id('raw')) : d.id('v');
    const junk = group.identifier?.junk.length
      ? sql`${x('value')} IN (${joinSql(group.identifier.junk.map((value) => normaliseInline(d, group.identifier!.type, inputOptions(plan, group.identifier!), d.literal(value))))})`
      : sql`FALSE`;
    return sql`SELECT ${x('rec')}, ${x('field')}, ${x('value')}, ${x('display')}, CASE WHEN ${junk} THEN TRUE ELSE FALSE END AS ${d.id('junk')}
FROM (
  SELECT ${d.id('rec')}, ${text(d, group.field)} AS ${d.id('field')}, ${d.id('v')} AS ${d.id('value')}, ${display} AS ${d.id('display')}
  FROM (
${indentSql(staged, 4)}
  ) AS n0
) AS x
WHERE ${x('value')} IS NOT NULL`;
  });
  return selects.length ? selects : [emptySelect(d, [['rec', 'integer'], ['field', 'string'], ['value', 'string'], ['display', 'string'], ['junk', 'boolean']])];
}
