import { createHash } from 'node:crypto';
import type { Dialect, TableRef } from '../../src/dialects/dialect.js';
import { Sql, indentSql, joinSql, sql, unionAll } from '../../src/dialects/sql.js';
import type { FieldPath } from '../../src/project/problems.js';
import type { IdentityPlan, RulePartPlan } from './plan.js';
import type { IdentifierType, IdentitySpec, LevelSpec } from './schema.js';
import { col, text } from './tables.js';

/**
 * Probabilistic scoring (Fellegi–Sunter), the part of the identity model that needs no hand-written rule.
 *
 * Each *comparison* looks at one identifier of two records and gives the pair a *level*: the first of its ordered
 * levels that holds (exact, within one edit, the same initial…), `else` when none does, or `null` when either value
 * is missing. A pair's match weight is the prior log-odds plus, per comparison, log2(m/u) of its level, where m is how
 * often true matches are at that level and u how often non-matches are; the match probability is 1 / (1 + 2^−weight).
 * Candidate pairs come from blocking rules (records agreeing exactly on a combination), so that a million records are
 * not compared with each other. Training (see em.ts): u from random pairs (each counted by its probability of not being
 * a match), m and the prior by expectation-maximisation on the counts of candidate pairs' level patterns.
 *
 * Gammas are integers: −1 for null, 0 for `else`, and for the levels from the weakest (1) to the strongest
 * (levels.length), so a larger gamma always means closer agreement.
 */

export type LevelKind = 'exact' | 'initial' | 'swapped_day_month' | 'edit_distance' | 'jaro_winkler' | 'within_days' | 'prefix' | 'swapped_with';

export interface LevelPlan {
  readonly kind: LevelKind;
  /** Threshold of a fuzzy level (edits, similarity, days, characters). */
  readonly value: number | undefined;
  /** `swapped_with`: the other identifier. */
  readonly other: string | undefined;
  /** As people read it: `exact`, `≤ 1 edit`, `initial`. */
  readonly label: string;
  readonly gamma: number;
  readonly at: FieldPath;
}

export interface ComparisonPlan {
  readonly identifier: string;
  readonly type: IdentifierType;
  /** Strongest first. */
  readonly levels: readonly LevelPlan[];
  readonly termFrequency: boolean;
  /** 1-based position: columns `g<i>` (level) and `t<i>` (term frequency) of the scored pairs. */
  readonly index: number;
  readonly at: FieldPath;
}

export interface BlockingPlan {
  readonly name: string;
  readonly parts: readonly RulePartPlan[];
  readonly index: number;
  readonly at: FieldPath;
}

export interface ScoringPlan {
  readonly comparisons: readonly ComparisonPlan[];
  readonly blocking: readonly BlockingPlan[];
  readonly threshold: number;
  /** Lower bound of the review band; equal to `threshold` when there is none. */
  readonly review: number;
  readonly maxBlock: number;
  /** The model's `max_records_per_value`: a value on more records is ignored by scoring too. */
  readonly maxRecordsPerValue: number;
  readonly samplePairs: number;
  readonly maxIterations: number;
  /** The rank of probabilistic links among the rules: after every deterministic rule. */
  readonly rank: number;
  /** The rule name of its links in the map and the links. */
  readonly rule: string;
  /** Every identifier the wide table holds, in column order (`v<i>`, 1-based). */
  readonly columns: readonly string[];
  /** Those of them whose value designates one person (e-mail, phone, code): a value on too many records is ignored. */
  readonly designating: readonly string[];
  /** Changes whenever something that changes the trained parameters changes: trained parameters are re-used until then. */
  readonly fingerprint: string;
  readonly at: FieldPath;
}

