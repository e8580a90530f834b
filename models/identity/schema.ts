import { z } from 'zod';
import { columnName, objectName } from '../../src/project/names.js';

/**
 * The YAML of an identity model. Vocabulary:
 *  - an *identifier* is a named kind of value that can tell two records are the same person (`email`, `last_name`),
 *    with a *type* that says how it is normalised;
 *  - a *source* lists, for one table or model, its record id and which of its columns carry which identifier;
 *  - a *rule* links two records that agree exactly on one identifier or a combination, optionally also requiring a
 *    fuzzy match on another identifier inside that exact block;
 *  - the *golden* record picks, per output field, one value among a customer's records by a survivorship rule.
 */

/** How values are normalised before matching (see normalise.ts). */
export const IDENTIFIER_TYPES = ['email', 'phone', 'name', 'postcode', 'date', 'code', 'address', 'text'] as const;
export type IdentifierType = (typeof IDENTIFIER_TYPES)[number];

/** The order of day, month and year in dates written as text. ISO dates (2024-01-31) are read in every order. */
export const DATE_ORDERS = ['ymd', 'dmy', 'mdy'] as const;
export type DateOrder = (typeof DATE_ORDERS)[number];

export const SURVIVORSHIP_RULES = ['source_priority', 'most_recent', 'most_frequent', 'longest'] as const;
export type SurvivorshipRule = (typeof SURVIVORSHIP_RULES)[number];

const countryCode = z.string().regex(/^[A-Za-z]{2}$/, 'a two-letter ISO 3166 country code such as FR or GB');

export const identifierSchema = z.union([
  z.enum(IDENTIFIER_TYPES),
  z.strictObject({
    type: z.enum(IDENTIFIER_TYPES),
    description: z.string().optional(),
    junk: z.array(z.union([z.string(), z.number()])).optional().describe('Values that never identify anyone (`test@test.com`), compared after normalisation; dropped and reported.'),
    max_per_customer: z.int().min(1).optional().describe('At most this many distinct values per customer; beyond it, the weakest links of that customer are not used.'),
    country: countryCode.optional().describe("Phones: the country of numbers written without an international prefix (overrides the model's)."),
    date_format: z.enum(DATE_ORDERS).optional().describe('Dates: how dates written as text are ordered.'),
  }),
]);

/** One column of a source carrying an identifier: its name, or a SQL expression over the source's columns. */
export const inputSchema = z.union([
  z.string().min(1),
  z.strictObject({
    column: z.string().min(1).optional(),
    sql: z.string().min(1).optional().describe("A SQL expression over the source's columns, instead of `column`; it is normalised like a column."),
    country: countryCode.optional(),
    date_format: z.enum(DATE_ORDERS).optional(),
  }),
]);
export type InputEntry = z.infer<typeof inputSchema>;

export const identitySourceSchema = z.strictObject({
  from: z.string().min(1).describe('The source or model to read.'),
  name: objectName.optional().describe('The label of this source in the outputs (`<label>:<record id>`); defaults to `from`.'),
  id: z.string().min(1).describe("The column holding the source's own record id. Rows without one are counted and left out."),
  updated_at: z.string().min(1).optional().describe('When the record last changed: recency for survivorship (`most_recent`).'),
  created_at: z.string().min(1).optional().describe('When the record was created: decides the oldest record of a customer, whose id survives merges.'),
  priority: z.int().min(1).optional().describe('Survivorship rank of this source, 1 being the most trusted; defaults to the order of the sources.'),
  identifiers: z.record(z.string().min(1), z.union([inputSchema, z.array(inputSchema).min(1)])).describe('Identifier name → the column(s) carrying it.'),
  attributes: z.record(columnName, z.union([z.string().min(1), z.strictObject({ column: z.string().min(1).optional(), sql: z.string().min(1).optional() })])).optional().describe('Other columns kept for the golden record without being used for matching (city, opt-in…).'),
});
export type IdentitySourceSpec = z.infer<typeof identitySourceSchema>;

/** A part of a rule's exact key: an identifier, or its first `prefix` characters (a first name's initial). */
export const rulePartSchema = z.union([z.string().min(1), z.strictObject({ identifier: z.string().min(1), prefix: z.int().min(1) })]);
export type RulePartSpec = z.infer<typeof rulePartSchema>;

