import { z } from 'zod';
import { asOfSchema } from '../../src/expressions/as-of.js';
import { columnConditionSchema, comparisonShape } from '../../src/expressions/conditions.js';
import { durationSchema, percentSchema } from '../../src/expressions/durations.js';
import { CHANNELS } from '../../src/project/channels.js';
import { columnName, objectName } from '../../src/project/names.js';

/** Channels an audience is for; each maps to a consent column of the customers (src/project/channels.ts). */
export { CHANNELS, type Channel } from '../../src/project/channels.js';

/** A comparison on a customer field (a column of the base relation or of a joined one), or a relative date. */
export const fieldConditionSchema = z.strictObject({
  field: z.string().min(1),
  ...comparisonShape,
  in_last: durationSchema.optional().describe('The date falls in the last N units up to the as-of date: `in_last: 30 days`.'),
  older_than: durationSchema.optional().describe('The date is at least N units before the as-of date: `older_than: 12 months`.'),
  between_ago: z.tuple([durationSchema, durationSchema]).optional().describe('The date is between A and B before the as-of date, both included: `between_ago: [30 days, 45 days]`.'),
});
export type FieldCondition = z.infer<typeof fieldConditionSchema>;
export const RELATIVE_DATES = ['in_last', 'older_than', 'between_ago'] as const;

/** The top (or bottom) share of all customers by a field, ties broken by the customer key. */
export const percentileConditionSchema = z.union([
  z.strictObject({ top: percentSchema, by: z.string().min(1) }),
  z.strictObject({ bottom: percentSchema, by: z.string().min(1) }),
]);
export type PercentileCondition = z.infer<typeof percentileConditionSchema>;

const countSchema = z
  .strictObject({
    equals: z.number().int().min(0).optional(),
    gt: z.number().int().min(0).optional(),
    gte: z.number().int().min(0).optional(),
    lt: z.number().int().min(1).optional(),
    lte: z.number().int().min(0).optional(),
  })
  .describe('How many such events: `equals`, or one or two bounds that must all hold (`{gte: 2, lte: 5}`: two to five).');
export type CountCondition = z.infer<typeof countSchema>;

/** A later event of some kind, for `followed_by` and `not_followed_by`. */
const laterEventSchema = z.strictObject({
  event: z.string().min(1).describe('A name under `events:` (may be the same table).'),
  where: z.array(columnConditionSchema).optional().describe("Filters on that table's columns: `[{column: event_type, equals: opened}, {column: machine_open, equals: false}]`."),
  within: durationSchema.optional().describe('Only when it happened at most this long after the event.'),
  matched_by: z
    .string()
    .min(1)
    .optional()
    .describe(
      'A column both tables have (a message or campaign id): the later event must carry the same value, as an open belongs to the delivery of its e-mail. Matched events count from the same instant on (an open logged in the same second as its delivery, or on the same day when times are dates); unmatched ones must be strictly later.',
    ),
});

export type LaterEvent = z.infer<typeof laterEventSchema>;

/** The customer's most recent events, before the others filters judge them. */
const lastSchema = z
  .strictObject({
    count: z.number().int().min(1, 'take at least the last 1 event').describe('How many of the most recent events: `count: 5`.'),
    allow_fewer: z
      .boolean()
      .default(false)
      .describe('`true`: customers with fewer such events are judged on those they have (one with none has a count of 0). Default `false`: they never qualify, and `not:` around the condition keeps them.'),
  })
  .describe(
    "Only the customer's N most recent events matching `where` (and the window), newest first; `followed_by`, `not_followed_by` and `count` then judge those N. Ties in time are broken by the event table's `id` column; without one, events at the same time as the N-th are all kept.",
  );

/** What the customer did (or did not do) in an event table. */
export const eventConditionSchema = z.strictObject({
  event: z.string().min(1).describe('A name under `events:`.'),
  where: z.array(columnConditionSchema).optional().describe("Filters on the event table's columns (event type, category…): which events count at all."),
  within: durationSchema.optional().describe('Only events in the last N units up to the as-of date.'),
  between_ago: z.tuple([durationSchema, durationSchema]).optional().describe('Only events between A and B before the as-of date.'),
  last: lastSchema.optional(),
  did: z.boolean().default(true).describe('`false`: the customer has no such event. Default `true` (at least one).'),
  count: countSchema.optional().describe('How many such events (instead of `did`).'),
  distinct: z.string().min(1).optional().describe('Count distinct values of this column instead of events (e.g. distinct campaigns).'),
  followed_by: laterEventSchema
    .optional()
    .describe('Only events followed by an event of a kind: "deliveries followed by a human open of the same campaign" (`matched_by: campaign_id`).'),
  not_followed_by: laterEventSchema
    .optional()
    .describe('Only events with no later event of another kind (within a delay): "cart not followed by an order in 3 days".'),
});
export type EventCondition = z.infer<typeof eventConditionSchema>;