/** Levels an identifier of this type is compared on when `comparisons` leaves it out. */
export const DEFAULT_LEVELS: Readonly<Record<IdentifierType, readonly LevelSpec[]>> = {
  email: ['exact', { edit_distance: 1 }],
  phone: ['exact', { edit_distance: 1 }],
  name: ['exact', { edit_distance: 1 }, { edit_distance: 2 }, 'initial'],
  date: ['exact', { edit_distance: 1 }, 'swapped_day_month', { within_days: 365 }],
  postcode: ['exact', { edit_distance: 1 }, { prefix: 3 }],
  address: ['exact', { edit_distance: 2 }],
  code: ['exact', { edit_distance: 1 }],
  text: ['exact', { edit_distance: 2 }],
};

/** Types whose exact matches are adjusted by term frequency unless said otherwise: values shared by whole families or towns. */
const TERM_FREQUENCY_TYPES: ReadonlySet<IdentifierType> = new Set(['name', 'text']);
/** Types blocked on alone (free text such as a gender or an occupation is too common to be). */
const SINGLE_TYPES: ReadonlySet<IdentifierType> = new Set(['email', 'phone', 'code', 'name', 'date', 'postcode', 'address']);
const DESIGNATING_TYPES: ReadonlySet<IdentifierType> = new Set(['email', 'phone', 'code']);
const PAIRED_TYPES: ReadonlySet<IdentifierType> = new Set(['name', 'date', 'postcode', 'address']);

export const PRIOR = '(prior)';

function levelPlan(spec: LevelSpec, gamma: number, at: FieldPath): LevelPlan {
  if (typeof spec === 'string') {
    const label = spec === 'swapped_day_month' ? 'day and month swapped' : spec;
    return { kind: spec, value: undefined, other: undefined, label, gamma, at };
  }
  if ('edit_distance' in spec) return { kind: 'edit_distance', value: spec.edit_distance, other: undefined, label: `≤ ${spec.edit_distance} edit${spec.edit_distance === 1 ? '' : 's'}`, gamma, at };
  if ('jaro_winkler' in spec) return { kind: 'jaro_winkler', value: spec.jaro_winkler, other: undefined, label: `Jaro-Winkler ≥ ${spec.jaro_winkler}`, gamma, at };
  if ('within_days' in spec) return { kind: 'within_days', value: spec.within_days, other: undefined, label: `within ${spec.within_days} days`, gamma, at };
  if ('prefix' in spec) return { kind: 'prefix', value: spec.prefix, other: undefined, label: `first ${spec.prefix} characters`, gamma, at };
  return { kind: 'swapped_with', value: undefined, other: spec.swapped_with, label: `swapped with ${spec.swapped_with}`, gamma, at };
}

