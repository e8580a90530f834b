import type { Dialect } from '../../src/dialects/dialect.js';
import { indentSql, joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import { weightOf, type PressurePolicy } from '../../src/project/pressure.js';
import { HOLDOUT } from './holdout.js';
import type { PreviewIO } from './preview.js';
import { capsOf, isExclusion, messagesSelect, pressureOrder, typeOfAudience, type PressureRelations } from './pressure.js';
import type { AudiencesSpec } from './schema.js';

/**
 * `tideline audience preview <audience> --customer <key>`: why marketing pressure capped (or let in) one customer.
 * For every cap covering the audience's channel it lists the messages counted in its window (what the syncs sent,
 * delivered events) and the customer's new entries of this build decided before this one (higher priority) that
 * took room — the same facts and the same order as the build's decision (pressure.ts), read with queries only.
 */

export interface CountedMessage {
  /** The audience (or, for an insert sync, the sync) that sent it, or the delivered-events source. */
  readonly source: string;
  /** The audiences model or sync model it came from; null for delivered events. */
  readonly model: string | null;
  readonly channel: string;
  readonly type: string;
  readonly weight: number;
  /** YYYY-MM-DD. */
  readonly day: string;
  /** `sent` (sync_messages), `delivered` (the policy's delivered events), `pending` (built, not sent yet). */
  readonly origin: string;
}

export interface EntryBefore {
  readonly audience: string;
  readonly channel: string;
  readonly type: string;
  readonly weight: number;
  readonly priority: number;
}

export interface CapExplanation {
  readonly label: string;
  readonly max: number;
  /** Weighted messages counted in the window, before this build's entries. */
  readonly counted: number;
  readonly messages: readonly CountedMessage[];
  /** New entries of this build decided before this audience's, admitted, on channels this cap covers. */
  readonly before: readonly EntryBefore[];
}

export interface PressureExplanation {
  readonly customer: string;
  readonly audience: string;
  readonly asOf: string;
  /** `member`, `capped`, `no_consent`; null when the customer does not qualify. */
  readonly status: string | null;
  readonly cappedBy: string | null;
  /** Already a member before this build: never capped by the policy. */
  readonly current: boolean;
  /** Why the policy does not apply to this audience, when it does not. */
  readonly exempt: string | null;
  readonly caps: readonly CapExplanation[];
}

export interface ExplainInputs {
  readonly model: string;
  readonly spec: AudiencesSpec;
  readonly audience: string;
  readonly customer: string;
  readonly policy: PressurePolicy;
  readonly asOf: Sql;
  /** The model's membership SELECT, as the build would store it. */
  readonly select: Sql;
  /** Current members (`audience`, key), as the build reads them. */
  readonly previous: Sql;
  readonly relations: Pick<PressureRelations, 'sent' | 'runs' | 'relation' | 'columnsOf'>;
}

export async function explainPressure(io: PreviewIO, d: Dialect, input: ExplainInputs): Promise<PressureExplanation> {
  const { spec, policy } = input;
  const audience = spec.audiences.find((a) => a.name === input.audience);
  if (!audience) throw new Error(`audience ${input.audience} is not in the model`);
  const field = (row: Readonly<Record<string, unknown>>, name: string) => row[name];
  const customer = d.string(input.customer);
  const keyText = (alias: Sql) => d.cast(sql`${alias}.${d.id(spec.key)}`, 'string');

  const rows = await io.query(sql`SELECT q.${d.id('audience')} AS ${d.id('audience')}, q.${d.id('audience_status')} AS ${d.id('audience_status')}, q.${d.id('audience_capped_by')} AS ${d.id('audience_capped_by')}, q.${d.id('audience_group')} AS ${d.id('audience_group')}
FROM (
${indentSql(input.select, 2)}
) AS q
WHERE ${keyText(sql`q`)} = ${customer}`);
  const statusOf = new Map(rows.map((r) => [String(field(r, 'audience')), { status: String(field(r, 'audience_status')), by: field(r, 'audience_capped_by'), group: String(field(r, 'audience_group')) }]));
  const current = new Set((await io.query(sql`SELECT p.audience AS ${d.id('audience')} FROM ${input.previous} AS p WHERE ${keyText(sql`p`)} = ${customer}`)).map((r) => String(field(r, 'audience'))));

  const caps = capsOf(policy, audience);
  const inWindow = caps.map((cap) => sql`CASE WHEN m.day > ${d.dateAdd(input.asOf, d.literal(-cap.per.amount), cap.per.unit, 'date')} THEN 1 ELSE 0 END AS ${d.id(`in_${cap.index}`)}`);
  const messages = await io.query(sql`SELECT m.channel AS ${d.id('channel')}, m.message_type AS ${d.id('message_type')}, ${d.formatTimestamp(sql`m.day`, 'YYYY-MM-DD')} AS ${d.id('day')}, m.source AS ${d.id('source')}, m.model AS ${d.id('model')}, m.origin AS ${d.id('origin')}${inWindow.length ? sql`, ${joinSql(inWindow)}` : sql``}
FROM (
${indentSql(messagesSelect(d, input.asOf, policy, input.relations, { model: input.model, spec, synced: policy.synced[input.model] ?? [], senders: policy.senders[input.model] ?? {}, previous: input.previous }, customer), 2)}
) AS m
ORDER BY 3, 4`);
  const asOf = String(field((await io.query(sql`SELECT ${d.formatTimestamp(input.asOf, 'YYYY-MM-DD')} AS ${d.id('as_of')}`))[0] ?? {}, 'as_of'));

  const order = pressureOrder(policy, spec);
  const position = order.findIndex((a) => a.name === audience.name);
  const mine = statusOf.get(audience.name);
  const exempt = isExclusion(audience)
    ? 'an exclusion audience is never capped'
    : weightOf(policy, typeOfAudience(audience)) === 0
      ? `its type ${typeOfAudience(audience)} weighs 0`
      : caps.length === 0
        ? `no cap covers channel ${audience.channel}`
        : null;
  return {
    customer: input.customer,
    audience: audience.name,
    asOf,
    status: mine?.status ?? null,
    cappedBy: typeof mine?.by === 'string' ? mine.by : null,
    current: current.has(audience.name),
    exempt,
    caps: caps.map((cap) => {
      const counted = messages
        .filter((m) => Number(field(m, `in_${cap.index}`)) === 1 && cap.channels.some((c) => c === field(m, 'channel')))
        .map((m) => {
          const type = String(field(m, 'message_type'));
          const model = field(m, 'model');
          return {
            source: String(field(m, 'source')),
            model: typeof model === 'string' ? model : null,
            channel: String(field(m, 'channel')),
            type,
            weight: weightOf(policy, type),
            day: String(field(m, 'day')),
            origin: String(field(m, 'origin')),
          };
        });
      const before = order
        .slice(0, Math.max(0, position))
        .filter((a) => cap.channels.includes(a.channel) && statusOf.get(a.name)?.status === 'member' && statusOf.get(a.name)?.group !== HOLDOUT && !current.has(a.name))
        .map((a) => ({ audience: a.name, channel: a.channel, type: typeOfAudience(a), weight: weightOf(policy, typeOfAudience(a)), priority: a.priority }));
      return { label: cap.label, max: cap.max, counted: counted.reduce((s, m) => s + m.weight, 0), messages: counted, before };
    }),
  };
}

/** The explanation as lines for the terminal. */
export function renderExplanation(e: PressureExplanation): string {
  const verdict =
    e.status === null
      ? 'does not qualify'
      : e.status === 'capped'
        ? `capped by ${e.cappedBy ?? 'marketing pressure'}`
        : e.status === 'member'
          ? e.current
            ? 'member (already before this build: marketing pressure never drops a current member)'
            : 'member (a new entry, within every cap)'
          : e.status;
  const lines = [`marketing pressure for customer ${e.customer} in ${e.audience}, as of ${e.asOf}: ${verdict}`];
  if (e.exempt) lines.push(`  not capped: ${e.exempt}`);
  for (const cap of e.caps) {
    const taken = cap.before.reduce((s, b) => s + b.weight, 0);
    lines.push(`  ${cap.label}: ${num(cap.counted)} counted${cap.before.length ? ` + ${num(taken)} entering before it in this build` : ''}`);
    for (const m of cap.messages) lines.push(`    ${m.day}  ${m.channel.padEnd(5)}  ${m.type.padEnd(14)} weight ${num(m.weight).padEnd(4)} ${m.source} (${ORIGINS[m.origin]?.(m) ?? m.origin})`);
    for (const b of cap.before) lines.push(`    this build  ${b.channel.padEnd(5)}  ${b.type.padEnd(14)} weight ${num(b.weight).padEnd(4)} ${b.audience} (priority ${b.priority}, decided first)`);
  }
  return lines.join('\n') + '\n';
}

/** How a counted message is named in the explanation, by where it came from. */
const ORIGINS: Readonly<Record<string, (m: CountedMessage) => string>> = {
  sent: (m) => m.model ?? 'sent',
  delivered: () => 'delivered events',
  pending: (m) => `${m.model ?? ''}: entered in an earlier build, not sent yet`,
};

function num(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}
