import type { LogicalType } from '../../src/dialects/dialect.js';
import { keyOf, type Place } from '../../src/project/problems.js';
import { didYouMean } from '../../src/project/suggest.js';
import type { AnalyseContext, ColumnRef, InputRef, OutputColumn } from '../model-kind.js';
import { goldenType } from './golden.js';
import { PHONE_COUNTRIES, phoneCountry } from './phone-countries.js';
import { GOLDEN_COLUMNS, resolvePlan, type IdentityPlan } from './plan.js';
import type { IdentitySpec } from './schema.js';
import { resolveScoring } from './scoring.js';

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

  analyseScoring(spec, plan, provided, attributes, context);

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

/** The `probabilistic` block: identifiers it names, levels the warehouse can compute, thresholds in order. */
function analyseScoring(spec: IdentitySpec, plan: IdentityPlan, provided: ReadonlySet<string>, attributes: ReadonlySet<string>, context: AnalyseContext): void {
  const problem = context.problem;
  const d = context.dialect;
  const declared = [...plan.identifiers.keys()];
  if (!spec.probabilistic) {
    if (!plan.rules.length) problem(['rules'], 'give at least one rule under `rules`, or a `probabilistic` block (scoring trained from the data)', 'missing-rules');
    return;
  }
  const scoring = resolveScoring(spec, plan)!;
  const unknown = (name: string, at: Place, what: string) => {
    if (!plan.identifiers.has(name)) {
      const hint = attributes.has(name) ? ` ("${name}" is an attribute: attributes are kept, not matched)` : didYouMean(name, declared);
      problem(at, `${what} "${name}", which is not declared under \`identifiers\`${hint}`, 'unknown-identifier');
      return true;
    }
    if (!provided.has(name)) {
      problem(at, `${what} "${name}", which no source provides: map a column to it under a source's \`identifiers\``, 'unused-identifier');
      return true;
    }
    return false;
  };
  for (const rule of plan.rules)
    if (rule.name === scoring.rule) problem([...rule.at, 'name'], `"${scoring.rule}" names the links of the \`probabilistic\` block; give the rule another name`, 'reserved-name');
  for (const [name, given] of Object.entries(spec.probabilistic.comparisons ?? {}))
    if (given !== false || !plan.identifiers.has(name)) unknown(name, keyOf(['probabilistic', 'comparisons', name]), 'a comparison names identifier');
  // `<name>_pairs` has columns match_weight, match_probability and prior_weight beside `<identifier>_weight`.
  for (const c of scoring.comparisons)
    if (c.identifier === 'match' || c.identifier === 'prior')
      problem(keyOf(plan.identifiers.get(c.identifier)!.at), `an identifier compared by \`probabilistic\` cannot be named "${c.identifier}" (its weight column would clash with ${c.identifier}_weight in <model>_pairs); rename it`, 'reserved-name');
  if (scoring.comparisons.length && !scoring.blocking.length)
    problem(['probabilistic'], 'no blocking rule: the compared identifiers are all free text, which is not blocked on by default; give `blocking` (e.g. `blocking: [[surname, birth_date]]`)', 'missing-blocking');
  if (!scoring.comparisons.length) problem(['probabilistic', 'comparisons'], 'no identifier is compared: leave at least one comparison in', 'empty');
  for (const c of scoring.comparisons) {
    const given = spec.probabilistic.comparisons?.[c.identifier];
    if (given && given.term_frequency && !c.levels.some((l) => l.kind === 'exact'))
      problem([...c.at, 'term_frequency'], 'term-frequency adjustment applies to the `exact` level, which this comparison does not have', 'invalid-option');
    for (const level of c.levels) {
      if (level.kind === 'jaro_winkler' && d.functions.jaroWinkler === null)
        problem(level.at, `${d.name} has no Jaro-Winkler function; use \`edit_distance\` (maximum number of edits) on this warehouse`, 'unsupported');
      if (level.kind === 'edit_distance' && d.functions.editDistance === null) problem(level.at, `${d.name} has no edit-distance function`, 'unsupported');
      if ((level.kind === 'within_days' || level.kind === 'swapped_day_month') && c.type !== 'date')
        problem(level.at, `\`${level.kind}\` compares dates; "${c.identifier}" is ${c.type}`, 'invalid-option');
      if (level.kind === 'swapped_with') {
        if (level.other === c.identifier) problem(level.at, `"${c.identifier}" cannot be swapped with itself`, 'invalid-option');
        else unknown(level.other!, level.at, 'a level is swapped with identifier');
      }
    }
  }
  for (const rule of scoring.blocking) for (const part of rule.parts) unknown(part.identifier, part.at, 'a blocking rule uses identifier');
  const review = spec.probabilistic.review;
  if (review !== undefined && review > spec.probabilistic.threshold)
    problem(['probabilistic', 'review'], `the review band starts at ${review}, above the threshold (${spec.probabilistic.threshold}): it must be lower`, 'bad-threshold-order');
}