/** The scoring block resolved: defaults from the identifier types, or undefined when the model has none. */
export function resolveScoring(spec: IdentitySpec, plan: IdentityPlan): ScoringPlan | undefined {
  const p = spec.probabilistic;
  if (!p) return undefined;
  const at: FieldPath = ['probabilistic'];
  const provided = new Set(plan.sources.flatMap((s) => s.inputs.filter((i) => i.role === 'identifier').map((i) => i.field)));
  const comparisons: ComparisonPlan[] = [];
  for (const identifier of plan.identifiers.values()) {
    const given = p.comparisons?.[identifier.name];
    if (given === false || (given === undefined && !provided.has(identifier.name))) continue;
    const cat: FieldPath = given === undefined ? identifier.at : [...at, 'comparisons', identifier.name];
    const specs = given?.levels ?? DEFAULT_LEVELS[identifier.type];
    const levels = specs.map((level, i) => levelPlan(level, specs.length - i, given?.levels ? [...cat, 'levels', i] : cat));
    comparisons.push({
      identifier: identifier.name,
      type: identifier.type,
      levels,
      termFrequency: given?.term_frequency ?? TERM_FREQUENCY_TYPES.has(identifier.type),
      index: comparisons.length + 1,
      at: cat,
    });
  }
  const types = new Map([...plan.identifiers.values()].map((i) => [i.name, i.type]));
  const blockingParts: { parts: RulePartPlan[]; at: FieldPath }[] = p.blocking
    ? p.blocking.map((rule, i) => ({
        parts: rule.map((part, j) => (typeof part === 'string' ? { identifier: part, prefix: undefined, at: [...at, 'blocking', i, j] } : { identifier: part.identifier, prefix: part.prefix, at: [...at, 'blocking', i, j, 'identifier'] })),
        at: [...at, 'blocking', i],
      }))
    : defaultBlocking(comparisons.map((c) => c.identifier), types, at);
  const blocking = blockingParts.map((b, i): BlockingPlan => ({
    name: b.parts.map((part) => (part.prefix ? `${part.identifier}_${part.prefix}` : part.identifier)).join('+'),
    parts: b.parts,
    index: i + 1,
    at: b.at,
  }));
  const columns = [
    ...new Set([
      ...comparisons.map((c) => c.identifier),
      ...comparisons.flatMap((c) => c.levels.flatMap((l) => (l.other ? [l.other] : []))),
      ...blocking.flatMap((b) => b.parts.map((part) => part.identifier)),
    ]),
  ].filter((name) => plan.identifiers.has(name));
  const review = p.review ?? Math.min(0.5, p.threshold);
  const settings = {
    comparisons: comparisons.map((c) => [c.identifier, c.type, c.levels.map((l) => [l.kind, l.value, l.other]), c.termFrequency]),
    blocking: blocking.map((b) => b.parts.map((part) => [part.identifier, part.prefix])),
    samplePairs: p.sample_pairs,
    maxBlock: p.max_block,
    maxRecordsPerValue: spec.max_records_per_value,
    maxIterations: p.max_iterations,
    sources: plan.sources.map((s) => [s.label, s.relation, s.inputs.filter((i) => i.role === 'identifier').map((i) => [i.field, i.column, i.sql, i.country, i.dateOrder])]),
    identifiers: [...plan.identifiers.values()].map((i) => [i.name, i.type, i.junk, i.country, i.dateOrder]),
    phoneCountry: plan.phoneCountry,
    version: TRAINING_VERSION,
  };
  return {
    comparisons,
    blocking,
    threshold: p.threshold,
    review: Math.min(review, p.threshold),
    maxBlock: p.max_block,
    maxRecordsPerValue: spec.max_records_per_value,
    samplePairs: p.sample_pairs,
    maxIterations: p.max_iterations,
    rank: plan.rules.length + 1,
    rule: 'probabilistic',
    columns,
    designating: columns.filter((name) => DESIGNATING_TYPES.has(types.get(name)!)),
    fingerprint: createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16),
    at,
  };
}

/** Bumped when training changes, so that parameters trained by an older Tideline are trained again. */
const TRAINING_VERSION = 1;

/**
 * Blocking rules from the identifier types: every identifier alone (its keys held by more than `max_block` records,
 * a common surname, make no pairs), then every pair of the weaker ones (names, dates, postcodes, addresses) — so a
 * record with a typo in one field still meets its duplicate through another, and common values are still blocked on
 * in combination.
 */
function defaultBlocking(compared: readonly string[], types: ReadonlyMap<string, IdentifierType>, at: FieldPath): { parts: RulePartPlan[]; at: FieldPath }[] {
  const part = (identifier: string): RulePartPlan => ({ identifier, prefix: undefined, at });
  const single = compared.filter((name) => SINGLE_TYPES.has(types.get(name)!));
  const paired = compared.filter((name) => PAIRED_TYPES.has(types.get(name)!));
  const rules = single.map((name) => ({ parts: [part(name)], at }));
  for (let i = 0; i < paired.length; i++) for (let j = i + 1; j < paired.length; j++) rules.push({ parts: [part(paired[i]!), part(paired[j]!)], at });
  return rules;
}

// ---- SQL --------------------------------------------------------------------------------------------------------

