import type { FieldPath } from '../../src/project/problems.js';
import type { DateOrder, IdentifierType, IdentitySpec, RulePartSpec, SurvivorshipRule } from './schema.js';

/**
 * The identity spec resolved once into the form analyse, compile and explain share: shorthands expanded, defaults
 * applied, every element carrying the YAML path it came from (for located problems).
 */
export interface IdentityPlan {
  readonly identifiers: ReadonlyMap<string, IdentifierPlan>;
  readonly sources: readonly SourcePlan[];
  readonly rules: readonly RulePlan[];
  readonly golden: readonly GoldenPlan[];
  readonly phoneCountry: string | undefined;
}

export interface IdentifierPlan {
  readonly name: string;
  readonly type: IdentifierType;
  readonly junk: readonly (string | number)[];
  readonly maxPerCustomer: number | undefined;
  readonly country: string | undefined;
  readonly dateOrder: DateOrder | undefined;
  readonly at: FieldPath;
}

/** One column (or expression) of a source feeding an identifier or an attribute. */
export interface InputPlan {
  /** The identifier or attribute it feeds. */
  readonly field: string;
  readonly role: 'identifier' | 'attribute';
  readonly column: string | undefined;
  readonly sql: string | undefined;
  readonly country: string | undefined;
  readonly dateOrder: DateOrder | undefined;
  /** Where the input is written. */
  readonly at: FieldPath;
  /** Where its column name is written (for unknown-column problems). */
  readonly columnAt: FieldPath;
}

export interface SourcePlan {
  /** Label in the outputs: `name`, else `from`. */
  readonly label: string;
  readonly relation: string;
  readonly id: string;
  readonly updatedAt: string | undefined;
  readonly createdAt: string | undefined;
  /** 1 is the most trusted. */
  readonly priority: number;
  readonly inputs: readonly InputPlan[];
  readonly at: FieldPath;
}

export interface RulePartPlan {
  readonly identifier: string;
  readonly prefix: number | undefined;
  readonly at: FieldPath;
}

export interface RulePlan {
  readonly name: string;
  /** 1 for the first (strongest) rule. */
  readonly rank: number;
  readonly parts: readonly RulePartPlan[];
  readonly similar: { readonly identifier: string; readonly method: 'jaro_winkler' | 'edit_distance'; readonly threshold: number; readonly at: FieldPath } | undefined;
  readonly maxRecords: number;
  readonly at: FieldPath;
}

export interface GoldenPlan {
  /** Output column. */
  readonly name: string;
  /** Identifier or attribute. */
  readonly from: string;
  readonly rule: SurvivorshipRule;
  readonly at: FieldPath;
}

/** Columns of the golden table that are not fields: the names a field cannot take. */
export const GOLDEN_COLUMNS = ['customer_id', 'records', 'sources', 'source_ids', 'first_seen', 'last_seen'] as const;

/** Survivorship when `golden` leaves a field out: contact points the latest, names as the most trusted source says. */
export const DEFAULT_RULE: Readonly<Record<IdentifierType | 'attribute', SurvivorshipRule>> = {
  email: 'most_recent',
  phone: 'most_recent',
  code: 'most_recent',
  text: 'most_recent',
  attribute: 'most_recent',
  name: 'source_priority',
  address: 'source_priority',
  postcode: 'source_priority',
  date: 'most_frequent',
};

