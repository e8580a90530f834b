import { z } from 'zod';
import { ordersSchema } from '../customers/orders.js';
import { asOfSchema } from '../../src/expressions/as-of.js';

export const TIME_UNITS = ['day', 'week', 'month'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

/** Days per time unit: a month is the mean Gregorian month, so months of different lengths weigh the same. */
export const DAYS_PER_UNIT: Readonly<Record<TimeUnit, number>> = { day: 1, week: 7, month: 365.25 / 12 };

export const ltvSchema = z.strictObject({
  orders: ordersSchema,
  as_of: asOfSchema.default('today').describe('Historical value is measured up to this date; the default calibration end of the predictive fit.'),
  value: z.enum(['revenue', 'margin']).default('revenue').describe('What a purchase is worth: its revenue, or its margin (amount − cost; needs `orders.cost`).'),
  period: z.enum(['day', 'week', 'month', 'year']).default('month').describe('Historical value per `period` since the first order (calendar periods touched, at least 1).'),
  predictive: z
    .strictObject({
      /** The unit of recency, age (T) and frequency rates; parameters are reported in it. */
      time_unit: z.enum(TIME_UNITS).default('week'),
      /** Orders up to this date calibrate the model (default: as_of). */
      calibration_end: asOfSchema.optional(),
      /** How far ahead expected purchases and CLV look, in months. */
      horizon_months: z.number().int().positive().max(600).default(12),
      /** Monthly discount rate for CLV: 0.01 discounts each month's value by 1 %. */
      discount_rate_monthly: z.number().min(0).max(1).default(0),
    })
    .optional()
    .describe('BG/NBD + Gamma-Gamma predictions; left out, the model is historical only.'),
});
export type LtvSpec = z.infer<typeof ltvSchema>;