export interface ScoringTables {
  /** (field, value, records): e-mails, phones and codes on more records than `max_records_per_value`, left out. */
  readonly shared: TableRef;
  /** One row per record: `rec` and `v<i>`, the record's (smallest) normalised value of each identifier. */
  readonly wide: TableRef;
  /** (field, value, tf): how common each value of a term-frequency comparison is. */
  readonly tf: TableRef;
  /** Candidate pairs (a < b). */
  readonly pairs: TableRef;
  /** Candidate pairs with their level per comparison, term frequencies and blocking flags. */
  readonly gammas: TableRef;
  /** Pairs scored at or above the review band: weight, probability. */
  readonly scores: TableRef;
  /** The trained parameters (build table of the `_parameters` companion). */
  readonly params: TableRef;
  /** The previous build's parameters (visible companion). */
  readonly previousParams: TableRef;
  /** What this build's training did: (kind, item, value) — blocks that did not converge, comparisons not trained. */
  readonly training: TableRef;
  /** One row per record: its source and id, which draw the random sample. */
  readonly records: TableRef;
  /** The previous build's parameters with this fingerprint, carried over (empty on a first build or when retraining). */
  readonly carriedParams: TableRef;
}

const v = (plan: ScoringPlan, identifier: string) => `v${plan.columns.indexOf(identifier) + 1}`;

export function wideSelect(d: Dialect, plan: ScoringPlan, values: TableRef, shared: TableRef): Sql {
  const x = (name: string) => col(d, 'x', name);
  const columns = plan.columns.map((name) => sql`MIN(CASE WHEN ${x('field')} = ${d.string(name)} THEN ${x('value')} END) AS ${d.id(v(plan, name))}`);
  return sql`SELECT ${x('rec')}, ${joinSql(columns)}
FROM ${d.table(values)} AS x
LEFT JOIN ${d.table(shared)} AS o ON ${col(d, 'o', 'field')} = ${x('field')} AND ${col(d, 'o', 'value')} = ${x('value')}
WHERE NOT ${x('junk')} AND ${x('field')} IN (${joinSql(plan.columns.map((name) => d.string(name)))}) AND ${col(d, 'o', 'field')} IS NULL
GROUP BY ${x('rec')}`;
}

/**
 * Values of e-mails, phones and codes held by more records than `max_records_per_value` (a shop's phone or e-mail
 * typed for every till customer): nobody's, as for the rules — scoring ignores them (they would be a strong agreement
 * between strangers) and the report lists how many per identifier. Names, dates and places are shared by many people
 * by nature: their commonness is weighed by term frequency, not cut.
 */
export function sharedValuesSelect(d: Dialect, plan: ScoringPlan, values: TableRef): Sql {
  const designating = plan.designating.length ? joinSql(plan.designating.map((name) => d.string(name))) : d.string('');
  return sql`SELECT ${d.id('field')}, ${d.id('value')}, COUNT(DISTINCT ${d.id('rec')}) AS ${d.id('records')}
FROM ${d.table(values)}
WHERE NOT ${d.id('junk')} AND ${d.id('field')} IN (${designating})
GROUP BY ${d.id('field')}, ${d.id('value')}
HAVING COUNT(DISTINCT ${d.id('rec')}) > ${d.literal(plan.maxRecordsPerValue)}`;
}

export function tfSelect(d: Dialect, plan: ScoringPlan, wide: TableRef): Sql {
  const branches = plan.comparisons
    .filter((c) => c.termFrequency)
    .map((c) => {
      const value = d.id(v(plan, c.identifier));
      return sql`SELECT ${text(d, c.identifier)} AS ${d.id('field')}, ${value} AS ${d.id('value')},
  CAST(COUNT(*) AS ${d.type('float')}) / SUM(COUNT(*)) OVER () AS ${d.id('tf')}
FROM ${d.table(wide)}
WHERE ${value} IS NOT NULL
GROUP BY ${value}`;
    });
  return branches.length ? unionAll(branches) : sql`SELECT ${text(d, '')} AS ${d.id('field')}, ${text(d, '')} AS ${d.id('value')}, ${d.cast(sql`0`, 'float')} AS ${d.id('tf')} LIMIT 0`;
}

