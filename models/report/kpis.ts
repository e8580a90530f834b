import type { Dialect } from '../../src/dialects/dialect.js';
import { joinSql, Sql, sql, unionAll } from '../../src/dialects/sql.js';
import { and, conditions, emptySelect, float, floatLiteral, periodOf, windowStart, withCtes, type Builder, type ColumnDef } from './build.js';
import type { EmailSpec, MailSpec, PhoneSpec, PushSpec, QualitySpec, SmsSpec } from './schema.js';

/**
 * Channel KPIs, as data: each is a ratio (or a count) of two measures of a channel, with the direction in which it is
 * better and the defaults of its thresholds. A message is one campaign sent to one recipient; a measure counts the
 * messages that had a kind of event (unique openers, unique clickers…), so each KPI counts people, not events.
 */
export const CHANNELS = ['email', 'sms', 'push', 'mail', 'phone'] as const;
export type Channel = (typeof CHANNELS)[number];
export type Better = 'higher' | 'lower';
export type Unit = 'rate' | 'count' | 'seconds';

export interface KpiDef {
  readonly channel: Channel;
  readonly name: string;
  /** How the report writes it. */
  readonly label: string;
  readonly numerator: string;
  /** null: the KPI is the numerator itself (a count). */
  readonly denominator: string | null;
  readonly better: Better;
  readonly unit: Unit;
  /** Default thresholds, as fractions for rates. */
  readonly defaults?: { readonly good?: number; readonly bad?: number };
}

const rate = (channel: Channel, name: string, label: string, numerator: string, denominator: string, better: Better, defaults?: KpiDef['defaults']): KpiDef => ({
  channel,
  name,
  label,
  numerator,
  denominator,
  better,
  unit: 'rate',
  ...(defaults ? { defaults } : {}),
});
const count = (channel: Channel, name: string, label: string, numerator: string): KpiDef => ({ channel, name, label, numerator, denominator: null, better: 'higher', unit: 'count' });

export const KPIS: readonly KpiDef[] = [
  count('email', 'messages', 'e-mails sent', 'messages'),
  // Healthy above 99 %.
  rate('email', 'delivery_rate', 'delivery rate', 'delivered', 'messages', 'higher', { good: 0.99 }),
  rate('email', 'bounce_rate', 'bounce rate', 'bounced', 'messages', 'lower'),
  rate('email', 'open_rate', 'open rate', 'openers', 'delivered', 'higher'),
  rate('email', 'open_rate_human', 'open rate without machine opens', 'human_openers', 'delivered', 'higher'),
  rate('email', 'click_rate', 'click rate', 'clickers', 'delivered', 'higher'),
  rate('email', 'click_to_open', 'click-to-open', 'clickers', 'openers', 'higher'),
  rate('email', 'click_to_open_human', 'click-to-open without machine opens', 'clickers', 'human_openers', 'higher'),
  // Below 0.1 % excellent, 0.1–0.2 % correct, above 0.2 % dangerous.
  rate('email', 'unsubscribe_rate', 'unsubscribe rate', 'unsubscribers', 'delivered', 'lower', { good: 0.001, bad: 0.002 }),
  rate('email', 'complaint_rate', 'spam complaint rate', 'complainers', 'delivered', 'lower'),
  // Clicks on the unsubscribe link among all clicks: keep it below 20 %.
  rate('email', 'fatigue', 'fatigue (unsubscribe clicks / all clicks)', 'unsubscribe_clickers', 'all_clickers', 'lower', { bad: 0.2 }),
  count('sms', 'messages', 'SMS sent', 'messages'),
  rate('sms', 'delivery_rate', 'delivery rate', 'delivered', 'messages', 'higher'),
  rate('sms', 'click_rate', 'click rate', 'clickers', 'delivered', 'higher'),
  rate('sms', 'stop_rate', 'STOP rate', 'stops', 'delivered', 'lower'),
  count('push', 'messages', 'push notifications sent', 'messages'),
  rate('push', 'display_rate', 'display rate', 'displayed', 'messages', 'higher'),
  rate('push', 'reaction_rate', 'reaction rate', 'reactors', 'displayed', 'higher'),
  count('mail', 'messages', 'letters sent', 'messages'),
  rate('mail', 'return_rate', 'return rate (NPAI)', 'returned', 'messages', 'lower'),
  count('phone', 'calls', 'calls made', 'calls'),
  rate('phone', 'answer_rate', 'answer rate', 'answered', 'calls', 'higher'),
  { channel: 'phone', name: 'average_call_seconds', label: 'average call length (s)', numerator: 'talk_seconds', denominator: 'answered', better: 'higher', unit: 'seconds' },
];

