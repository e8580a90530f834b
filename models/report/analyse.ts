import { checkComparison, type ColumnCondition } from '../../src/expressions/conditions.js';
import type { LogicalType } from '../../src/dialects/dialect.js';
import type { FieldPath } from '../../src/project/problems.js';
import type { AnalyseContext, ColumnRef, InputRef } from '../model-kind.js';
import { CHANNELS, KPIS, type Channel } from './kpis.js';
import { programMeasure } from './programs.js';
import type { ReportSpec } from './schema.js';
import { channelThresholds, programThresholds, qualityThresholds, type Report } from './thresholds.js';

/**
 * The measures a configured channel can count, from its YAML alone: a measure needs its event types (an empty list
 * means the tool does not export them), human opens need the machine-open flag, talk time needs the call length.
 * The SQL computes exactly these (kpis.ts); a KPI is computed when its measures are.
 */
export function trackedMeasures(spec: ReportSpec, channel: Channel): Set<string> {
  const m = spec.messages;
  const out = new Set<string>();
  const add = (name: string, present: boolean) => {
    if (present) out.add(name);
  };
  switch (channel) {
    case 'email': {
      const e = m?.email;
      if (!e) break;
      const has = (k: keyof typeof e.events) => e.events[k].length > 0;
      const unsubscribeClick = e.unsubscribe_click !== undefined || has('unsubscribed');
      add('messages', has('sent') || has('delivered') || has('bounced'));
      add('delivered', has('delivered'));
      add('bounced', has('bounced'));
      add('openers', has('opened'));
      add('human_openers', has('opened') && e.machine_open !== undefined);
      add('clickers', has('clicked'));
      add('unsubscribers', has('unsubscribed'));
      add('complainers', has('complained'));
      add('unsubscribe_clickers', unsubscribeClick);
      add('all_clickers', has('clicked') || unsubscribeClick);
      break;
    }
    case 'sms': {
      const e = m?.sms?.events;
      if (!e) break;
      add('messages', e.sent.length + e.delivered.length > 0);
      add('delivered', e.delivered.length > 0);
      add('clickers', e.clicked.length > 0);
      add('stops', e.stop.length > 0);
      break;
    }
    case 'push': {
      const e = m?.push?.events;
      if (!e) break;
      add('messages', e.sent.length + e.displayed.length > 0);
      add('displayed', e.displayed.length > 0);
      add('reactors', e.opened.length > 0);
      break;
    }
    case 'mail': {
      const e = m?.mail?.events;
      if (!e) break;
      add('messages', e.sent.length + e.returned.length > 0);
      add('returned', e.returned.length > 0);
      break;
    }
    case 'phone':
      if (!m?.phone) break;
      out.add('calls').add('answered');
      add('talk_seconds', m.phone.duration !== undefined);
      break;
  }
  return out;
}