function keyOf(d: Dialect, plan: ScoringPlan, part: RulePartPlan, alias: string | undefined): Sql {
  const value = alias ? col(d, alias, v(plan, part.identifier)) : d.id(v(plan, part.identifier));
  return part.prefix ? d.functions.substring(value, d.literal(1), d.literal(part.prefix)) : value;
}

/**
 * Candidate pairs: records agreeing on a blocking rule's key, in keys held by at most `max_block` records. Each rule's
 * keyed records (`b<i>`) are computed once and joined with themselves.
 */
export function pairsSelect(d: Dialect, plan: ScoringPlan, wide: TableRef): Sql {
  const keyed = plan.blocking.map((rule) => {
    const keys = rule.parts.map((part, i) => sql`${keyOf(d, plan, part, undefined)} AS ${d.id(`k${i + 1}`)}`);
    const notNull = joinSql(
      rule.parts.map((part) => sql`${d.id(v(plan, part.identifier))} IS NOT NULL`),
      sql` AND `,
    );
    return sql`${d.id(`b${rule.index}`)} AS (
  SELECT ${d.id('rec')}, ${joinSql(rule.parts.map((_, i) => d.id(`k${i + 1}`)))}
  FROM (
    SELECT ${d.id('rec')}, ${joinSql(keys)}, COUNT(*) OVER (PARTITION BY ${joinSql(rule.parts.map((part) => keyOf(d, plan, part, undefined)))}) AS ${d.id('n')}
    FROM ${d.table(wide)}
    WHERE ${notNull}
  ) AS k
  WHERE ${d.id('n')} <= ${d.literal(plan.maxBlock)}
)`;
  });
  const branches = plan.blocking.map((rule) => {
    const same = joinSql(
      rule.parts.map((_, i) => sql`${col(d, 'r', `k${i + 1}`)} = ${col(d, 'l', `k${i + 1}`)}`),
      sql` AND `,
    );
    return sql`SELECT ${col(d, 'l', 'rec')} AS ${d.id('a')}, ${col(d, 'r', 'rec')} AS ${d.id('b')}
FROM ${d.id(`b${rule.index}`)} AS l
JOIN ${d.id(`b${rule.index}`)} AS r ON ${same} AND ${col(d, 'r', 'rec')} > ${col(d, 'l', 'rec')}`;
  });
  return sql`WITH ${joinSql(keyed, sql`,
`)}
SELECT DISTINCT ${d.id('a')}, ${d.id('b')}
FROM (
${indentSql(unionAll(branches))}
) AS p`;
}

/** The level (gamma) of one comparison for records `l` and `r`. */
export function gammaSql(d: Dialect, plan: ScoringPlan, c: ComparisonPlan, l: string, r: string, distance?: Sql): Sql {
  return gammaOf(d, c, (identifier) => col(d, l, v(plan, identifier)), (identifier) => col(d, r, v(plan, identifier)), distance);
}

/** Comparisons with an edit-distance level: the distance is computed once per pair (`e<i>`), not once per level. */
const usesDistance = (c: ComparisonPlan) => c.levels.some((l) => l.kind === 'edit_distance');

