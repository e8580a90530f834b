import { z } from 'zod';
import { columnConditionSchema, type ColumnCondition } from '../expressions/conditions.js';
import { durationSchema, type Duration } from '../expressions/durations.js';
import { CHANNELS, type Channel } from './channels.js';
import { objectName } from './names.js';
import { didYouMean } from './suggest.js';

/**
 * The project's marketing pressure policy (`pressure:` in tideline.yml): how many messages a contact may receive over
 * rolling windows, per channel or across channels, each message weighted by its type. What counts as a message is
 * what Tideline really sent (the state table `sync_messages`, see src/sync/messages.ts) and, when declared, delivered
 * messages recorded in the warehouse. Audiences models apply it to new entries (models/audiences/pressure.ts).
 */

/** The type of a message that declares none: weight 1 unless `weights` says otherwise. */
export const DEFAULT_MESSAGE_TYPE = 'default';

const capSchema = z.strictObject({
  channels: z
    .union([z.array(z.enum(CHANNELS)).min(1), z.literal('all')])
    .describe('The channels whose messages count against this cap, and whose new entries it limits: a list such as `[email, sms]`, or `all`.'),
  max: z
    .number()
    .gt(0, 'max must be more than 0: a cap of 0 would keep every new entry out of these channels; pause their syncs instead')
    .describe('The most messages (weighted by type) a contact may receive on these channels within the window.'),
  per: durationSchema
    .refine((d) => d.amount >= 1, 'per: the window must be at least 1 day (or week, month, year)')
    .describe('The rolling window ending on the as-of date: `7 days`, `4 weeks`, `1 month`.'),
});
export type PressureCapEntry = z.infer<typeof capSchema>;

const deliveredSchema = z.strictObject({
  from: objectName.describe('A source or model with one row per message delivered outside Tideline (or recorded by the vendor); audiences models are built after it.'),
  customer: z.string().min(1).describe('Its column holding the customer key (the key of the audiences models).'),
  time: z.string().min(1).describe('Its date or timestamp column: when the message was delivered.'),
  channel: z.enum(CHANNELS).describe('The channel these messages were sent on.'),
  type: objectName.optional().describe('The communication type of these messages (a key of `weights`); `default` when left out.'),
  where: z.array(columnConditionSchema).optional().describe("Only rows meeting every condition count (e.g. `{column: event_type, equals: delivered}`)."),
});

export const pressurePolicySchema = z.strictObject({
  caps: z
    .array(capSchema)
    .min(1)
    .describe('Limits over rolling windows; a new entry into an audience must fit under every cap covering its channel.'),
  weights: z
    .record(objectName, z.number().min(0, 'a weight is 0 (never counts, never capped) or more'))
    .default({})
    .describe(
      'Weight of each communication type (an audience\'s `type`, a sync\'s `message_type`): `{promotional: 1, newsletter: 0.5, transactional: 0}`. A type not listed weighs 1; once weights are declared, a type must be one of them (or `default`).',
    ),
  delivered: z
    .array(deliveredSchema)
    .default([])
    .describe('Delivered-message events already in the warehouse, counted as well as what Tideline sent. Leave out what Tideline itself sent, or it counts twice.'),
});
export type PressurePolicyEntry = z.infer<typeof pressurePolicySchema>;

/** A cap as the build applies it: its channels resolved, a label that explains it. */
export interface PressureCap {
  /** Its position under `caps:`, for messages and the `audience_capped_by` label. */
  readonly index: number;
  readonly channels: readonly Channel[];
  readonly all: boolean;
  readonly max: number;
  readonly per: Duration;
  /** `email ≤ 2 per 7 days`, `all channels ≤ 4 per 30 days`. */
  readonly label: string;
}

export interface DeliveredSource {
  readonly from: string;
  readonly customer: string;
  readonly time: string;
  readonly channel: Channel;
  readonly type: string;
  readonly where: readonly ColumnCondition[];
}

/** The policy as models read it (PlanContext.pressure). */
export interface PressurePolicy {
  readonly caps: readonly PressureCap[];
  readonly weights: Readonly<Record<string, number>>;
  readonly delivered: readonly DeliveredSource[];
  /**
   * Per audiences model, its audiences that syncs send as messages (audience syncs with a channel): a new member of
   * one of them is a message about to be sent, counted until `sync_messages` records it (see pressure.ts).
   */
  readonly synced: Readonly<Record<string, readonly string[]>>;
  /** Per audiences model and audience of `synced`, the syncs sending it: their runs end a built entry's wait. */
  readonly senders: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

export function pressurePolicy(
  entry: PressurePolicyEntry,
  synced: Readonly<Record<string, readonly string[]>> = {},
  senders: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {},
): PressurePolicy {
  return {
    caps: entry.caps.map((c, index) => {
      const all = c.channels === 'all';
      const channels = c.channels === 'all' ? [...CHANNELS] : [...new Set(c.channels)];
      return { index, channels, all, max: c.max, per: c.per, label: `${all ? 'all channels' : channels.join('+')} ≤ ${c.max} per ${c.per.amount} ${c.per.unit}${c.per.amount === 1 ? '' : 's'}` };
    }),
    weights: entry.weights,
    delivered: entry.delivered.map((d) => ({ from: d.from, customer: d.customer, time: d.time, channel: d.channel, type: d.type ?? DEFAULT_MESSAGE_TYPE, where: d.where ?? [] })),
    synced,
    senders,
  };
}

/** The weight of a message type under the policy: its declared weight, else 1. */
export function weightOf(policy: Pick<PressurePolicy, 'weights'>, type: string): number {
  return policy.weights[type] ?? 1;
}

/**
 * Why a communication type may not be used under the policy, or undefined when it may: once weights are declared,
 * a type must be one of them (or `default`), so that a misspelt type does not silently weigh 1.
 */
export function unknownTypeProblem(policy: Pick<PressurePolicy, 'weights'> | undefined, type: string): string | undefined {
  if (!policy) return undefined;
  const declared = Object.keys(policy.weights);
  if (!declared.length || type === DEFAULT_MESSAGE_TYPE || declared.includes(type)) return undefined;
  return `unknown communication type "${type}"${didYouMean(type, declared)}; pressure.weights in tideline.yml declares ${declared.join(', ')} (or leave the type out for \`${DEFAULT_MESSAGE_TYPE}\`)`;
}
