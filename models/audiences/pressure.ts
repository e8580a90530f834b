import type { Dialect } from '../../src/dialects/dialect.js';
import { joinSql, sql, type Sql } from '../../src/dialects/sql.js';
import { compileComparison } from '../../src/expressions/conditions.js';
import type { Duration } from '../../src/expressions/durations.js';
import { DEFAULT_MESSAGE_TYPE, weightOf, type PressureCap, type PressurePolicy } from '../../src/project/pressure.js';
import type { Channel } from '../../src/project/channels.js';
import type { OutputColumn } from '../model-kind.js';
import { HOLDOUT, holdoutBuckets } from './holdout.js';
import type { AudienceSpec, AudiencesSpec } from './schema.js';

/**
 * The project's marketing pressure policy (tideline.yml `pressure:`) applied to an audiences build.
 *
 * Each customer's messages are counted per cap: what Tideline sent (`sync_messages` in the state schema, one row per
 * accepted entry into an audience or insert, see src/sync/messages.ts) and the delivered-message events the policy
 * declares, weighted by communication type, within the cap's rolling window ending on the as-of date. Then the
 * customer's new entries of this build are taken in a fixed order, priority first (highest first), then audience
 * name: an entry is admitted when, for every cap covering its channel, the messages counted plus the entries admitted
 * before it plus itself stay within the cap's `max`; otherwise it is `capped`, and the first cap it did not fit is
 * recorded. An entry capped leaves its room to the next ones. The order is the same for every customer, so the whole
 * decision is a chain of one step per audience, written out in SQL: deterministic on every warehouse.
 *
 * Never capped: current members (they entered, and were messaged, before: leaving now would not unsend anything),
 * entries of weight 0 (they add no pressure), audiences whose purpose is exclusion, and audiences on channels no cap
 * covers. Weights are counted in thousandths, as integers, so that `0.5 + 0.5` is exactly 1 on every warehouse.
 */

/** Weights and maxima are compared in thousandths, as integers. */
const UNIT = 1000;

/** An audience's communication type: its `type`, else `default`. */
export function typeOfAudience(audience: AudienceSpec): string {
  return audience.type ?? DEFAULT_MESSAGE_TYPE;
}

/** Audiences whose purpose is to keep people out (an exclusion list) are never capped: capping them would let in whom they exclude. */
export function isExclusion(audience: AudienceSpec): boolean {
  return audience.purpose === 'exclusion';
}

/** The caps covering an audience's channel, in declaration order. */
export function capsOf(policy: PressurePolicy, audience: AudienceSpec): PressureCap[] {
  return policy.caps.filter((cap) => cap.channels.includes(audience.channel));
}

/** Whether the policy may cap new entries of this audience. */
export function isPressured(policy: PressurePolicy, audience: AudienceSpec): boolean {
  return !isExclusion(audience) && weightOf(policy, typeOfAudience(audience)) > 0 && capsOf(policy, audience).length > 0;
}

/**
 * The audiences the policy may cap, in the order new entries are decided: priority (highest first), then name
 * (compared as text, here, not by the warehouse's collation).
 */
