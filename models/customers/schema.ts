import { z } from 'zod';
import { LOGICAL_TYPES } from '../../src/dialects/dialect.js';
import { columnName } from '../../src/project/names.js';
import { rfmBlockSchema } from '../rfm/schema.js';
import { ordersSchema, ruleSchema } from './orders.js';
import { asOfSchema } from '../../src/expressions/as-of.js';

/** Consent channels Tideline knows; each becomes a `consent_<channel>` column. */
export const CONSENT_CHANNELS = ['email', 'sms', 'ads', 'push', 'phone', 'post'] as const;
export type ConsentChannel = (typeof CONSENT_CHANNELS)[number];

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const days = z.number().int().nonnegative();
const label = z.string().min(1).optional();

/** Lifecycle stages by days since the first and last order, each threshold explicit. */
export const lifecycleSchema = z.strictObject({
  prospect: z.strictObject({ label }).prefault({}).describe('Label of customers without a kept order (only those listed in `population` can have none).'),
  new: z.strictObject({ first_order_within_days: days, label }).describe('First order at most this many days before the as-of date. Takes precedence over the stages below.'),
  active: z.strictObject({ last_order_within_days: days, label }),
  at_risk: z.strictObject({ last_order_within_days: days, label }),
  inactive: z.strictObject({ last_order_after_days: days, label }).describe('Must start exactly where at_risk ends: stated explicitly so nobody is inactive by accident.'),
});
export type LifecycleSpec = z.infer<typeof lifecycleSchema>;

/** A custom field: a SQL aggregate expression over the kept rows of `orders` (default) or `lines`. */
export const fieldSchema = z.union([
  z.string().min(1),
  z.strictObject({
    sql: z.string().min(1),
    over: z.enum(['orders', 'lines']).default('orders'),
    type: z.enum(LOGICAL_TYPES).optional(),
    description: z.string().optional(),
  }),
]);

export const customersSchema = z.strictObject({
  orders: ordersSchema,
  lines: z
    .strictObject({
      from: z.string().min(1),
      order_id: z.string().min(1),
      category: z.string().min(1).optional(),
      quantity: z.string().min(1).optional(),
      exclude: z.array(ruleSchema).default([]),
    })
    .optional()
    .describe('Order lines: favourite category, item counts, line-level exclusion (returned items).'),
  population: z.strictObject({ from: z.string().min(1), customer_id: z.string().min(1) }).optional().describe('Everyone who is a customer (e.g. the identity model), so people without orders appear as prospects.'),
  consent: z
    .strictObject({
      from: z.string().min(1),
      customer_id: z.string().min(1),
      /** Column naming the channel of each event. */
      channel: z.string().min(1),
      /** Boolean column (TRUE = opted in), or a text column read through `opt_in` / `opt_out`. */
      opted_in: z.string().min(1),
      opt_in: z.array(scalar).min(1).optional(),
      opt_out: z.array(scalar).min(1).optional(),
      /** When the event happened. */
      at: z.string().min(1),
      /** Output channel → value of the channel column, e.g. `{ email: EMAIL, sms: SMS }`. */
      channels: z.record(z.string(), scalar),
    })
    .optional()
    .describe('Consent events; for each channel the latest event wins (an opt-out wins a tie at the same instant).'),
  as_of: asOfSchema.default('today'),
  lifecycle: lifecycleSchema,
  fields: z.record(columnName, fieldSchema).default({}),
  rfm: rfmBlockSchema.optional().describe('RFM scores and segment computed in the same pass (see the rfm kind for the fields).'),
});
export type CustomersSpec = z.infer<typeof customersSchema>;
