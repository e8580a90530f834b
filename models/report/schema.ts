import { z } from 'zod';
import { SYNC_MODES } from '../../destinations/destination.js';
import { columnConditionSchema } from '../../src/expressions/conditions.js';
import { durationSchema } from '../../src/expressions/durations.js';
import { objectName } from '../../src/project/names.js';

/**
 * The YAML of a `report` model. Every input is named generically (a relation and the roles of its columns), so the
 * report works with whatever the project has: the identity and customers models, an audiences model's history, or
 * tables loaded by the user's ETL (an e-mailing tool's export, imported campaign assignments…).
 */

const relation = z.string().min(1);
const column = z.string().min(1);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date written YYYY-MM-DD');

/** Event type values: one value or a list; `[]` means the tool does not export that event (its KPIs are left out). */
const eventValues = z.union([z.string().min(1), z.array(z.string().min(1))]).transform((v) => (typeof v === 'string' ? [v] : v));

/** A threshold: a rate written as a percentage (`"0.2%"`), or a plain number for counts and seconds. */
export const thresholdValueSchema = z.union([z.number(), z.string()]);
export type ThresholdValue = z.infer<typeof thresholdValueSchema>;

/**
 * Where a KPI is good and where it is bad. The direction is the KPI's own (a delivery rate is better higher, an
 * unsubscribe rate lower): better than `good` is good, worse than `bad` is bad, in between fair. Either may be left
 * out (then it equals the other). `null` removes a default.
 */
export const thresholdSchema = z.strictObject({ good: thresholdValueSchema.optional(), bad: thresholdValueSchema.optional() });
export type ThresholdSpec = z.infer<typeof thresholdSchema>;

export const ordersSchema = z.strictObject({
  from: relation.describe('One row per order.'),
  customer: column.describe("The customer key, in the same id space as the memberships' and customers' keys."),
  time: column.describe('Date or timestamp of the order.'),
  revenue: column.describe("The order's amount."),
  where: z.array(columnConditionSchema).optional().describe('Only orders matching every condition count (e.g. not cancelled).'),
});
export type OrdersSpec = z.infer<typeof ordersSchema>;

const messageShape = {
  from: relation.describe('One row per event (sent, delivered, opened…).'),
  customer: column.describe('The recipient (any key: customer id, e-mail, phone). A message is one campaign sent to one recipient.'),
  time: column.describe('Date or timestamp of the event; a message belongs to the period of its first event.'),
  campaign: column.describe('The campaign (or audience) the message belongs to: KPIs are given per campaign and for all of them.'),
  event_type: column.default('event_type').describe('The column holding the event type.'),
  where: z.array(columnConditionSchema).optional().describe('Only events matching every condition count.'),
};

export const emailSchema = z.strictObject({
  ...messageShape,
  events: z
    .strictObject({
      sent: eventValues.default(['sent']),
      delivered: eventValues.default(['delivered']),
      opened: eventValues.default(['opened']),
      clicked: eventValues.default(['clicked']),
      unsubscribed: eventValues.default(['unsubscribed']),
      bounced: eventValues.default(['bounced']),
      complained: eventValues.default([]),
    })
    .prefault({})
    .describe('Event type values of each kind of event, when the tool names them differently.'),
  machine_open: column.optional().describe('A boolean column flagging machine opens (Apple Mail Privacy Protection): open rates are then also given without them.'),
  unsubscribe_click: z.array(columnConditionSchema).min(1).optional().describe('Events that are clicks on the unsubscribe link; by default the unsubscribe events themselves.'),
});
export type EmailSpec = z.infer<typeof emailSchema>;

export const smsSchema = z.strictObject({
  ...messageShape,
  events: z
    .strictObject({
      sent: eventValues.default(['sent']),
      delivered: eventValues.default(['delivered']),
      clicked: eventValues.default(['clicked']),
      stop: eventValues.default(['stop']),
    })
    .prefault({}),
});
export type SmsSpec = z.infer<typeof smsSchema>;

export const pushSchema = z.strictObject({
  ...messageShape,
  events: z
    .strictObject({
      sent: eventValues.default(['sent']),
      displayed: eventValues.default(['displayed']),
      opened: eventValues.default(['opened']),
    })
    .prefault({}),
});
export type PushSpec = z.infer<typeof pushSchema>;

