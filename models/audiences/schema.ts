import { z } from 'zod';
import { asOfSchema } from '../../src/compile/as-of.js';
import { columnConditionSchema, comparisonShape } from '../../src/compile/conditions.js';
import { durationSchema, percentSchema } from '../../src/compile/durations.js';
import { columnName, objectName } from '../../src/project/names.js';

/** Channels an audience is for; each maps to a consent column of the customers. */
export const CHANNELS = ['email', 'sms', 'ads', 'phone', 'crm', 'push', 'mail'] as const;
export type Channel = (typeof CHANNELS)[number];

/** A comparison on a customer field (a column of the base relation or of a joined one), or a relative date. */
export const fieldConditionSchema = z.strictObject({
  field: z.string().min(1),
  ...comparisonShape,
  /** The date falls in the last N units up to the as-of date: `in_last: 30 days`. */
  in_last: durationSchema.optional(),
  /** The date is at least N units before the as-of date: `older_than: 12 months`. */
  older_than: durationSchema.optional(),
  /** The date is between A and B before the as-of date, both included: `between_ago: [30 days, 45 days]`. */
  between_ago: z.tuple([durationSchema, durationSchema]).optional(),
});
export type FieldCondition = z.infer<typeof fieldConditionSchema>;
export const RELATIVE_DATES = ['in_last', 'older_than', 'between_ago'] as const;

/** The top (or bottom) share of all customers by a field, ties broken by the customer key. */
export const percentileConditionSchema = z.union([
  z.strictObject({ top: percentSchema, by: z.string().min(1) }),
  z.strictObject({ bottom: percentSchema, by: z.string().min(1) }),
]);
export type PercentileCondition = z.infer<typeof percentileConditionSchema>;

const countSchema = z.strictObject({
  equals: z.number().int().min(0).optional(),
  gt: z.number().int().min(0).optional(),
  gte: z.number().int().min(0).optional(),
  lt: z.number().int().min(1).optional(),
  lte: z.number().int().min(0).optional(),
});
export type CountCondition = z.infer<typeof countSchema>;

/** What the customer did (or did not do) in an event table. */
export const eventConditionSchema = z.strictObject({
  /** A name under `events:`. */
  event: z.string().min(1),
  /** Filters on the event table's columns (event type, category…). */
  where: z.array(columnConditionSchema).optional(),
  /** Only events in the last N units up to the as-of date. */
  within: durationSchema.optional(),
  /** Only events between A and B before the as-of date. */
  between_ago: z.tuple([durationSchema, durationSchema]).optional(),
  /** `false`: the customer has no such event. Default `true` (at least one). */
  did: z.boolean().default(true),
  /** How many such events (instead of `did`). */
  count: countSchema.optional(),
  /** Count distinct values of this column instead of events (e.g. distinct campaigns). */
  distinct: z.string().min(1).optional(),
  /** Only events with no later event of another kind (within a delay): "cart not followed by an order in 3 days". */
  not_followed_by: z
    .strictObject({
      event: z.string().min(1),
      where: z.array(columnConditionSchema).optional(),
      within: durationSchema.optional(),
    })
    .optional(),
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
  /** A source or model with one row per event. */
  from: z.string().min(1),
  /** Its column holding the customer key. */
  customer: z.string().min(1),
  /** Its date or timestamp column. */
  time: z.string().min(1),
});
export type EventTable = z.infer<typeof eventTableSchema>;

export const audienceSchema = z.strictObject({
  name: objectName,
  description: z.string().optional(),
  channel: z.enum(CHANNELS),
  /** Who qualifies. A list means all of them. */
  where: z.union([conditionSchema, z.array(conditionSchema).min(1)]).optional(),
  /** Members of these audiences qualify too. */
  include: z.array(objectName).optional(),
  /** Members of these audiences never qualify. */
  exclude: z.array(objectName).optional(),
  /** `false` keeps customers without consent for the channel (e.g. a suppression list). Default `true`. */
  require_consent: z.boolean().default(true),
  /** Under marketing pressure, higher priorities keep their members first. */
  priority: z.number().int().default(0),
  /** Share kept out of every sync to measure impact: `holdout: 10%`. */
  holdout: percentSchema.optional(),
  /** Named groups of the treated members, in percent summing to 100: `{subject_a: 50%, subject_b: 50%}`. */
  splits: z.record(objectName, percentSchema).optional(),
});
export type AudienceSpec = z.infer<typeof audienceSchema>;

export const audiencesSchema = z.strictObject({
  /** One row per customer: the customers model (or any relation with the key). */
  customers: z.string().min(1),
  /** The customer key column of `customers`, `join` relations and event tables' `customer` columns. */
  key: columnName.default('customer_id'),
  /** More per-customer relations (RFM, LTV…), left-joined on the key; their columns become fields. */
  join: z.array(z.string().min(1)).default([]),
  /** The date relative windows count from: `today`, YYYY-MM-DD or `{var: name}`; by default `vars.as_of`, else today. */
  as_of: asOfSchema.optional(),
  /** Mixed into the holdout and split hashes; change it to reshuffle every group. */
  salt: z.string().min(1).default('tideline'),
  /** Event tables conditions can use, by name. */
  events: z.record(objectName, eventTableSchema).default({}),
  /** The customers' consent column per channel; `consent_<channel>` when not given; `null` for none needed. */
  consent: z.partialRecord(z.enum(CHANNELS), columnName.nullable()).default({}),
  /** Per channel, the most audiences a customer may be in at once; lower priorities are dropped first. */
  pressure: z.partialRecord(z.enum(CHANNELS), z.strictObject({ max: z.number().int().min(1) })).default({}),
  audiences: z.array(audienceSchema).min(1),
});
export type AudiencesSpec = z.infer<typeof audiencesSchema>;