export function kpiDef(channel: string, name: string): KpiDef | undefined {
  return KPIS.find((k) => k.channel === channel && k.name === name);
}

/** Columns of `<name>_kpis`. `campaign` NULL: all campaigns; `period_start` NULL: the whole reporting window. */
export const KPI_COLUMNS: readonly ColumnDef[] = [
  { name: 'channel', type: 'string' },
  { name: 'campaign', type: 'string' },
  { name: 'period_start', type: 'date' },
  { name: 'kpi', type: 'string' },
  { name: 'numerator', type: 'float' },
  { name: 'denominator', type: 'float' },
  { name: 'value', type: 'float' },
  { name: 'good', type: 'float' },
  { name: 'bad', type: 'float' },
  { name: 'better', type: 'string' },
  { name: 'status', type: 'string' },
];

/** Resolved thresholds per channel and KPI (fractions for rates), after YAML overrides. */
export type Thresholds = ReadonlyMap<string, { readonly good: number | undefined; readonly bad: number | undefined }>;

export const thresholdKey = (channel: string, kpi: string) => `${channel}.${kpi}`;

/**
 * good / fair / bad from a value and its thresholds; NULL without thresholds or value. Better than `good` (strictly)
 * is good, worse than `bad` (strictly) is bad; a missing bound equals the other one. `better` is the KPI's direction,
 * or a column holding it.
 */
export function statusSql(d: Dialect, value: Sql, good: Sql, bad: Sql, better: Better | Sql): Sql {
  const g = sql`COALESCE(${good}, ${bad})`;
  const w = sql`COALESCE(${bad}, ${good})`;
  const [goodLit, fairLit, badLit] = [d.literal('good'), d.literal('fair'), d.literal('bad')];
  const higher = sql`CASE WHEN ${value} > ${g} THEN ${goodLit} WHEN ${value} < ${w} THEN ${badLit} ELSE ${fairLit} END`;
  const lower = sql`CASE WHEN ${value} < ${g} THEN ${goodLit} WHEN ${value} > ${w} THEN ${badLit} ELSE ${fairLit} END`;
  const unknown = sql`${value} IS NULL OR ${g} IS NULL`;
  if (better === 'higher' || better === 'lower') return sql`CASE WHEN ${unknown} THEN NULL ELSE ${better === 'higher' ? higher : lower} END`;
  return sql`CASE WHEN ${unknown} THEN NULL
    WHEN ${better} = ${d.literal('higher')} THEN ${higher}
    ELSE ${lower} END`;
}

// ---------------------------------------------------------------------------------------------------------------
// Measures per message

/** A measure: a per-message flag (or, for calls, a per-call value), or undefined when the events are not tracked. */
type Measures = Record<string, Sql | undefined>;

function isAny(b: Builder, type: Sql, values: readonly string[]): Sql | undefined {
  return values.length ? sql`${type} IN (${joinSql(values.map((v) => b.d.literal(v)))})` : undefined;
}

function either(...parts: (Sql | undefined)[]): Sql | undefined {
  const present = parts.filter((p): p is Sql => p !== undefined);
  return present.length ? sql`(${joinSql(present, sql` OR `)})` : undefined;
}

/** The alias of a message channel's events in its queries. */
function eventsAlias(b: Builder): Sql {
  return b.d.id('ev');
}

/** The alias of the phone calls in their query. */
function callsAlias(b: Builder): Sql {
  return b.d.id('c');
}

