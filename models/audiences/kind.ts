import { sql, type Sql } from '../../src/dialects/sql.js';
import { defineModelKind, type ColumnRef, type InputRef, type ModelSummary, type OutputColumn, type Step, type SummaryContext } from '../model-kind.js';
import { appliesTo, currentMemberColumns, currentMembers } from './pressure.js';
import { analyseAudiences } from './analyse.js';
import { leavesOf } from './conditions.js';
import { historyStep } from './history.js';
import { HOLDOUT } from './holdout.js';
import { describeAudience, readReport } from './listing.js';
import { membershipSelect, STATUS } from './membership.js';
import { exempt } from './suppressed.js';
import { audiencesSchema, type AudiencesSpec } from './schema.js';

/**
 * The audiences kind: what it reads, the tables it keeps, and its build. Analysis (analyse.ts), the membership SQL
 * (membership.ts, holdout.ts), the history (history.ts) and the readers of the report (listing.ts) live beside it.
 */

export const audiences = defineModelKind<AudiencesSpec>({
  kind: 'audiences',
  summary: 'Audiences of customers: conditions on fields and events, consent and preferences, suppressions, holdouts and splits, marketing pressure',
  schema: audiencesSchema,
  cli: () => import('./cli.js').then((m) => m.audienceCommands),
  // Members suppressed or refused by the project's policies are marked (models/audiences/suppressed.ts).
  appliesPolicies: true,
  appliesPressure: true,

  syncParts(spec) {
    return {
      noun: 'audience',
      names: spec.audiences.map((a) => a.name),
      // Members only: never those left out for consent or pressure, never the holdout.
      filter: (d, name) =>
        sql`${d.id('audience')} = ${d.string(name)} AND ${d.id('audience_status')} = ${d.string(STATUS.member)} AND ${d.id('audience_group')} <> ${d.string(HOLDOUT)}`,
      channelOf: (name) => spec.audiences.find((a) => a.name === name)?.channel,
      contact: spec.key,
      policyOf: (name) => {
        const audience = spec.audiences.find((a) => a.name === name);
        if (!audience) return { suppressions: true, preferences: true, topic: undefined, messages: true };
        const free = exempt(audience);
        return { suppressions: !free.suppressions, preferences: !free.preferences, topic: audience.topic, messages: audience.purpose !== 'exclusion' };
      },
      typeOf: (name) => spec.audiences.find((a) => a.name === name)?.type,
    };
  },

  companions(spec) {
    return [
      {
        suffix: 'history',
        description: 'Every stay of a customer in an audience: entered_at, and exited_at once they left',
        columns: [
          { name: 'audience', type: 'string' },
          { name: spec.key, type: undefined },
          { name: 'audience_group', type: 'string' },
          { name: 'entered_at', type: 'timestamp' },
          { name: 'exited_at', type: 'timestamp' },
        ],
      },
      {
        suffix: 'report',
        description: "Per audience, the last run's sizes, entries and exits",
        columns: [
          { name: 'audience', type: 'string' },
          { name: 'channel', type: 'string' },
          { name: 'built_at', type: 'timestamp' },
          ...['members', 'holdout', 'no_consent', 'capped', 'suppressed', 'entered', 'exited'].map((name) => ({ name, type: 'integer' as const })),
        ],
      },
    ];
  },

  inputs(spec): InputRef[] {
    const inputs: InputRef[] = [{ relation: spec.customers, at: ['customers'], columns: [{ name: spec.key, at: ['key'] }] }];
    spec.join.forEach((relation, i) => inputs.push({ relation, at: ['join', i], columns: [{ name: spec.key, at: ['key'] }] }));
    const eventColumns = new Map<string, ColumnRef[]>();
    spec.audiences.forEach((audience, a) => {
      for (const leaf of leavesOf(audience)) {
        if (leaf.kind !== 'event') continue;
        const refs = eventColumns.get(leaf.c.event) ?? [];
        (leaf.c.where ?? []).forEach((w, i) => refs.push({ name: w.column, at: ['audiences', a, ...leaf.at, 'where', i, 'column'] }));
        if (leaf.c.distinct) refs.push({ name: leaf.c.distinct, at: ['audiences', a, ...leaf.at, 'distinct'] });
        eventColumns.set(leaf.c.event, refs);
        for (const key of ['followed_by', 'not_followed_by'] as const) {
          const next = leaf.c[key];
          if (!next) continue;
          const nextRefs = eventColumns.get(next.event) ?? [];
          (next.where ?? []).forEach((w, i) => nextRefs.push({ name: w.column, at: ['audiences', a, ...leaf.at, key, 'where', i, 'column'] }));
          if (next.matched_by) {
            // The matching column must be in both tables.
            const ref = { name: next.matched_by, at: ['audiences', a, ...leaf.at, key, 'matched_by'] };
            nextRefs.push(ref);
            if (next.event !== leaf.c.event) refs.push(ref);
          }
          eventColumns.set(next.event, nextRefs);
        }
      }
    });
    for (const [name, table] of Object.entries(spec.events)) {
      inputs.push({
        relation: table.from,
        at: ['events', name, 'from'],
        columns: [
          { name: table.customer, at: ['events', name, 'customer'] },
          { name: table.time, at: ['events', name, 'time'] },
          ...(table.id ? [{ name: table.id, at: ['events', name, 'id'] }] : []),
          ...(eventColumns.get(name) ?? []),
        ],
      });
    }
    return inputs;
  },

  analyse(spec, context): readonly OutputColumn[] | undefined {
    return analyseAudiences(spec, context);
  },

  plan(spec, context) {
    const d = context.dialect;
    const members = context.scratch('members');
    const history = context.companion('history');
    const report = context.companion('report');
    const tables = { members, history, report, output: context.output };
    const steps: Step[] = [];
    let previous: Sql | undefined;
    if (appliesTo(context.pressure, spec)) {
      // The project's pressure policy caps new entries only: who is a member now is read from the history.
      const current = context.scratch('current');
      const customers = context.relation(spec.customers);
      steps.push({
        kind: 'carry',
        label: 'current members, whom marketing pressure never drops',
        from: history.current,
        columns: currentMemberColumns(spec),
        carried: d.createTableAs(current, currentMembers(d, spec, customers, d.table(history.current))),
        fresh: d.createTableAs(current, currentMembers(d, spec, customers, undefined)),
      });
      previous = d.table(current);
    }
    steps.push({ kind: 'sql', label: 'memberships', sql: d.createTableAs(members, membershipSelect(spec, context, previous)) }, historyStep(spec, context, tables));
    return { steps };
  },

  summarise(spec, context): Promise<ModelSummary> {
    return summariseAudiences(spec, context);
  },
});

async function summariseAudiences(_spec: AudiencesSpec, context: SummaryContext): Promise<ModelSummary> {
  const report = await readReport(context.io, context.dialect, context.companion('report'));
  return { lines: report.map(describeAudience), data: { audiences: report } };
}