export const ruleSchema = z.strictObject({
  name: objectName.optional().describe('Named in the map, the report and `identity explain`; defaults to the identifiers joined by `+`.'),
  match: z.array(rulePartSchema).min(1).describe('Identifiers that must be equal (after normalisation) on both records.'),
  similar: z
    .strictObject({
      identifier: z.string().min(1),
      /** Minimum Jaro-Winkler similarity, in (0, 1]. */
      jaro_winkler: z.number().gt(0).max(1).optional(),
      /** Maximum edit (Levenshtein) distance. */
      edit_distance: z.int().min(0).optional(),
    })
    .optional()
    .describe('A fuzzy comparison, applied only to pairs of records that already agree on `match`.'),
  max_records: z.int().min(2).optional().describe('Overrides `max_records_per_value` for this rule.'),
});
export type RuleSpec = z.infer<typeof ruleSchema>;

export const goldenFieldSchema = z.union([
  z.enum(SURVIVORSHIP_RULES),
  z.strictObject({
    from: z.string().min(1).optional().describe("The identifier or attribute the field is taken from; defaults to the field's name."),
    rule: z.enum(SURVIVORSHIP_RULES),
  }),
]);

/**
 * One level of a probabilistic comparison, from the strongest agreement to the weakest; the first that holds for a
 * pair is its level. Pairs where either value is missing get the null level (no evidence), and pairs matching no
 * level the `else` level (disagreement).
 */
export const levelSchema = z.union([
  z.enum(['exact', 'initial', 'swapped_day_month']),
  z.strictObject({ edit_distance: z.int().min(1).describe('At most this many edits (Levenshtein).') }),
  z.strictObject({ jaro_winkler: z.number().gt(0).lt(1).describe('Jaro-Winkler similarity at least this, where the warehouse has the function.') }),
  z.strictObject({ within_days: z.int().min(1).describe('Dates: at most this many days apart.') }),
  z.strictObject({ prefix: z.int().min(1).describe('The first N characters are equal (a postcode district).') }),
  z.strictObject({ swapped_with: z.string().min(1).describe("This identifier's value equals the other record's value of that identifier, both ways (given name and surname swapped).") }),
]);
export type LevelSpec = z.infer<typeof levelSchema>;

export const comparisonSchema = z.strictObject({
  levels: z.array(levelSchema).min(1).optional().describe("Levels from the strongest agreement to the weakest; defaults from the identifier's type."),
  term_frequency: z.boolean().optional().describe('Adjust the weight of an exact match by how common the value is (a shared rare surname counts more than a shared "smith"); defaults to true for names.'),
});
export type ComparisonSpec = z.infer<typeof comparisonSchema>;

export const probabilisticSchema = z.strictObject({
  comparisons: z.record(z.string().min(1), z.union([comparisonSchema, z.literal(false)])).optional().describe('Identifier → its comparison; every identifier a source provides is compared by default, from its type; `false` leaves one out.'),
  blocking: z.array(z.array(rulePartSchema).min(1)).min(1).optional().describe('Candidate pairs: records that agree exactly on one of these combinations. Defaults from the identifier types.'),
  threshold: z.number().gt(0).lt(1).default(0.98).describe('Pairs with a match probability at least this are linked. Links are transitive (a false link merges two whole customers), hence a high default.'),
  review: z.number().gt(0).lt(1).optional().describe('Pairs with a match probability from this up to the threshold are kept in `<name>_pairs` (decision `review`) for people to inspect; defaults to 0.5 (none when the threshold is lower).'),
  max_block: z.int().min(2).default(200).describe('A blocking key shared by more records than this makes no candidate pairs (bounds the pairs compared, k² per key).'),
  sample_pairs: z.int().min(1000).default(1_000_000).describe('Record pairs drawn at random (deterministically) to estimate how often non-matches agree (u).'),
  max_iterations: z.int().min(1).default(50).describe('Expectation-maximisation iterations at most, per training block.'),
});
export type ProbabilisticSpec = z.infer<typeof probabilisticSchema>;

export const identitySchema = z.strictObject({
  phone_country: countryCode.optional().describe('Country of phone numbers written without an international prefix (ISO code, e.g. FR).'),
  identifiers: z.record(columnName, identifierSchema),
  sources: z.array(identitySourceSchema).min(1),
  rules: z.array(ruleSchema).default([]).describe('Ordered from the strongest evidence to the weakest: when a customer is over a cap, the last rules give way. At least one rule, or `probabilistic`.'),
  probabilistic: probabilisticSchema.optional().describe('Fellegi–Sunter scoring of candidate pairs, trained without labels (u by random pairs, m and the prior by EM): links above `threshold`, after the rules.'),
  max_records_per_value: z.int().min(2).default(50).describe('A rule key (a value, or a combination) shared by more records than this is ignored and reported.'),
  golden: z.record(columnName, goldenFieldSchema).optional().describe("Output field → survivorship rule; every identifier and attribute with its type's default when left out."),
});
export type IdentitySpec = z.infer<typeof identitySchema>;
