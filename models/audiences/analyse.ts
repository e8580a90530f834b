import { analyseAsOf } from '../../src/expressions/as-of.js';
import { checkComparison, comparisonsIn } from '../../src/expressions/conditions.js';
import type { LogicalType } from '../../src/dialects/dialect.js';
import type { FieldPath } from '../../src/project/problems.js';
import { topicProblem } from '../../src/project/policies.js';
import { unknownTypeProblem } from '../../src/project/pressure.js';
import { didYouMean } from '../../src/project/suggest.js';
import type { AnalyseContext, OutputColumn } from '../model-kind.js';
import { audienceOrder, leavesOf, references } from './conditions.js';
import { consentColumn, effectiveAsOf, fieldsOf } from './fields.js';
import { MEMBERSHIP_COLUMNS, needsConsent } from './membership.js';
import { RELATIVE_DATES, type AudiencesSpec, type EventCondition } from './schema.js';

/** Analysis of an audiences model: located problems in its audiences and events, and the columns it will have. */

export function analyseAudiences(spec: AudiencesSpec, context: AnalyseContext): readonly OutputColumn[] | undefined {
  const d = context.dialect;
  const problem = (at: FieldPath, message: string, code = 'invalid-audience') => context.problem(at, message, code);
  const names = spec.audiences.map((a) => a.name);
  const seen = new Set<string>();
  spec.audiences.forEach((a, i) => {
    if (seen.has(a.name)) problem(['audiences', i, 'name'], `audience "${a.name}" is defined twice`, 'duplicate-name');
    seen.add(a.name);
  });

  analyseAsOf(effectiveAsOf(spec, context.vars), ['as_of'], context);
  const fields = fieldsOf(spec, d, context.columnsOf);
  if (fields) {
    for (const column of MEMBERSHIP_COLUMNS) {
      if (fields.has(d.identifierKey(column))) problem(['customers'], `the customers' column "${column}" collides with a column Tideline adds to memberships; rename it upstream`, 'name-clash');
    }
  }
  const fieldType = (name: string, at: FieldPath): LogicalType | undefined | null => {
    if (!fields) return undefined;
    const field = fields.get(d.identifierKey(name));
    if (!field) {
      problem(at, `unknown field "${name}"${didYouMean(name, [...fields.values()].map((f) => f.name))}; fields come from ${[spec.customers, ...spec.join].join(', ')}`, 'unknown-field');
      return null;
    }
    return field.type;
  };

  spec.audiences.forEach((audience, a) => {
    const at = (...rest: FieldPath) => ['audiences', a, ...rest];
    if (audience.where === undefined && !audience.include?.length) problem(at('name'), `audience "${audience.name}" has neither \`where\` nor \`include\`: say who qualifies`, 'empty-audience');
    for (const ref of references(audience)) {
      if (!names.includes(ref.name)) problem(at(...ref.at), `unknown audience "${ref.name}"${didYouMean(ref.name, names)}`, 'unknown-audience');
      else if (ref.name === audience.name) problem(at(...ref.at), `audience "${audience.name}" refers to itself`, 'cycle');
    }
    if (audience.topic !== undefined) {
      const wrong = topicProblem(context.policies, audience.topic);
      if (wrong) problem(at('topic'), wrong, 'unknown-topic');
      else if (!needsConsent(audience)) problem(at('topic'), `\`topic\` asks for consent to a topic; ${audience.purpose === 'exclusion' ? 'an exclusion audience' : '`require_consent: false`'} asks for none: keep one of them`, 'bad-topic');
    }
    if (audience.type !== undefined) {
      const unknown = unknownTypeProblem(context.pressure, audience.type);
      if (unknown) problem(at('type'), unknown, 'unknown-type');
    }
    if (audience.splits) {
      const total = Object.values(audience.splits).reduce((s, v) => s + v, 0);
      if (Math.abs(total - 100) > 1e-9) problem(at('splits'), `splits must add up to 100 %; these add up to ${total} %`, 'bad-splits');
    }
    if (needsConsent(audience)) {
      const column = consentColumn(spec, audience.channel);
      if (column !== null && fields) {
        const type = fieldType(column, at('channel'));
        if (type === null)
          problem(at('channel'), `channel ${audience.channel} needs a consent column: none named "${column}"; map it under consent.${audience.channel}, or set require_consent: false`, 'missing-consent');
        else if (type !== undefined && type !== 'boolean') problem(at('channel'), `consent column "${column}" must be true/false, not ${type}`, 'wrong-type');
      }
    }
    for (const leaf of leavesOf(audience)) {
      if (leaf.kind === 'field') {
        const type = fieldType(leaf.c.field, at(...leaf.at, 'field'));
        const relative = RELATIVE_DATES.filter((op) => leaf.c[op] !== undefined);
        const comparisons = comparisonsIn(leaf.c);
        if (relative.length + comparisons.length !== 1)
          problem(at(...leaf.at), `a condition needs exactly one operator; found ${[...comparisons, ...relative].join(', ') || 'none'}`, 'bad-condition');
        else if (relative.length) {
          if (type !== null && type !== undefined && type !== 'date' && type !== 'timestamp')
            problem(at(...leaf.at, relative[0]!), `${relative[0]} compares dates, but field "${leaf.c.field}" is ${type}`, 'wrong-type');
        } else if (type !== null) checkComparison(leaf.c, `field "${leaf.c.field}"`, type, at(...leaf.at), problem);
      } else if (leaf.kind === 'percentile') {
        const type = fieldType(leaf.c.by, at(...leaf.at, 'by'));
        if (type && !['integer', 'float', 'decimal', 'date', 'timestamp'].includes(type)) problem(at(...leaf.at, 'by'), `cannot rank customers by "${leaf.c.by}", which is ${type}`, 'wrong-type');
      } else if (leaf.kind === 'event') {
        checkEvent(spec, leaf.c, at(...leaf.at), context, problem);
      }
    }
  });
  audienceOrder(spec, (i, refAt, cycle) => problem(['audiences', i, ...refAt], `audiences refer to each other in a cycle: ${cycle.join(' → ')}`, 'cycle'));

  if (!fields) return undefined;
  const key = fields.get(d.identifierKey(spec.key));
  return [
    { name: 'audience', type: 'string' },
    { name: 'audience_status', type: 'string' },
    { name: 'audience_group', type: 'string' },
    { name: 'audience_channel', type: 'string' },
    { name: 'audience_priority', type: 'integer' },
    { name: 'audience_capped_by', type: 'string' },
    { name: 'audience_entered_at', type: 'timestamp' },
    { name: key?.name ?? spec.key, type: key?.type },
    ...[...fields.values()].filter((f) => f !== key).map((f) => ({ name: f.name, type: f.type })),
  ];
}