/** The sources and models a report reads, with every column it uses and where each is written. */
export function reportInputs(spec: ReportSpec): InputRef[] {
  const inputs: InputRef[] = [];
  const col = (name: string | undefined, at: FieldPath): ColumnRef[] => (name === undefined ? [] : [{ name, at }]);
  const where = (list: readonly ColumnCondition[] | undefined, at: FieldPath): ColumnRef[] => (list ?? []).map((w, i) => ({ name: w.column, at: [...at, i, 'column'] }));
  const o = spec.orders;
  if (o) {
    inputs.push({
      relation: o.from,
      at: ['orders', 'from'],
      columns: [...col(o.customer, ['orders', 'customer']), ...col(o.time, ['orders', 'time']), ...col(o.revenue, ['orders', 'revenue']), ...where(o.where, ['orders', 'where'])],
    });
  }
  for (const channel of ['email', 'sms', 'push', 'mail'] as const) {
    const c = spec.messages?.[channel];
    if (!c) continue;
    const at = (...rest: FieldPath): FieldPath => ['messages', channel, ...rest];
    const email = channel === 'email' ? spec.messages!.email! : undefined;
    inputs.push({
      relation: c.from,
      at: at('from'),
      columns: [
        ...col(c.customer, at('customer')),
        ...col(c.time, at('time')),
        ...col(c.campaign, at('campaign')),
        ...col(c.event_type, at('event_type')),
        ...where(c.where, at('where')),
        ...col(email?.machine_open, at('machine_open')),
        ...where(email?.unsubscribe_click, at('unsubscribe_click')),
      ],
    });
  }
  const phone = spec.messages?.phone;
  if (phone) {
    const at = (...rest: FieldPath): FieldPath => ['messages', 'phone', ...rest];
    inputs.push({
      relation: phone.from,
      at: at('from'),
      columns: [...col(phone.time, at('time')), ...col(phone.campaign, at('campaign')), ...col(phone.duration, at('duration')), ...where(phone.answered, at('answered')), ...where(phone.where, at('where'))],
    });
  }
  const m = spec.memberships;
  if (m?.audiences !== undefined) {
    // The audiences model's table has the history's columns under these names; the history itself is its companion.
    inputs.push({
      relation: m.audiences,
      at: ['memberships', 'audiences'],
      columns: [...col('audience', ['memberships', 'audiences']), ...col('audience_group', ['memberships', 'audiences']), ...col(m.customer, ['memberships', 'customer'])],
    });
  } else if (m?.from !== undefined) {
    inputs.push({
      relation: m.from,
      at: ['memberships', 'from'],
      columns: [
        ...col(m.customer, ['memberships', 'customer']),
        ...col(m.audience ?? 'audience', ['memberships', m.audience ? 'audience' : 'from']),
        ...col(m.group ?? 'audience_group', ['memberships', m.group ? 'group' : 'from']),
        ...col(m.entered_at ?? 'entered_at', ['memberships', m.entered_at ? 'entered_at' : 'from']),
      ],
    });
  }
  const first = spec.cohorts.first_order;
  if (first) {
    inputs.push({ relation: first.from, at: ['cohorts', 'first_order', 'from'], columns: [...col(first.customer, ['cohorts', 'first_order', 'customer']), ...col(first.date, ['cohorts', 'first_order', 'date'])] });
  }
  const q = spec.quality;
  if (q) {
    inputs.push({
      relation: q.from,
      at: ['quality', 'from'],
      columns: [...where(q.where, ['quality', 'where']), ...Object.entries(q.shares).flatMap(([name, share]) => where(share.where, ['quality', 'shares', name, 'where']))],
    });
  }
  const s = spec.segments;
  if (s) {
    inputs.push({
      relation: s.from,
      at: ['segments', 'from'],
      columns: [...col(s.customer, ['segments', 'customer']), ...col(s.segment, ['segments', 'segment']), ...col(s.at, ['segments', 'at'])],
    });
  }
  return inputs;
}

const TIME_TYPES: readonly LogicalType[] = ['date', 'timestamp'];
const NUMERIC_TYPES: readonly LogicalType[] = ['integer', 'float', 'decimal'];