function gammaOf(d: Dialect, c: ComparisonPlan, left: (identifier: string) => Sql, right: (identifier: string) => Sql, distance: Sql | undefined): Sql {
  const x = left(c.identifier);
  const y = right(c.identifier);
  const sub = (e: Sql, start: number, length: number) => d.functions.substring(e, d.literal(start), d.literal(length));
  const condition = (level: LevelPlan): Sql => {
    switch (level.kind) {
      case 'exact':
        return sql`${x} = ${y}`;
      case 'edit_distance':
        return sql`${distance ?? d.fn('editDistance')(x, y)} <= ${d.literal(level.value!)}`;
      case 'jaro_winkler':
        return sql`${d.fn('jaroWinkler')(x, y)} >= ${d.literal(level.value!)}`;
      case 'prefix':
        return sql`${sub(x, 1, level.value!)} = ${sub(y, 1, level.value!)}`;
      case 'initial':
        return sql`${sub(x, 1, 1)} = ${sub(y, 1, 1)} AND (${d.functions.length(x)} = 1 OR ${d.functions.length(y)} = 1)`;
      case 'swapped_day_month':
        return sql`${sub(x, 1, 4)} = ${sub(y, 1, 4)} AND ${sub(x, 6, 2)} = ${sub(y, 9, 2)} AND ${sub(x, 9, 2)} = ${sub(y, 6, 2)}`;
      case 'within_days':
        // Normalised dates are valid `YYYY-MM-DD` text (normalise.ts drops the others), so a plain cast is safe.
        return sql`ABS(${d.dateDiff('day', d.cast(x, 'date'), d.cast(y, 'date'))}) <= ${d.literal(level.value!)}`;
      case 'swapped_with': {
        const ox = left(level.other!);
        const oy = right(level.other!);
        return sql`${x} = ${oy} AND ${ox} = ${y}`;
      }
    }
  };
  const whens = c.levels.map((level) => sql`WHEN ${condition(level)} THEN ${d.literal(level.gamma)}`);
  return sql`CASE WHEN ${x} IS NULL OR ${y} IS NULL THEN -1 ${joinSql(whens, sql` `)} ELSE 0 END`;
}

/** Whether a pair agrees on a blocking rule's key (1/0), whatever the size of the key's block. */
function blockFlag(d: Dialect, plan: ScoringPlan, rule: BlockingPlan): Sql {
  const same = joinSql(
    rule.parts.map((part) => sql`${keyOf(d, plan, part, 'l')} = ${keyOf(d, plan, part, 'r')}`),
    sql` AND `,
  );
  return sql`CASE WHEN ${same} THEN 1 ELSE 0 END`;
}

export function gammasSelect(d: Dialect, plan: ScoringPlan, t: ScoringTables): Sql {
  const p = (name: string) => col(d, 'p', name);
  const x = (name: string) => col(d, 'x', name);
  const side = (prefix: 'l' | 'r') => (identifier: string) => x(`${prefix}_${v(plan, identifier)}`);
  const gammas = plan.comparisons.map((c) => sql`${gammaOf(d, c, side('l'), side('r'), usesDistance(c) ? x(`e${c.index}`) : undefined)} AS ${d.id(`g${c.index}`)}`);
  const tfs = plan.comparisons.filter((c) => c.termFrequency).map((c) => sql`${col(d, `t${c.index}`, 'tf')} AS ${d.id(`t${c.index}`)}`);
  const flags = plan.blocking.map((rule) => sql`${blockFlag(d, plan, rule)} AS ${d.id(`f${rule.index}`)}`);
  const tfJoins = plan.comparisons
    .filter((c) => c.termFrequency)
    .map((c) => sql`\nLEFT JOIN ${d.table(t.tf)} AS ${d.id(`t${c.index}`)} ON ${col(d, `t${c.index}`, 'field')} = ${d.string(c.identifier)} AND ${col(d, `t${c.index}`, 'value')} = ${col(d, 'l', v(plan, c.identifier))}`);
  const values = plan.columns.flatMap((identifier) => [
    sql`${col(d, 'l', v(plan, identifier))} AS ${d.id(`l_${v(plan, identifier)}`)}`,
    sql`${col(d, 'r', v(plan, identifier))} AS ${d.id(`r_${v(plan, identifier)}`)}`,
  ]);
  const distances = plan.comparisons.filter(usesDistance).map((c) => {
    const [l, r] = [col(d, 'l', v(plan, c.identifier)), col(d, 'r', v(plan, c.identifier))];
    return sql`CASE WHEN ${l} = ${r} THEN 0 ELSE ${d.fn('editDistance')(l, r)} END AS ${d.id(`e${c.index}`)}`;
  });
  return sql`SELECT ${x('a')}, ${x('b')}, ${joinSql([...gammas, ...plan.comparisons.filter((c) => c.termFrequency).map((c) => x(`t${c.index}`)), ...plan.blocking.map((b) => x(`f${b.index}`))])}
FROM (
  SELECT ${p('a')}, ${p('b')}, ${joinSql([...values, ...distances, ...tfs, ...flags])}
  FROM ${d.table(t.pairs)} AS p
  JOIN ${d.table(t.wide)} AS l ON ${col(d, 'l', 'rec')} = ${p('a')}
  JOIN ${d.table(t.wide)} AS r ON ${col(d, 'r', 'rec')} = ${p('b')}${joinSql(tfJoins, Sql.empty)}
) AS x`;
}