export type Condition =
  | FieldCondition
  | PercentileCondition
  | EventCondition
  | { readonly in_audience: string }
  | { readonly all: readonly Condition[] }
  | { readonly any: readonly Condition[] }
  | { readonly not: Condition };

/**
 * A condition tree. The leaf's shape is told by its key: `field`, `top`/`bottom`, `event`, `in_audience`; nodes are
 * `all`, `any`, `not`. A list where a condition is expected means `all`.
 */
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    fieldConditionSchema,
    percentileConditionSchema,
    eventConditionSchema,
    z.strictObject({ in_audience: objectName }),
    z.strictObject({ all: z.array(conditionSchema).min(1) }),
    z.strictObject({ any: z.array(conditionSchema).min(1) }),
    z.strictObject({ not: conditionSchema }),
  ]),
) as z.ZodType<Condition>;

export const eventTableSchema = z.strictObject({
  from: z.string().min(1).describe('A source or model with one row per event.'),
  customer: z.string().min(1).describe('Its column holding the customer key.'),
  time: z.string().min(1).describe('Its date or timestamp column.'),
  id: z.string().min(1).optional().describe('A column unique per event and never empty (an event id): breaks ties in time when a condition takes the `last` N events (the greater id counts as the more recent), so that exactly N are taken.'),
});
export type EventTable = z.infer<typeof eventTableSchema>;

/** What an audience is for: reaching its members, or keeping them out of something else (see `purpose`). */
export const AUDIENCE_PURPOSES = ['target', 'exclusion'] as const;
export type AudiencePurpose = (typeof AUDIENCE_PURPOSES)[number];

export const audienceSchema = z.strictObject({
  name: objectName,
  description: z.string().optional(),
  channel: z.enum(CHANNELS),
  where: z.union([conditionSchema, z.array(conditionSchema).min(1)]).optional().describe('Who qualifies. A list means all of them.'),
  include: z.array(objectName).optional().describe('Members of these audiences qualify too.'),
  exclude: z.array(objectName).optional().describe('Members of these audiences never qualify.'),
  topic: objectName
    .optional()
    .describe("A topic of the preference centre (tideline.yml `preferences.topics`): members also need the customer's consent to it on the channel."),
  purpose: z
    .enum(AUDIENCE_PURPOSES)
    .default('target')
    .describe(
      '`target` (default): customers to reach. `exclusion`: customers to leave out (an ads exclusion list, existing customers kept out of acquisition): never consent-filtered, never capped by marketing pressure, never suppressed — leaving a complainer out of an exclusion list would make the ads target them.',
    ),
  require_consent: z.boolean().default(true).describe('`false` keeps customers without consent for the channel (e.g. a suppression list). Default `true`; an exclusion audience never requires it.'),
  priority: z.number().int().default(0).describe('Under marketing pressure, higher priorities keep their members first.'),
  type: objectName
    .optional()
    .describe("The communication type of the messages its entries trigger (`promotional`, `newsletter`…), weighed by `pressure.weights` in tideline.yml; `default` (weight 1) when left out."),
  holdout: percentSchema.optional().describe('Share kept out of every sync to measure impact: `holdout: 10%`.'),
  splits: z.record(objectName, percentSchema).optional().describe('Named groups of the treated members, in percent summing to 100: `{subject_a: 50%, subject_b: 50%}`.'),
});
export type AudienceSpec = z.infer<typeof audienceSchema>;

export const audiencesSchema = z.strictObject({
  customers: z.string().min(1).describe('One row per customer: the customers model (or any relation with the key).'),
  key: columnName.default('customer_id').describe("The customer key column of `customers`, `join` relations and event tables' `customer` columns."),
  join: z.array(z.string().min(1)).default([]).describe('More per-customer relations (RFM, LTV…), left-joined on the key; their columns become fields.'),
  as_of: asOfSchema.optional().describe('The date relative windows count from: `today`, YYYY-MM-DD or `{var: name}`; by default `vars.as_of`, else today.'),
  salt: z.string().min(1).default('tideline').describe('Mixed into the holdout and split hashes; change it to reshuffle every group.'),
  events: z.record(objectName, eventTableSchema).default({}).describe('Event tables conditions can use, by name.'),
  consent: z.partialRecord(z.enum(CHANNELS), columnName.nullable()).default({}).describe("The customers' consent column per channel; `consent_<channel>` when not given; `null` for none needed."),
  pressure: z.partialRecord(z.enum(CHANNELS), z.strictObject({ max: z.number().int().min(1) })).default({}).describe('Per channel, the most audiences of this model a customer may be in at once; lower priorities are dropped first. Limits over time, across channels and models: `pressure:` in tideline.yml.'),
  audiences: z.array(audienceSchema).min(1),
});
export type AudiencesSpec = z.infer<typeof audiencesSchema>;
