import type { LogicalType } from '../../src/dialects/dialect.js';
import { keyOf } from '../../src/project/problems.js';
import { didYouMean } from '../../src/project/suggest.js';
import type { AnalyseContext, ColumnRef, InputRef, OutputColumn } from '../model-kind.js';
import { goldenType } from './golden.js';
import { PHONE_COUNTRIES, phoneCountry } from './phone-countries.js';
import { GOLDEN_COLUMNS, resolvePlan, type IdentityPlan } from './plan.js';
import type { IdentitySpec } from './schema.js';

/** Every source read, with the columns named in YAML (the engine checks they exist). */
export function identityInputs(spec: IdentitySpec): InputRef[] {
  const plan = resolvePlan(spec);
  return plan.sources.map((source) => {
    const columns: ColumnRef[] = [{ name: source.id, at: [...source.at, 'id'] }];
    if (source.updatedAt) columns.push({ name: source.updatedAt, at: [...source.at, 'updated_at'] });
    if (source.createdAt) columns.push({ name: source.createdAt, at: [...source.at, 'created_at'] });
    for (const input of source.inputs) if (input.column !== undefined && input.sql === undefined) columns.push({ name: input.column, at: input.columnAt });
    return { relation: source.relation, at: [...source.at, 'from'], columns };
  });
}