function emailMeasures(b: Builder, spec: EmailSpec): Measures {
  const { d } = b;
  const ev = eventsAlias(b);
  const type = sql`${ev}.${d.id(spec.event_type)}`;
  const e = spec.events;
  const of = (values: readonly string[]) => isAny(b, type, values);
  const unsubscribeClick = spec.unsubscribe_click ? and(conditions(b, ev, spec.from, spec.unsubscribe_click)) : of(e.unsubscribed);
  const machine = spec.machine_open ? sql`COALESCE(${ev}.${d.id(spec.machine_open)}, FALSE)` : undefined;
  const opened = of(e.opened);
  const clicked = of(e.clicked);
  return {
    // A message that was delivered or bounced was sent, even if the tool exported no "sent" event for it.
    messages: of([...e.sent, ...e.delivered, ...e.bounced]),
    delivered: of(e.delivered),
    bounced: of(e.bounced),
    openers: opened,
    human_openers: opened && machine ? sql`${opened} AND NOT ${machine}` : undefined,
    clickers: clicked && unsubscribeClick ? sql`${clicked} AND NOT (${unsubscribeClick})` : clicked,
    unsubscribers: of(e.unsubscribed),
    complainers: of(e.complained),
    unsubscribe_clickers: unsubscribeClick,
    all_clickers: either(clicked, unsubscribeClick),
  };
}

function smsMeasures(b: Builder, spec: SmsSpec): Measures {
  const type = sql`${eventsAlias(b)}.${b.d.id(spec.event_type)}`;
  const of = (values: readonly string[]) => isAny(b, type, values);
  return { messages: of([...spec.events.sent, ...spec.events.delivered]), delivered: of(spec.events.delivered), clickers: of(spec.events.clicked), stops: of(spec.events.stop) };
}

function pushMeasures(b: Builder, spec: PushSpec): Measures {
  const type = sql`${eventsAlias(b)}.${b.d.id(spec.event_type)}`;
  const of = (values: readonly string[]) => isAny(b, type, values);
  return { messages: of([...spec.events.sent, ...spec.events.displayed]), displayed: of(spec.events.displayed), reactors: of(spec.events.opened) };
}

function mailMeasures(b: Builder, spec: MailSpec): Measures {
  const type = sql`${eventsAlias(b)}.${b.d.id(spec.event_type)}`;
  const of = (values: readonly string[]) => isAny(b, type, values);
  return { messages: of([...spec.events.sent, ...spec.events.returned]), returned: of(spec.events.returned) };
}

/** The KPIs of a channel whose measures are all tracked. */
export function availableKpis(channel: Channel, measures: ReadonlySet<string>): KpiDef[] {
  return KPIS.filter((k) => k.channel === channel && measures.has(k.numerator) && (k.denominator === null || measures.has(k.denominator)));
}