export const mailSchema = z.strictObject({
  ...messageShape,
  events: z
    .strictObject({
      sent: eventValues.default(['sent']),
      returned: eventValues.default(['returned']).describe('Returned as undeliverable (NPAI: "n\'habite pas à l\'adresse indiquée").'),
    })
    .prefault({}),
});
export type MailSpec = z.infer<typeof mailSchema>;

export const phoneSchema = z.strictObject({
  from: relation.describe('One row per call made.'),
  time: column,
  campaign: column.optional(),
  answered: z.array(columnConditionSchema).min(1).describe('Calls matching every condition were answered, e.g. `[{column: outcome, equals: answered}]`.'),
  duration: column.optional().describe('Length of the call in seconds.'),
  where: z.array(columnConditionSchema).optional(),
});
export type PhoneSpec = z.infer<typeof phoneSchema>;

export const messagesSchema = z.strictObject({
  email: emailSchema.optional(),
  sms: smsSchema.optional(),
  push: pushSchema.optional(),
  mail: mailSchema.optional(),
  phone: phoneSchema.optional(),
});
export type MessagesSpec = z.infer<typeof messagesSchema>;

/**
 * Who entered which audience, in which group, when. Either an audiences model (its `<name>_history` is read, with
 * every stay, so members who left are still measured) or any relation with those columns (imported campaign
 * assignments).
 */
export const membershipsSchema = z.strictObject({
  audiences: objectName.optional().describe('An audiences model: reads `<name>_history`.'),
  from: relation.optional().describe('Or a relation with one row per entry.'),
  customer: column.default('customer_id'),
  audience: column.optional(),
  group: column.optional(),
  entered_at: column.optional(),
  holdout: z.string().min(1).default('holdout').describe('The group value of the holdout; every other group is compared with it.'),
});
export type MembershipsSpec = z.infer<typeof membershipsSchema>;

export const upliftSchema = z.strictObject({
  window: durationSchema.default({ amount: 30, unit: 'day' }).describe('Orders placed within this time after entering count: conversion and revenue per customer.'),
  min_group: z.number().int().min(2).default(100).describe('Below this many customers in either group, the result is flagged too small to conclude.'),
  audiences: z.array(z.string().min(1)).min(1).optional().describe('Only these audiences (default: every audience with a holdout).'),
  since: isoDate.optional().describe('Only entries from this date on.'),
});
export type UpliftSpec = z.infer<typeof upliftSchema>;

export const programKpiSchema = z.strictObject({
  label: z.string().min(1).optional().describe('How the KPI is written in the report, e.g. "second purchase within 45 days".'),
  converted_within: durationSchema.optional().describe("Share of the program's audience entrants (outside the holdout) who ordered within this time after entering."),
  repeat_within: durationSchema.optional().describe('Share of first-time buyers who ordered again within this time after their first order.'),
  good: thresholdValueSchema.optional(),
  bad: thresholdValueSchema.optional(),
});
export type ProgramKpiSpec = z.infer<typeof programKpiSchema>;

export const programSchema = z.strictObject({
  name: objectName,
  description: z.string().optional(),
  audiences: z.array(z.string().min(1)).default([]).describe('Audience names, as in the memberships.'),
  syncs: z.array(z.string().min(1)).default([]).describe("Names of the syncs that carry this program's audiences (shown with it)."),
  kpi: programKpiSchema,
});
export type ProgramSpec = z.infer<typeof programSchema>;

export const cohortsSchema = z.strictObject({
  months: z.number().int().min(1).max(120).default(24).describe('How many monthly cohorts, the current month included (24: the older half has its 12-month figures).'),
  horizons: z.array(z.number().int().min(1).max(120)).min(1).default([1, 2, 3, 6, 12]).describe('Months after the first purchase at which repeat rate and cumulative revenue are read.'),
  first_order: z.strictObject({ from: relation, customer: column, date: column }).optional().describe('The first purchase date per customer (e.g. the customers model); by default the first order in `orders`.'),
});
export type CohortsSpec = z.infer<typeof cohortsSchema>;

