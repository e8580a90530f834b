import { z } from 'zod';
import { ordersSchema } from '../customers/orders.js';
import { asOfSchema } from '../../src/expressions/as-of.js';

/** Scores of a segment on one axis: `5`, `[4, 5]` or `"2-4"`. */
export const scoresSchema = z.union([
  z.number().int().min(1).max(5),
  z.array(z.number().int().min(1).max(5)).min(1),
  z.string().regex(/^[1-5]-[1-5]$/, 'a range of scores such as "2-4"'),
]);
export type Scores = z.infer<typeof scoresSchema>;

export const segmentSchema = z.strictObject({
  name: z.string().min(1).describe('The label written into the `segment` column, in any language.'),
  r: scoresSchema,
  f: scoresSchema,
  description: z.string().optional(),
});
export type SegmentSpec = z.infer<typeof segmentSchema>;

const cuts = z.array(z.number()).length(4, 'four cut points: the boundaries between scores 1|2|3|4|5');

/** The RFM fields, shared by the rfm kind and the `rfm:` block of the customers kind. */
export const rfmFields = {
  period: z.union([z.strictObject({ months: z.number().int().positive() }), z.strictObject({ days: z.number().int().positive() })]).optional().describe('Orders considered: those in the last `months` (or `days`) up to the as-of date; all history when left out.'),
  scoring: z
    .strictObject({
      method: z.enum(['quintiles', 'thresholds']).default('quintiles'),
      recency_days: cuts.optional(),
      frequency: cuts.optional(),
      monetary: cuts.optional(),
    })
    .prefault({})
    .describe('`quintiles` (NTILE(5) over a total order: ties broken by a hash of the customer id, identical in every warehouse) or `thresholds`: recency_days are upper bounds for scores 5, 4, 3, 2; frequency and monetary lower bounds for scores 2, 3, 4, 5.'),
  monetary: z.enum(['total', 'average']).default('total').describe("Monetary as the total of the period's orders, or their average."),
  segments: z.union([z.literal('default'), z.array(segmentSchema).min(1)]).default('default').describe('`default` (the 11 usual segments on R and F) or your own map, covering each of the 25 R×F cells once.'),
};

export const rfmBlockSchema = z.strictObject(rfmFields);
export type RfmBlock = z.infer<typeof rfmBlockSchema>;

export const rfmSchema = z.strictObject({
  orders: ordersSchema,
  as_of: asOfSchema.default('today'),
  ...rfmFields,
});
export type RfmSpec = z.infer<typeof rfmSchema>;