function checkEvent(spec: AudiencesSpec, c: EventCondition, at: FieldPath, context: AnalyseContext, problem: (at: FieldPath, message: string, code?: string) => void): void {
  const d = context.dialect;
  const columnsOf = (name: string) => {
    const table = spec.events[name];
    return table ? context.columnsOf(table.from) : undefined;
  };
  const typeOf = (name: string, column: string) => columnsOf(name)?.find((col) => d.identifierKey(col.name) === d.identifierKey(column))?.type;
  // Unknown columns (of where, distinct, matched_by, id) are reported through the kind's inputs.
  const check = (name: string, where: EventCondition['where'], whereAt: FieldPath, nameAt: FieldPath) => {
    const table = spec.events[name];
    if (!table) {
      problem(nameAt, `unknown event table "${name}"${didYouMean(name, Object.keys(spec.events))}; declare it under events:`, 'unknown-event');
      return;
    }
    (where ?? []).forEach((w, i) => checkComparison(w, `column "${w.column}" of ${table.from}`, typeOf(name, w.column), [...whereAt, i], problem));
    const time = typeOf(name, table.time);
    if (time && time !== 'date' && time !== 'timestamp') problem(['events', name, 'time'], `event time "${table.time}" must be a date or timestamp, not ${time}`, 'wrong-type');
  };
  check(c.event, c.where, [...at, 'where'], [...at, 'event']);
  for (const key of ['followed_by', 'not_followed_by'] as const) {
    const later = c[key];
    if (later) check(later.event, later.where, [...at, key, 'where'], [...at, key, 'event']);
  }
  if (c.within && c.between_ago) problem(at, 'give either `within` or `between_ago`, not both', 'conflicting-fields');
  if (c.count) {
    const ops = Object.keys(c.count);
    const lower = ops.filter((op) => op === 'gt' || op === 'gte');
    const upper = ops.filter((op) => op === 'lt' || op === 'lte');
    if (ops.length === 0 || (ops.includes('equals') && ops.length > 1) || lower.length > 1 || upper.length > 1)
      problem([...at, 'count'], 'a count needs `equals`, or at most one lower bound (gt, gte) and one upper bound (lt, lte)', 'bad-condition');
    if (c.did === false) problem([...at, 'did'], 'give either `did` or `count`, not both: `count` replaces `did` (`count: {equals: 0}` for none)', 'conflicting-fields');
  }
}