export function resolvePlan(spec: IdentitySpec): IdentityPlan {
  const identifiers = new Map<string, IdentifierPlan>();
  for (const [name, value] of Object.entries(spec.identifiers)) {
    const at = ['identifiers', name];
    identifiers.set(
      name,
      typeof value === 'string'
        ? { name, type: value, junk: [], maxPerCustomer: undefined, country: undefined, dateOrder: undefined, at }
        : { name, type: value.type, junk: value.junk ?? [], maxPerCustomer: value.max_per_customer, country: value.country, dateOrder: value.date_format, at },
    );
  }

  const sources = spec.sources.map((source, i): SourcePlan => {
    const at = ['sources', i];
    const inputs: InputPlan[] = [];
    for (const [field, value] of Object.entries(source.identifiers)) {
      const base = [...at, 'identifiers', field];
      const entries = Array.isArray(value) ? value.map((v, j) => [v, [...base, j]] as const) : [[value, base] as const];
      for (const [entry, entryAt] of entries) {
        if (typeof entry === 'string') inputs.push({ field, role: 'identifier', column: entry, sql: undefined, country: undefined, dateOrder: undefined, at: entryAt, columnAt: entryAt });
        else inputs.push({ field, role: 'identifier', column: entry.column, sql: entry.sql, country: entry.country, dateOrder: entry.date_format, at: entryAt, columnAt: [...entryAt, 'column'] });
      }
    }
    for (const [field, value] of Object.entries(source.attributes ?? {})) {
      const entryAt = [...at, 'attributes', field];
      if (typeof value === 'string') inputs.push({ field, role: 'attribute', column: value, sql: undefined, country: undefined, dateOrder: undefined, at: entryAt, columnAt: entryAt });
      else inputs.push({ field, role: 'attribute', column: value.column, sql: value.sql, country: undefined, dateOrder: undefined, at: entryAt, columnAt: [...entryAt, 'column'] });
    }
    return {
      label: source.name ?? source.from,
      relation: source.from,
      id: source.id,
      updatedAt: source.updated_at,
      createdAt: source.created_at,
      priority: source.priority ?? i + 1,
      inputs,
      at,
    };
  });

  const rules = spec.rules.map((rule, i): RulePlan => {
    const at = ['rules', i];
    const parts = rule.match.map((part, j) => resolvePart(part, [...at, 'match', j]));
    const similar = rule.similar
      ? {
          identifier: rule.similar.identifier,
          method: rule.similar.jaro_winkler !== undefined ? ('jaro_winkler' as const) : ('edit_distance' as const),
          threshold: rule.similar.jaro_winkler ?? rule.similar.edit_distance ?? 0,
          at: [...at, 'similar'],
        }
      : undefined;
    const defaultName = parts.map((p) => (p.prefix ? `${p.identifier}_${p.prefix}` : p.identifier)).join('+') + (similar ? `~${similar.identifier}` : '');
    return { name: rule.name ?? defaultName, rank: i + 1, parts, similar, maxRecords: rule.max_records ?? spec.max_records_per_value, at };
  });

  const attributes = new Set(sources.flatMap((s) => s.inputs.filter((input) => input.role === 'attribute').map((input) => input.field)));
  const golden: GoldenPlan[] = spec.golden
    ? Object.entries(spec.golden).map(([name, value]) => {
        const at = ['golden', name];
        return typeof value === 'string' ? { name, from: name, rule: value, at } : { name, from: value.from ?? name, rule: value.rule, at };
      })
    : [
        ...[...identifiers.values()].map((identifier) => ({ name: identifier.name, from: identifier.name, rule: DEFAULT_RULE[identifier.type], at: identifier.at })),
        ...[...attributes].filter((a) => !identifiers.has(a)).map((a) => ({ name: a, from: a, rule: DEFAULT_RULE.attribute, at: ['sources'] as FieldPath })),
      ];

  return { identifiers, sources, rules, golden, phoneCountry: spec.phone_country };
}

function resolvePart(part: RulePartSpec, at: FieldPath): RulePartPlan {
  return typeof part === 'string' ? { identifier: part, prefix: undefined, at } : { identifier: part.identifier, prefix: part.prefix, at: [...at, 'identifier'] };
}

/** The identifiers a rule compares: its exact parts and its fuzzy one. */
export function ruleIdentifiers(rule: RulePlan): string[] {
  return [...new Set([...rule.parts.map((p) => p.identifier), ...(rule.similar ? [rule.similar.identifier] : [])])];
}