/** Training query: how many candidate pairs show each pattern of levels and blocking flags. */
export function patternsSelect(d: Dialect, plan: ScoringPlan, t: ScoringTables): Sql {
  const names = [...plan.comparisons.map((c) => d.id(`g${c.index}`)), ...plan.blocking.map((b) => d.id(`f${b.index}`))];
  return sql`SELECT ${joinSql(names)}, COUNT(*) AS ${d.id('pairs')}
FROM ${d.table(t.gammas)}
GROUP BY ${joinSql(names)}`;
}

/** Records drawn for the random pairs: about √(2·sample_pairs), chosen by a hash of the record number (repeatable). */
export function sampleSize(plan: ScoringPlan): number {
  return Math.ceil(Math.sqrt(2 * plan.samplePairs)) + 1;
}

/** Training query: how many random pairs show each pattern of levels, for u. */
export function randomPatternsSelect(d: Dialect, plan: ScoringPlan, t: ScoringTables): Sql {
  const gammas = plan.comparisons.map((c) => sql`${gammaSql(d, plan, c, 'l', 'r')} AS ${d.id(`g${c.index}`)}`);
  const names = plan.comparisons.map((c) => d.id(`g${c.index}`));
  // Drawn by a hash of `source:id`, not of the record number: numbering follows the database's collation, so the
  // same records give the same sample on every engine and locale.
  const key = sql`${col(d, 'k', 'source')} || ${d.string(':')} || ${col(d, 'k', 'source_id')}`;
  return sql`WITH s AS (
  SELECT ${d.id('w')}.*
  FROM ${d.table(t.wide)} AS w
  JOIN ${d.table(t.records)} AS k ON ${col(d, 'k', 'rec')} = ${col(d, 'w', 'rec')}
  ORDER BY ${d.hashToUint32(key)}, ${d.functions.md5Hex(key)}
  LIMIT ${d.literal(sampleSize(plan))}
), g AS (
  SELECT ${joinSql(gammas)}
  FROM s AS l
  JOIN s AS r ON ${col(d, 'r', 'rec')} > ${col(d, 'l', 'rec')}
)
SELECT ${joinSql(names)}, COUNT(*) AS ${d.id('pairs')}
FROM g
GROUP BY ${joinSql(names)}`;
}

/**
 * Scored pairs at or above the review band: the prior's weight, plus each comparison's weight at the pair's level
 * (0 for null), an exact match on a term-frequency comparison weighing log2(m / tf(value)) instead of log2(m / u).
 */