export function pressureOrder(policy: PressurePolicy, spec: AudiencesSpec): AudienceSpec[] {
  return spec.audiences
    .filter((a) => isPressured(policy, a))
    .sort((a, b) => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What the build reads besides its inputs: current members (audience, k) and the messages Tideline sent. */
export interface PressureRelations {
  /** Current members: columns `audience` and the model's key, one row per open stay (the history's open rows). */
  readonly previous: Sql;
  /** `sync_messages` of the state schema (empty before the first sync recorded one). */
  readonly sent: Sql;
  /** `sync_runs` of the state schema: a run of an audience's syncs that started after an entry has dealt with it. */
  readonly runs: Sql;
  /** The relation of a delivered-events source, and its columns' types when known. */
  relation(name: string): Sql;
  columnsOf(relation: string): readonly OutputColumn[] | undefined;
}

/** What membership.ts adds to its SELECT when the policy may cap some audience of the model. */
export interface PressureSql {
  readonly ctes: readonly Sql[];
  /** Joined to the ranked memberships `r`: the verdict `v` on each new entry that was decided (admitted 1 or 0). */
  readonly join: Sql;
  /** True for a row the policy capped. */
  readonly capped: Sql;
  /** The label of the cap that capped the row (NULL otherwise). */
  readonly cappedBy: Sql;
}

interface Compiled {
  readonly d: Dialect;
  readonly asOf: Sql;
}

function ago(c: Compiled, duration: Duration): Sql {
  return c.d.dateAdd(c.asOf, c.d.literal(-duration.amount), duration.unit, 'date');
}

function thousandths(n: number): number {
  return Math.round(n * UNIT);
}

/** The weight of each message type, in thousandths, as a CASE on `column` (1 for types the policy does not list). */
function weightCase(d: Dialect, policy: PressurePolicy, column: Sql): Sql {
  const listed = Object.entries(policy.weights).filter(([, w]) => thousandths(w) !== UNIT);
  if (!listed.length) return d.literal(UNIT);
  return sql`CASE ${column}${joinSql(
    listed.map(([type, w]) => sql` WHEN ${d.string(type)} THEN ${d.literal(thousandths(w))}`),
    sql``,
  )} ELSE ${d.literal(UNIT)} END`;
}

function covers(d: Dialect, cap: PressureCap, channel: Sql): Sql {
  return cap.all ? sql`TRUE` : sql`${channel} IN (${joinSql(cap.channels.map((c) => d.string(c)))})`;
}

/** The longest window of the policy, as the earliest day any cap counts (messages before it never count). */
function earliest(c: Compiled, policy: PressurePolicy): Sql {
  const days = (p: Duration) => p.amount * { day: 1, week: 7, month: 31, year: 366 }[p.unit];
  const longest = [...policy.caps].sort((a, b) => days(b.per) - days(a.per))[0]!;
  return ago(c, longest.per);
}

/**
 * Every message counted for pressure, one row each: customer key as text `k`, channel, type, day and where it came
 * from (`source`: the model and audience, or the sync, or the delivered source; `origin`: `sent`, `delivered`, or
 * `pending` for an entry built and not sent yet, see Pending), limited to the policy's longest
 * window up to the as-of date. A message is one entry of a customer into an audience: when two syncs send the same
 * audience (to two ad platforms, say) on the same day, it counts once; inserts count one per record.
 */
export function messagesSelect(
  d: Dialect,
  asOf: Sql,
  policy: PressurePolicy,
  relations: Pick<PressureRelations, 'sent' | 'runs' | 'relation' | 'columnsOf'>,
  pending: Pending | undefined,
  customer?: Sql,
): Sql {
  const c: Compiled = { d, asOf };
  const text = d.type('string');
  const from = earliest(c, policy);
  // Messages dated after the as-of date count too: they were really sent. A pinned as-of date (a reproducible
  // build, a test) must not forget what the syncs sent since, or a rebuild would admit again whom it capped.
  const inRange = (day: Sql) => sql`${day} > ${from}`;
  const sentDay = d.cast(sql`s.${d.id('sent_at')}`, 'date');
  const s = (name: string) => sql`s.${d.id(name)}`;
  const forCustomer = (k: Sql) => (customer === undefined ? sql`` : sql` AND ${k} = ${customer}`);
  const sent = sql`SELECT DISTINCT ${s('contact_key')} AS k, ${s('channel')} AS channel, ${s('message_type')} AS message_type, ${sentDay} AS day,
    COALESCE(${s('audience')}, ${s('sync_name')}) AS source, ${s('model')} AS model, CASE WHEN ${s('audience')} IS NULL THEN ${s('record_key')} END AS item
  FROM ${relations.sent} AS s
  WHERE ${inRange(sentDay)}${forCustomer(s('contact_key'))}`;
  const branches = [sql`SELECT k, channel, message_type, day, source, model, ${d.string('sent')} AS origin FROM (\n  ${sent}\n) AS sent`];
  for (const delivered of policy.delivered) {
    const columns = relations.columnsOf(delivered.from);
    const typeOf = (column: string) => columns?.find((col) => d.identifierKey(col.name) === d.identifierKey(column))?.type;
    const k = d.cast(sql`e.${d.id(delivered.customer)}`, 'string');
    const day = d.cast(sql`e.${d.id(delivered.time)}`, 'date');
    const filters = [inRange(day), sql`${k} IS NOT NULL`, ...delivered.where.map((w) => compileComparison(d, sql`e.${d.id(w.column)}`, w, typeOf(w.column)))];
    branches.push(
      sql`SELECT ${k}, ${d.string(delivered.channel)}, ${d.string(delivered.type)}, ${day}, ${d.string(delivered.from)}, CAST(NULL AS ${text}), ${d.string('delivered')}
  FROM ${relations.relation(delivered.from)} AS e
  WHERE ${joinSql(filters, sql` AND `)}${forCustomer(k)}`,
    );
  }
  if (pending) {
    const audiences = pending.spec.audiences.filter((a) => pending.synced.includes(a.name));
    if (audiences.length) {
      const byAudience = (value: (a: AudienceSpec) => string) => sql`CASE p.audience${joinSql(audiences.map((a) => sql` WHEN ${d.string(a.name)} THEN ${d.string(value(a))}`), sql``)} END`;
      const k = d.cast(sql`p.${d.id(pending.spec.key)}`, 'string');
      const recorded = sql`EXISTS (SELECT 1 FROM ${relations.sent} AS s WHERE ${s('model')} = ${d.string(pending.model)} AND ${s('audience')} = p.audience AND ${s('contact_key')} = ${k} AND ${s('sent_at')} >= p.entered_at)`;
      // A finished run of the audience's syncs that started after the entry has dealt with it, whether it sent it or
      // not (the destination already held the customer after a --full-refresh, the sync's `where:` or a refusal left
      // it out): from then on only what was recorded counts, so an entry never waits, and fills a cap, for good.
      const lastRun = (a: AudienceSpec) => {
        const syncs = pending.senders[a.name] ?? [];
        return syncs.length
          ? sql`(SELECT MAX(r.${d.id('started_at')}) FROM ${relations.runs} AS r WHERE r.${d.id('sync_name')} IN (${joinSql(syncs.map((n) => d.string(n)))}) AND r.${d.id('finished_at')} IS NOT NULL)`
          : sql`CAST(NULL AS ${d.type('timestamp')})`;
      };
      const dealtWith = sql`COALESCE(p.entered_at <= CASE p.audience${joinSql(audiences.map((a) => sql` WHEN ${d.string(a.name)} THEN ${lastRun(a)}`), sql``)} END, FALSE)`;
      branches.push(
        sql`SELECT ${k}, ${byAudience((a) => a.channel)}, ${byAudience(typeOfAudience)}, ${asOf}, p.audience, ${d.string(pending.model)}, ${d.string('pending')}
  FROM ${pending.previous} AS p
  WHERE p.audience IN (${joinSql(audiences.map((a) => d.string(a.name)))}) AND p.audience_group <> ${d.string(HOLDOUT)} AND NOT ${recorded} AND NOT ${dealtWith}${forCustomer(k)}`,
      );
    }
  }
  return joinSql(branches, sql`\nUNION ALL\n`);
}

/**
 * Current members of this model whose entry a sync is to send and has not recorded yet (built, not sent): counted
 * as messages of the as-of date, so that a second build before the syncs ran does not fill the same room again.
 */
export interface Pending {
  readonly model: string;
  readonly spec: AudiencesSpec;
  /** Audiences of the model that syncs send as messages (PressurePolicy.synced). */
  readonly synced: readonly string[];
  /** Per audience of `synced`, the syncs sending it (PressurePolicy.senders). */
  readonly senders: Readonly<Record<string, readonly string[]>>;
  /** Current members, as `currentMembers` reads them. */
  readonly previous: Sql;
}

/**
 * The CTEs deciding the new entries (see the file's comment), or undefined when the policy caps none of the model's
 * audiences. `ranked` is the membership CTE with one row per audience and qualifying customer (`audience`, `channel`,
 * `k`, `consented`, `suppressed`), `atOnce` the condition of a row capped by the model's own `pressure:` (or FALSE).
 */
export function pressureSql(d: Dialect, asOf: Sql, policy: PressurePolicy | undefined, model: string, spec: AudiencesSpec, relations: PressureRelations, atOnce: Sql): PressureSql | undefined {
  if (!policy) return undefined;
  const order = pressureOrder(policy, spec);
  if (!order.length) return undefined;
  const c: Compiled = { d, asOf };
  const key = d.id(spec.key);
  const caps = policy.caps.filter((cap) => order.some((a) => cap.channels.includes(a.channel)));
  const capName = (cap: PressureCap) => `u_${cap.index}`;

  const used = sql`SELECT m.k, ${joinSql(
    caps.map((cap) => sql`SUM(CASE WHEN ${covers(d, cap, sql`m.channel`)} AND m.day > ${ago(c, cap.per)} THEN ${weightCase(d, policy, sql`m.message_type`)} ELSE 0 END) AS ${d.id(capName(cap))}`),
  )}
  FROM ${d.id('pressure_messages')} AS m
  GROUP BY m.k`;

  const isNew = sql`NOT EXISTS (SELECT 1 FROM ${d.id('pressure_previous')} AS p WHERE p.audience = r.audience AND p.k = r.k)`;
  // q_j: 0 the customer does not enter audience j; 1 enters it; 2 enters its holdout. A holdout entry is decided like
  // any other (held-out and treated customers must stay alike for the uplift to mean anything) but, admitted, it
  // takes no room: nobody will message it. Counting it made a rebuild, which no longer counts the held-out members
  // (see messagesSelect), admit whom the first build had capped.
  const entry = (a: AudienceSpec) => {
    const held = holdoutBuckets(a);
    return held > 0 ? sql`CASE WHEN r.bucket < ${d.literal(held)} THEN 2 ELSE 1 END` : sql`1`;
  };
  const candidates = sql`SELECT r.k, ${joinSql(order.map((a, j) => sql`MAX(CASE WHEN r.audience = ${d.string(a.name)} THEN ${entry(a)} ELSE 0 END) AS ${d.id(`q_${j}`)}`))}
  FROM ${d.id('ranked')} AS r
  WHERE r.consented AND NOT r.suppressed AND NOT (${atOnce}) AND r.audience IN (${joinSql(order.map((a) => d.string(a.name)))}) AND ${isNew}
  GROUP BY r.k`;

  // Step j decides audience order[j] for every candidate customer, from the running totals the steps before it left.
  const total = new Map(caps.map((cap) => [cap.index, `t_${cap.index}_0`]));
  const steps: Sql[] = [
    sql`${d.id('pressure_0')} AS (
  SELECT q.*, ${joinSql(caps.map((cap) => sql`COALESCE(u.${d.id(capName(cap))}, 0) AS ${d.id(total.get(cap.index)!)}`))}
  FROM ${d.id('pressure_candidates')} AS q
  LEFT JOIN ${d.id('pressure_used')} AS u ON u.k = ${d.cast(sql`q.k`, 'string')}
)`,
  ];
  order.forEach((audience, j) => {
    const w = thousandths(weightOf(policy, typeOfAudience(audience)));
    const mine = capsOf(policy, audience);
    const fits = (cap: PressureCap) => sql`p.${d.id(total.get(cap.index)!)} + ${d.literal(w)} <= ${d.literal(thousandths(cap.max))}`;
    const wanted = sql`p.${d.id(`q_${j}`)} >= 1`;
    const messaged = sql`${d.id(`q_${j}`)} = 1`;
    const admitted = sql`${wanted} AND ${joinSql(mine.map(fits), sql` AND `)}`;
    const firstFull = sql`CASE${joinSql(mine.map((cap) => sql` WHEN NOT (${fits(cap)}) THEN ${d.literal(cap.index)}`), sql``)} END`;
    const next = mine.map((cap) => {
      const name = `t_${cap.index}_${j + 1}`;
      const column = sql`p.${d.id(total.get(cap.index)!)} + CASE WHEN ${admitted} AND p.${messaged} THEN ${d.literal(w)} ELSE 0 END AS ${d.id(name)}`;
      total.set(cap.index, name);
      return column;
    });
    steps.push(sql`${d.id(`pressure_${j + 1}`)} AS (
  SELECT p.*, CASE WHEN ${admitted} THEN 1 ELSE 0 END AS ${d.id(`ok_${j}`)}, CASE WHEN ${wanted} AND NOT (${admitted}) THEN ${firstFull} END AS ${d.id(`by_${j}`)}, ${joinSql(next)}
  FROM ${d.id(`pressure_${j}`)} AS p
)`);
  });
  const last = d.id(`pressure_${order.length}`);
  const verdicts = joinSql(
    order.map((a, j) => sql`SELECT f.k, ${d.string(a.name)} AS audience, f.${d.id(`ok_${j}`)} AS admitted, f.${d.id(`by_${j}`)} AS cap FROM ${last} AS f WHERE f.${d.id(`q_${j}`)} >= 1`),
    sql`\n  UNION ALL\n  `,
  );

  const ctes = [
    sql`${d.id('pressure_previous')} AS (\n  SELECT DISTINCT p.audience, p.${key} AS k FROM ${relations.previous} AS p\n)`,
    sql`${d.id('pressure_messages')} AS (\n${messagesSelect(d, asOf, policy, relations, { model, spec, synced: policy.synced[model] ?? [], senders: policy.senders[model] ?? {}, previous: relations.previous })}\n)`,
    sql`${d.id('pressure_used')} AS (\n  ${used}\n)`,
    sql`${d.id('pressure_candidates')} AS (\n  ${candidates}\n)`,
    ...steps,
    sql`${d.id('pressure_verdicts')} AS (\n  ${verdicts}\n)`,
  ];
  return {
    ctes,
    join: sql`\nLEFT JOIN ${d.id('pressure_verdicts')} AS v ON v.k = r.k AND v.audience = r.audience`,
    capped: sql`v.admitted = 0`,
    cappedBy: sql`CASE v.cap${joinSql(
      caps.map((cap) => sql` WHEN ${d.literal(cap.index)} THEN ${d.string(cap.label)}`),
      sql``,
    )} END`,
  };
}

/**
 * What an events sync whose events start messages needs to respect the caps on its channel (src/sync/suppressions.ts,
 * the planner): per contact `k` (text), the weight already used under each cap covering the channel — the messages
 * counted as for audiences (what Tideline sent, the delivered events) within the cap's window — as columns `used_<i>`;
 * each cap's ceiling and the weight of one of the sync's messages, in thousandths. The planner admits a contact's
 * events of a run in time order while they fit: an event is a trigger sent as it comes, so there is no priority to
 * weigh it by, only the room left. Undefined when no cap covers the channel or the type weighs nothing.
 */
export interface EventPressure {
  readonly used: Sql;
  readonly caps: readonly { readonly column: string; readonly max: number }[];
  readonly weight: number;
}

export function eventPressure(d: Dialect, asOf: Sql, policy: PressurePolicy, relations: Pick<PressureRelations, 'sent' | 'runs' | 'relation' | 'columnsOf'>, channel: Channel, type: string): EventPressure | undefined {
  const caps = policy.caps.filter((cap) => cap.channels.includes(channel));
  const weight = thousandths(weightOf(policy, type));
  if (!caps.length || weight === 0) return undefined;
  const c: Compiled = { d, asOf };
  const used = caps.map(
    (cap) => sql`SUM(CASE WHEN ${covers(d, cap, sql`m.channel`)} AND m.day > ${ago(c, cap.per)} THEN ${weightCase(d, policy, sql`m.message_type`)} ELSE 0 END) AS ${d.id(`used_${cap.index}`)}`,
  );
  return {
    used: sql`SELECT m.k, ${joinSql(used)} FROM (
${messagesSelect(d, asOf, policy, relations, undefined)}
) AS m GROUP BY m.k`,
    caps: caps.map((cap) => ({ column: `used_${cap.index}`, max: thousandths(cap.max) })),
    weight,
  };
}

/** Whether the project's policy may cap any audience of this model (then the build reads its current members). */
export function appliesTo(policy: PressurePolicy | undefined, spec: AudiencesSpec): policy is PressurePolicy {
  return policy !== undefined && pressureOrder(policy, spec).length > 0;
}

/**
 * The current members of the model's audiences (`audience`, the key, `audience_group`, `entered_at`: one row per open
 * stay) read from its history table, or, with no history (`history` undefined: the first build, a full refresh, a
 * preview before any build), no rows with the same columns: then every entry is new.
 */
export function currentMembers(d: Dialect, spec: AudiencesSpec, customers: Sql, history: Sql | undefined): Sql {
  const key = d.id(spec.key);
  if (history) return sql`SELECT h.audience, h.${key}, h.audience_group, h.entered_at FROM ${history} AS h WHERE h.exited_at IS NULL`;
  const none = (type: 'string' | 'timestamp') => d.cast(d.literal(null), type);
  return sql`SELECT ${none('string')} AS audience, b.${key}, ${none('string')} AS audience_group, ${none('timestamp')} AS entered_at FROM ${customers} AS b WHERE 1 = 0`;
}

/** The columns `currentMembers` reads from the history table (the build fails naming any it lacks). */
export function currentMemberColumns(spec: AudiencesSpec): string[] {
  return ['audience', spec.key, 'audience_group', 'entered_at', 'exited_at'];
}