/** The per-message flags of a message channel; undefined entries are measures its events do not track. */
function channelMeasures(b: Builder, channel: Exclude<Channel, 'phone'>): Measures | undefined {
  const m = b.spec.messages;
  switch (channel) {
    case 'email':
      return m?.email && emailMeasures(b, m.email);
    case 'sms':
      return m?.sms && smsMeasures(b, m.sms);
    case 'push':
      return m?.push && pushMeasures(b, m.push);
    case 'mail':
      return m?.mail && mailMeasures(b, m.mail);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// SQL

interface ChannelSql {
  readonly ctes: { name: string; body: Sql }[];
  /** One SELECT per KPI over the channel's totals, producing channel, campaign, period_start, kpi, numerator, denominator. */
  readonly rows: Sql[];
}

/** The four groupings of a channel's totals: per campaign and period, per campaign, per period, and overall. */
function totals(b: Builder, source: string, measures: readonly string[], hasCampaign: boolean): Sql {
  const { d } = b;
  const sums = joinSql(measures.map((m) => sql`COALESCE(SUM(${d.id(m)}), 0) AS ${d.id(m)}`));
  const nullCampaign = d.cast(sql`NULL`, 'string');
  const nullPeriod = d.cast(sql`NULL`, 'date');
  const from = d.id(source);
  const groupings = [
    ...(hasCampaign
      ? [sql`SELECT campaign, period_start, ${sums} FROM ${from} GROUP BY campaign, period_start`, sql`SELECT campaign, ${nullPeriod} AS period_start, ${sums} FROM ${from} GROUP BY campaign`]
      : []),
    sql`SELECT ${nullCampaign} AS campaign, period_start, ${sums} FROM ${from} GROUP BY period_start`,
    // HAVING without GROUP BY: one row over everything, none when there is nothing.
    sql`SELECT ${nullCampaign} AS campaign, ${nullPeriod} AS period_start, ${sums} FROM ${from} HAVING COUNT(*) > 0`,
  ];
  return unionAll(groupings);
}

function kpiRows(b: Builder, channel: Channel, source: string, kpis: readonly KpiDef[], thresholds: Thresholds): Sql[] {
  const { d } = b;
  const t = d.id('t');
  return kpis.map((k) => {
    const limits = thresholds.get(thresholdKey(channel, k.name));
    const denominator = k.denominator === null ? d.cast(sql`NULL`, 'float') : float(b, sql`${t}.${d.id(k.denominator)}`);
    return sql`SELECT ${d.literal(channel)} AS channel, ${t}.campaign, ${t}.period_start, ${d.literal(k.name)} AS kpi, ${float(b, sql`${t}.${d.id(k.numerator)}`)} AS numerator, ${denominator} AS denominator, ${floatLiteral(b, limits?.good)} AS good, ${floatLiteral(b, limits?.bad)} AS bad, ${d.literal(k.better)} AS better FROM ${d.id(source)} AS ${t}`;
  });
}

function messageChannel(b: Builder, channel: Exclude<Channel, 'phone'>, spec: EmailSpec | SmsSpec | PushSpec | MailSpec, thresholds: Thresholds): ChannelSql {
  const { d } = b;
  const measures = Object.entries(channelMeasures(b, channel) ?? {}).filter((e): e is [string, Sql] => e[1] !== undefined);
  const kpis = availableKpis(channel, new Set(measures.map(([name]) => name)));
  const ev = eventsAlias(b);
  const time = sql`${ev}.${d.id(spec.time)}`;
  const customer = sql`${ev}.${d.id(spec.customer)}`;
  const campaign = sql`${ev}.${d.id(spec.campaign)}`;
  const filters = [sql`${customer} IS NOT NULL`, sql`${campaign} IS NOT NULL`, sql`${d.cast(time, 'date')} <= ${b.asOf}`, ...conditions(b, ev, spec.from, spec.where)];
  const flags = measures.map(([name, flag]) => sql`MAX(CASE WHEN ${flag} THEN 1 ELSE 0 END) AS ${d.id(name)}`);
  const messages = `${channel}_messages`;
  const periods = `${channel}_periods`;
  const sums = `${channel}_totals`;
  return {
    ctes: [
      {
        name: messages,
        body: sql`SELECT ${d.cast(campaign, 'string')} AS campaign, ${customer} AS customer, MIN(${d.cast(time, 'date')}) AS first_day,
  ${joinSql(flags, sql`,\n  `)}
FROM ${b.context.relation(spec.from)} AS ${ev}
WHERE ${joinSql(filters, sql`\n  AND `)}
GROUP BY ${d.cast(campaign, 'string')}, ${customer}`,
      },
      {
        name: periods,
        body: sql`SELECT m.*, ${periodOf(b, sql`m.first_day`)} AS period_start FROM ${d.id(messages)} AS m WHERE m.first_day >= ${windowStart(b)}`,
      },
      { name: sums, body: totals(b, periods, measures.map(([name]) => name), true) },
    ],
    rows: kpiRows(b, channel, sums, kpis, thresholds),
  };
}

function phoneChannel(b: Builder, spec: PhoneSpec, thresholds: Thresholds): ChannelSql {
  const { d } = b;
  const c = callsAlias(b);
  const time = sql`${c}.${d.id(spec.time)}`;
  const day = d.cast(time, 'date');
  const answered = and(conditions(b, c, spec.from, spec.answered));
  const filters = [sql`${time} IS NOT NULL`, sql`${day} <= ${b.asOf}`, sql`${day} >= ${windowStart(b)}`, ...conditions(b, c, spec.from, spec.where)];
  const measures = ['calls', 'answered', ...(spec.duration ? ['talk_seconds'] : [])];
  const talk = spec.duration ? sql`,\n  CASE WHEN ${answered} THEN ${float(b, sql`COALESCE(${c}.${d.id(spec.duration)}, 0)`)} ELSE 0 END AS talk_seconds` : Sql.empty;
  const campaign = spec.campaign ? d.cast(sql`${c}.${d.id(spec.campaign)}`, 'string') : d.cast(sql`NULL`, 'string');
  return {
    ctes: [
      {
        name: 'phone_calls',
        body: sql`SELECT ${campaign} AS campaign, ${periodOf(b, day)} AS period_start, 1 AS calls,
  CASE WHEN ${answered} THEN 1 ELSE 0 END AS answered${talk}
FROM ${b.context.relation(spec.from)} AS ${c}
WHERE ${joinSql(filters, sql`\n  AND `)}`,
      },
      { name: 'phone_totals', body: totals(b, 'phone_calls', measures, spec.campaign !== undefined) },
    ],
    rows: kpiRows(b, 'phone', 'phone_totals', availableKpis('phone', new Set(measures)), thresholds),
  };
}

/** The channel of the data-quality shares in `<name>_kpis`. */
export const QUALITY_CHANNEL = 'quality';

/**
 * Data-quality shares: over the population (one row each), how many rows meet each share's conditions. One figure per
 * share, as of the build (no campaign, no period): the population is what the relation holds now.
 */
function qualityChannel(b: Builder, spec: QualitySpec, thresholds: QualityThresholds): ChannelSql {
  const { d } = b;
  const q = d.id('q');
  const t = d.id('t');
  const shares = Object.entries(spec.shares);
  const counts = shares.map(([, share], i) => sql`SUM(CASE WHEN ${and(conditions(b, q, spec.from, share.where))} THEN 1 ELSE 0 END) AS ${d.id(`share_${i}`)}`);
  return {
    ctes: [
      {
        name: 'quality_totals',
        // HAVING without GROUP BY: no row when the population is empty, so no share is reported over nothing.
        body: sql`SELECT COUNT(*) AS population,
  ${joinSql(counts, sql`,
  `)}
FROM ${b.context.relation(spec.from)} AS ${q}
WHERE ${and(conditions(b, q, spec.from, spec.where))}
HAVING COUNT(*) > 0`,
      },
    ],
    rows: shares.map(([name], i) => {
      const limits = thresholds.get(name);
      return sql`SELECT ${d.literal(QUALITY_CHANNEL)} AS channel, ${d.cast(sql`NULL`, 'string')} AS campaign, ${d.cast(sql`NULL`, 'date')} AS period_start, ${d.literal(name)} AS kpi, ${float(b, sql`${t}.${d.id(`share_${i}`)}`)} AS numerator, ${float(b, sql`${t}.population`)} AS denominator, ${floatLiteral(b, limits?.good)} AS good, ${floatLiteral(b, limits?.bad)} AS bad, ${d.literal('higher')} AS better FROM ${d.id('quality_totals')} AS ${t}`;
    }),
  };
}

/** Resolved bounds of the data-quality shares, by KPI name. */
export type QualityThresholds = ReadonlyMap<string, { readonly good: number | undefined; readonly bad: number | undefined }>;

/** The SELECT of `<name>_kpis`: every KPI of every configured channel, per campaign and period and rolled up. */
export function kpisSelect(b: Builder, thresholds: Thresholds, quality: QualityThresholds = new Map()): Sql {
  const { d } = b;
  const m = b.spec.messages;
  const parts: ChannelSql[] = [];
  if (m?.email) parts.push(messageChannel(b, 'email', m.email, thresholds));
  if (m?.sms) parts.push(messageChannel(b, 'sms', m.sms, thresholds));
  if (m?.push) parts.push(messageChannel(b, 'push', m.push, thresholds));
  if (m?.mail) parts.push(messageChannel(b, 'mail', m.mail, thresholds));
  if (m?.phone) parts.push(phoneChannel(b, m.phone, thresholds));
  if (b.spec.quality) parts.push(qualityChannel(b, b.spec.quality, quality));
  const rows = parts.flatMap((p) => p.rows);
  if (rows.length === 0) return emptySelect(b, KPI_COLUMNS);
  const value = sql`CASE WHEN k.denominator IS NULL THEN k.numerator ELSE k.numerator / NULLIF(k.denominator, 0) END`;
  return withCtes(
    b,
    [...parts.flatMap((p) => p.ctes), { name: 'kpi_rows', body: unionAll(rows) }, { name: 'kpi_values', body: sql`SELECT k.*, ${value} AS value FROM ${d.id('kpi_rows')} AS k` }],
    sql`SELECT v.channel, v.campaign, v.period_start, v.kpi, v.numerator, v.denominator, v.value, v.good, v.bad, v.better,
  ${statusSql(d, sql`v.value`, sql`v.good`, sql`v.bad`, sql`v.better`)} AS status
FROM ${d.id('kpi_values')} AS v`,
  );
}