export function scoresSelect(d: Dialect, plan: ScoringPlan, t: ScoringTables): Sql {
  const g = (name: string) => col(d, 'g', name);
  const float = d.type('float');
  const joins = plan.comparisons.map(
    (c) => sql`\nLEFT JOIN ${d.table(t.params)} AS ${d.id(`w${c.index}`)} ON ${col(d, `w${c.index}`, 'comparison')} = ${d.string(c.identifier)} AND ${col(d, `w${c.index}`, 'gamma')} = ${g(`g${c.index}`)}`,
  );
  const weights = plan.comparisons.map((c) => {
    const w = (name: string) => col(d, `w${c.index}`, name);
    const base = sql`COALESCE(${w('weight')}, 0)`;
    if (!c.termFrequency) return sql`${base} AS ${d.id(`w${c.index}`)}`;
    const exact = c.levels.find((l) => l.kind === 'exact')?.gamma;
    if (exact === undefined) return sql`${base} AS ${d.id(`w${c.index}`)}`;
    return sql`CASE WHEN ${g(`g${c.index}`)} = ${d.literal(exact)} AND ${g(`t${c.index}`)} > 0 THEN LN(${w('m')} / GREATEST(${g(`t${c.index}`)}, ${col(d, 'pr', 'u')})) / LN(2) ELSE ${base} END AS ${d.id(`w${c.index}`)}`;
  });
  const total = joinSql(
    [col(d, 'x', 'prior'), ...plan.comparisons.map((c) => col(d, 'x', `w${c.index}`))],
    sql` + `,
  );
  const gammas = plan.comparisons.map((c) => g(`g${c.index}`));
  return sql`SELECT ${col(d, 'x', 'a')}, ${col(d, 'x', 'b')}, ${joinSql(plan.comparisons.map((c) => col(d, 'x', `g${c.index}`)))}, ${joinSql(plan.comparisons.map((c) => col(d, 'x', `w${c.index}`)))},
  ${col(d, 'x', 'prior')}, ${total} AS ${d.id('weight')}, CAST(1 AS ${float}) / (1 + POWER(CAST(2 AS ${float}), -(${total}))) AS ${d.id('probability')}
FROM (
  SELECT ${g('a')}, ${g('b')}, ${joinSql(gammas)}, ${col(d, 'pr', 'weight')} AS ${d.id('prior')}, ${joinSql(weights)}
  FROM ${d.table(t.gammas)} AS g
  CROSS JOIN (SELECT ${d.id('weight')}, ${d.id('u')} FROM ${d.table(t.params)} WHERE ${d.id('comparison')} = ${d.string(PRIOR)}) AS pr${joinSql(joins, Sql.empty)}
) AS x
WHERE ${total} >= ${d.literal(logit2(plan.review))}`;
}

/**
 * Probabilistic links rank after every rule, in tiers by probability (0: at least 0.9999, 1: at least 0.999, 2: the
 * rest), so that a cap on distinct values per customer (`max_per_customer`) sets the least certain links aside first,
 * as it sets aside the last rules' links.
 */
export const PROBABILITY_TIERS = [0.9999, 0.999] as const;

export function tierSql(d: Dialect, probability: Sql): Sql {
  const whens = PROBABILITY_TIERS.map((p, i) => sql`WHEN ${probability} >= ${d.literal(p)} THEN ${d.literal(i)}`);
  return sql`CASE ${joinSql(whens, sql` `)} ELSE ${d.literal(PROBABILITY_TIERS.length)} END`;
}

/** log2(p / (1 − p)): the weight at which a pair's probability is p. */
export function logit2(p: number): number {
  return Math.log2(p / (1 - p));
}

/** The candidate-pair columns a review or link row carries: the level and weight of each comparison. */
export function levelLabelSql(d: Dialect, c: ComparisonPlan, gamma: Sql): Sql {
  const whens = c.levels.map((level) => sql`WHEN ${d.literal(level.gamma)} THEN ${d.string(level.label)}`);
  return sql`CASE ${gamma} WHEN -1 THEN ${d.string('null')} ${joinSql(whens, sql` `)} ELSE ${d.string('else')} END`;
}

export const _internal = { v };