/** The report's own checks, each located; column existence was checked by the engine from `reportInputs`. */
export function analyseReport(spec: ReportSpec, context: AnalyseContext): void {
  const d = context.dialect;
  const report: Report = (at, message, code = 'invalid-report') => context.problem(at, message, code);
  const typeOf = (relation: string, column: string | undefined) =>
    column === undefined ? undefined : context.columnsOf(relation)?.find((c) => d.identifierKey(c.name) === d.identifierKey(column))?.type;
  const expect = (relation: string, column: string | undefined, allowed: readonly LogicalType[], what: string, at: FieldPath) => {
    const type = typeOf(relation, column);
    if (type !== undefined && !allowed.includes(type)) report(at, `${what} "${column}" must be ${allowed.join(' or ')}, not ${type}`, 'wrong-type');
  };
  const conditions = (relation: string, list: readonly ColumnCondition[] | undefined, at: FieldPath) =>
    (list ?? []).forEach((w, i) => checkComparison(w, `column "${w.column}" of ${relation}`, typeOf(relation, w.column), [...at, i], report));

  if (!spec.orders && !spec.messages && !spec.segments && !spec.quality) report([], 'a report needs something to measure: `orders`, `messages`, `segments` or `quality`', 'empty-report');

  const o = spec.orders;
  if (o) {
    expect(o.from, o.time, TIME_TYPES, 'order time', ['orders', 'time']);
    expect(o.from, o.revenue, NUMERIC_TYPES, 'order revenue', ['orders', 'revenue']);
    conditions(o.from, o.where, ['orders', 'where']);
  }

  const messages = spec.messages;
  if (messages && !CHANNELS.some((c) => messages[c])) report(['messages'], `name at least one channel: ${CHANNELS.join(', ')}`, 'empty-report');
  for (const channel of ['email', 'sms', 'push', 'mail'] as const) {
    const c = messages?.[channel];
    if (!c) continue;
    const at = (...rest: FieldPath): FieldPath => ['messages', channel, ...rest];
    expect(c.from, c.time, TIME_TYPES, 'event time', at('time'));
    conditions(c.from, c.where, at('where'));
    if (!trackedMeasures(spec, channel).has('messages')) report(at('events'), `${channel} needs at least one event type that says a message was sent`, 'bad-events');
  }
  if (messages?.email) {
    const e = messages.email;
    expect(e.from, e.machine_open, ['boolean'], 'machine-open flag', ['messages', 'email', 'machine_open']);
    conditions(e.from, e.unsubscribe_click, ['messages', 'email', 'unsubscribe_click']);
  }
  if (messages?.phone) {
    const p = messages.phone;
    expect(p.from, p.time, TIME_TYPES, 'call time', ['messages', 'phone', 'time']);
    expect(p.from, p.duration, NUMERIC_TYPES, 'call length', ['messages', 'phone', 'duration']);
    conditions(p.from, p.answered, ['messages', 'phone', 'answered']);
    conditions(p.from, p.where, ['messages', 'phone', 'where']);
  }
  channelThresholds(spec, report);
  for (const [channel, kpis] of Object.entries(spec.thresholds)) {
    if (!(CHANNELS as readonly string[]).includes(channel) || !messages?.[channel as Channel]) continue;
    const tracked = trackedMeasures(spec, channel as Channel);
    for (const name of Object.keys(kpis)) {
      const def = KPIS.find((k) => k.channel === channel && k.name === name);
      const missing = def ? [def.numerator, def.denominator].filter((m): m is string => m !== null && !tracked.has(m)) : [];
      if (missing.length) report(['thresholds', channel, name], `${channel} ${name} is not computed: its events (${missing.join(', ')}) are not tracked by messages.${channel}`, 'unknown-kpi');
    }
  }

  const m = spec.memberships;
  if (m) {
    if ((m.audiences === undefined) === (m.from === undefined)) report(['memberships'], 'name either an audiences model (`audiences:`) or a relation (`from:`), exactly one', 'bad-memberships');
    if (m.audiences !== undefined) {
      for (const field of ['audience', 'group', 'entered_at'] as const) {
        if (m[field] !== undefined) report(['memberships', field], `an audiences model's history has fixed columns; \`${field}\` applies to \`from:\` relations only`, 'bad-memberships');
      }
    }
    if (m.from !== undefined) expect(m.from, m.entered_at ?? 'entered_at', TIME_TYPES, 'entry time', ['memberships', m.entered_at ? 'entered_at' : 'from']);
    if (!o) report(['memberships'], 'holdout uplift and programs measure orders: add `orders`', 'missing-orders');
  } else {
    if (spec.uplift.audiences) report(['uplift', 'audiences'], 'uplift needs `memberships` (who entered which audience, in which group)', 'missing-memberships');
    if (spec.uplift.since) report(['uplift', 'since'], 'uplift needs `memberships` (who entered which audience, in which group)', 'missing-memberships');
  }

  const names = new Set<string>();
  spec.programs.forEach((p, i) => {
    const at = (...rest: FieldPath): FieldPath => ['programs', i, ...rest];
    if (names.has(p.name)) report(at('name'), `program "${p.name}" is defined twice`, 'duplicate-name');
    names.add(p.name);
    const given = (['converted_within', 'repeat_within'] as const).filter((k) => p.kpi[k] !== undefined);
    if (given.length !== 1) report(at('kpi'), `a program has one KPI: give exactly one of converted_within, repeat_within${given.length ? ` (found ${given.join(', ')})` : ''}`, 'bad-program');
    if (given.length !== 1) return;
    const measure = programMeasure(p);
    if (measure && !o) report(at('kpi'), 'program KPIs count orders: add `orders`', 'missing-orders');
    if (measure?.measure === 'converted_within') {
      if (!m) report(at('kpi', 'converted_within'), 'converted_within follows audience entries: add `memberships`', 'missing-memberships');
      if (p.audiences.length === 0) report(at('audiences'), 'converted_within measures the entrants of the program\'s audiences: list them under `audiences`', 'bad-program');
    }
  });
  programThresholds(spec, report);

  const q = spec.quality;
  if (q) {
    conditions(q.from, q.where, ['quality', 'where']);
    for (const [name, share] of Object.entries(q.shares)) conditions(q.from, share.where, ['quality', 'shares', name, 'where']);
    qualityThresholds(spec, report);
  }

  const first = spec.cohorts.first_order;
  if (first) expect(first.from, first.date, TIME_TYPES, 'first order date', ['cohorts', 'first_order', 'date']);

  const s = spec.segments;
  if (s) {
    if (s.at) expect(s.from, s.at, TIME_TYPES, 'snapshot date', ['segments', 'at']);
    if (s.compare && s.compare[0] >= s.compare[1]) report(['segments', 'compare'], `compare an earlier snapshot with a later one: ${s.compare[0]} is not before ${s.compare[1]}`, 'bad-segments');
  }
}