/** Checks the engine cannot make (identifiers declared, rules well-formed, functions available); output columns. */
export function analyseIdentity(spec: IdentitySpec, context: AnalyseContext): readonly OutputColumn[] {
  const plan = resolvePlan(spec);
  const d = context.dialect;
  const problem = context.problem;
  const declared = [...plan.identifiers.keys()];
  const reserved = new Set<string>(GOLDEN_COLUMNS);
  const countries = Object.keys(PHONE_COUNTRIES);
  const checkCountry = (code: string | undefined, at: readonly (string | number)[]) => {
    if (code !== undefined && !phoneCountry(code))
      problem(at, `no phone numbering data for country "${code}"${didYouMean(code.toUpperCase(), countries)}; known: ${countries.join(', ')}`, 'unknown-country');
  };

  checkCountry(plan.phoneCountry, ['phone_country']);
  for (const identifier of plan.identifiers.values()) {
    if (reserved.has(identifier.name)) problem(keyOf(identifier.at), `"${identifier.name}" is a column of the golden record (${GOLDEN_COLUMNS.join(', ')}); give the identifier another name`, 'reserved-name');
    if (identifier.country !== undefined && identifier.type !== 'phone') problem([...identifier.at, 'country'], '`country` applies to phone identifiers only', 'invalid-option');
    if (identifier.dateOrder !== undefined && identifier.type !== 'date') problem([...identifier.at, 'date_format'], '`date_format` applies to date identifiers only', 'invalid-option');
    checkCountry(identifier.country, [...identifier.at, 'country']);
  }

  const labels = new Map<string, number>();
  const provided = new Set<string>();
  const attributes = new Set<string>();
  for (const [i, source] of plan.sources.entries()) {
    const previous = labels.get(source.label);
    if (previous !== undefined)
      problem([...source.at, source.label === source.relation ? 'from' : 'name'], `sources[${previous}] is already labelled "${source.label}"; give one of them a distinct \`name\``, 'duplicate-name');
    labels.set(source.label, i);
    const columns = context.columnsOf(source.relation);
    for (const [field, key] of [
      [source.updatedAt, 'updated_at'],
      [source.createdAt, 'created_at'],
    ] as const) {
      const type = field === undefined ? undefined : columns?.find((c) => d.identifierKey(c.name) === d.identifierKey(field))?.type;
      if (type !== undefined && type !== 'timestamp' && type !== 'date')
        problem([...source.at, key], `column "${field}" is ${type}; \`${key}\` needs a date or timestamp column (cast it in a staging model)`, 'wrong-type');
    }
    for (const input of source.inputs) {
      if ((input.column === undefined) === (input.sql === undefined)) problem(input.at, 'give either `column` or `sql` (an expression over the source\'s columns), exactly one', 'conflicting-fields');
      if (input.role === 'attribute') {
        attributes.add(input.field);
        if (plan.identifiers.has(input.field)) problem(keyOf(input.at), `"${input.field}" is an identifier; an attribute needs another name`, 'duplicate-name');
        if (reserved.has(input.field)) problem(keyOf(input.at), `"${input.field}" is a column of the golden record; give the attribute another name`, 'reserved-name');
        continue;
      }
      const identifier = plan.identifiers.get(input.field);
      if (!identifier) {
        problem(keyOf(input.at.slice(0, source.at.length + 2)), `unknown identifier "${input.field}"${didYouMean(input.field, declared)}; declared under \`identifiers\`: ${declared.join(', ') || 'none'}`, 'unknown-identifier');
        continue;
      }
      provided.add(input.field);
      if (input.country !== undefined && identifier.type !== 'phone') problem([...input.at, 'country'], `\`country\` applies to phone identifiers; "${input.field}" is ${identifier.type}`, 'invalid-option');
      if (input.dateOrder !== undefined && identifier.type !== 'date') problem([...input.at, 'date_format'], `\`date_format\` applies to date identifiers; "${input.field}" is ${identifier.type}`, 'invalid-option');
      checkCountry(input.country, [...input.at, 'country']);
      if (identifier.type === 'phone' && !(input.country ?? identifier.country ?? plan.phoneCountry))
        problem(input.at, 'phone numbers need a default country for national numbers: set `phone_country` on the model (e.g. FR), or `country` here', 'missing-country');
    }
  }

  const ruleNames = new Map<string, number>();
  for (const rule of plan.rules) {
    const previous = ruleNames.get(rule.name);
    if (previous !== undefined) problem([...rule.at, 'name'], `rules[${previous - 1}] is already named "${rule.name}"; rule names must be distinct`, 'duplicate-name');
    ruleNames.set(rule.name, rule.rank);
    const parts = [...rule.parts.map((p) => [p.identifier, p.at] as const), ...(rule.similar ? [[rule.similar.identifier, [...rule.similar.at, 'identifier']] as const] : [])];
    for (const [name, at] of parts) {
      if (!plan.identifiers.has(name)) {
        const hint = attributes.has(name) ? ` ("${name}" is an attribute: attributes are kept, not matched)` : didYouMean(name, declared);
        problem(at, `rule "${rule.name}" uses identifier "${name}", which is not declared under \`identifiers\`${hint}`, 'unknown-identifier');
      } else if (!provided.has(name)) {
        problem(at, `rule "${rule.name}" uses identifier "${name}", which no source provides: map a column to it under a source's \`identifiers\``, 'unused-identifier');
      }
    }
    if (rule.similar) {
      const raw = spec.rules[rule.rank - 1]?.similar;
      if ((raw?.jaro_winkler === undefined) === (raw?.edit_distance === undefined))
        problem(rule.similar.at, 'give exactly one of `jaro_winkler` (minimum similarity) or `edit_distance` (maximum distance)', 'conflicting-fields');
      else if (rule.similar.method === 'jaro_winkler' && d.functions.jaroWinkler === null)
        problem([...rule.similar.at, 'jaro_winkler'], `${d.name} has no Jaro-Winkler function; use \`edit_distance\` (maximum number of edits) on this warehouse`, 'unsupported');
      else if (rule.similar.method === 'edit_distance' && d.functions.editDistance === null)
        problem([...rule.similar.at, 'edit_distance'], `${d.name} has no edit-distance function`, 'unsupported');
    }
    if (rule.similar && rule.parts.some((p) => p.identifier === rule.similar!.identifier && p.prefix === undefined))
      problem(rule.similar.at, `"${rule.similar.identifier}" is already matched exactly by this rule; a fuzzy comparison on it adds nothing`, 'invalid-rule');
  }

  const fields = new Set([...declared, ...attributes]);
  for (const field of plan.golden) {
    if (reserved.has(field.name)) problem(keyOf(field.at), `"${field.name}" is a column of the golden record already; name the field otherwise`, 'reserved-name');
    if (!fields.has(field.from))
      problem(spec.golden?.[field.name] !== undefined && typeof spec.golden[field.name] === 'object' ? [...field.at, 'from'] : field.at, `unknown identifier or attribute "${field.from}"${didYouMean(field.from, fields)}`, 'unknown-identifier');
  }

  return outputColumns(plan, context);
}

export function outputColumns(plan: IdentityPlan, context: Pick<AnalyseContext, 'dialect' | 'columnsOf'>): OutputColumn[] {
  const typed = (name: string, type: LogicalType | undefined): OutputColumn => ({ name, type });
  return [
    typed('customer_id', 'string'),
    ...plan.golden.map((field) => typed(field.name, goldenType(plan, field.from, context))),
    typed('records', 'integer'),
    typed('sources', 'string'),
    typed('source_ids', 'string'),
    typed('first_seen', 'timestamp'),
    typed('last_seen', 'timestamp'),
  ];
}