export const segmentsSchema = z.strictObject({
  from: relation.describe('One row per customer (and per snapshot, with `at`): an RFM model or snapshots of it.'),
  customer: column.default('customer_id'),
  segment: column.default('segment'),
  at: column.optional().describe('The snapshot date column, when the relation keeps several snapshots. Without it, the report keeps its own monthly snapshots in `<name>_snapshots`.'),
  compare: z.tuple([isoDate, isoDate]).optional().describe('Migration between these two snapshot dates; by default the latest one and the latest of an earlier month.'),
  revenue_period: durationSchema.default({ amount: 12, unit: 'month' }).describe('Revenue per segment counts orders in this period up to the as-of date.'),
  keep: durationSchema.default({ amount: 13, unit: 'month' }).describe('Self-kept snapshots older than this are dropped.'),
});
export type SegmentsSpec = z.infer<typeof segmentsSchema>;

/**
 * A data-quality share: the part of a population (one row per customer, say) whose row meets conditions — an e-mail
 * address present, an opt-in to a channel. Its KPI is better higher.
 */
export const qualityShareSchema = z.strictObject({
  where: z.array(columnConditionSchema).min(1).describe('Rows matching every condition count in the share, e.g. `[{column: email, is_null: false}]` (completion) or `[{column: consent_sms, equals: true}]` (opt-in).'),
  good: thresholdValueSchema.optional().describe('Above this share (a percentage such as "90%") the KPI is good.'),
  bad: thresholdValueSchema.optional().describe('Below this share the KPI is bad.'),
});
export type QualityShareSpec = z.infer<typeof qualityShareSchema>;

export const qualitySchema = z.strictObject({
  from: relation.describe('The population, one row per customer (or per record): the customers model, a profile table.'),
  where: z.array(columnConditionSchema).optional().describe('Only rows matching every condition are in the population.'),
  shares: z
    .record(objectName, qualityShareSchema)
    .refine((shares) => Object.keys(shares).length > 0, 'name at least one share')
    .describe('Per KPI name, the share of the population whose row matches conditions; each is a row of `<name>_kpis` under the channel `quality`, as of the build.'),
});
export type QualitySpec = z.infer<typeof qualitySchema>;

/** Which syncs' deliveries `tideline report` counts (from the state's sync_runs, when it prints: see deliveries.ts). */
export const deliveriesSchema = z.strictObject({
  modes: z.array(z.enum(SYNC_MODES)).min(1).default(['events']).describe('Every sync of the project in one of these modes (default: `events`, the event syncs).'),
  syncs: z.array(objectName).min(1).optional().describe('These syncs only, by name, instead of `modes`.'),
});
export type DeliveriesSpec = z.infer<typeof deliveriesSchema>;

export const PERIOD_UNITS = ['week', 'month', 'quarter'] as const;
export type PeriodUnit = (typeof PERIOD_UNITS)[number];

export const reportSchema = z.strictObject({
  as_of: isoDate.optional().describe("The date the report is read at: YYYY-MM-DD, else the project's `vars.as_of`, else today (UTC)."),
  periods: z.strictObject({ every: z.enum(PERIOD_UNITS).default('month'), count: z.number().int().min(1).max(120).default(12) }).prefault({}).describe('KPI periods: the current one and the `count - 1` before it.'),
  orders: ordersSchema.optional(),
  messages: messagesSchema.optional(),
  thresholds: z.record(z.string(), z.record(z.string(), thresholdSchema.nullable())).default({}).describe('Per channel and KPI, `{good, bad}` overriding the defaults, or `null` for no flag.'),
  memberships: membershipsSchema.optional(),
  uplift: upliftSchema.prefault({}),
  programs: z.array(programSchema).default([]),
  cohorts: cohortsSchema.prefault({}),
  segments: segmentsSchema.optional(),
  quality: qualitySchema.optional().describe('Data-quality KPIs: completion of fields and opt-in shares over a population, in `<name>_kpis` (channel `quality`).'),
  deliveries: deliveriesSchema
    .optional()
    .describe("What the syncs delivered, per sync: runs, records sent, accepted, refused and (event syncs) skipped as too old, summed over the state's finished runs when `tideline report` prints (`--sandbox`: the sandbox's state)."),
});
export type ReportSpec = z.infer<typeof reportSchema>;
