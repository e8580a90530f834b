import type { TableRef } from '../../src/dialects/dialect.js';
import { sql, type Sql } from '../../src/dialects/sql.js';
import { defineModelKind, type CompanionDeclaration, type ModelPlan, type Step } from '../model-kind.js';
import { analyseIdentity, identityInputs } from './analyse.js';
import { fieldsSelect, goldenSelect } from './golden.js';
import { cappedIdentifiers, componentPlan } from './guards.js';
import { linksSelect, mapSelect } from './map.js';
import { resolvePlan } from './plan.js';
import { recordsSelect, rowsSelect, valuesSelects } from './records.js';
import { reportSelect, summariseReport } from './report.js';
import { findCustomers, findCustomersBy, personValues } from './explain.js';
import { edgesSelect, groupsSelect, keysSelect } from './rules.js';
import { identitySchema, type IdentitySpec } from './schema.js';
import { customersSelect, membersSelect, previousStep } from './stable-ids.js';
import { emptySelect, identityTables, statistics, type IdentityTables } from './tables.js';
import { gammasSelect, pairsSelect, resolveScoring, scoresSelect, sharedValuesSelect, tfSelect, wideSelect, type ScoringPlan } from './scoring.js';
import { PARAMETER_COLUMNS, scoredPairsSelect, trainingSteps } from './train.js';

/**
 * The identity model kind: records from several sources resolved into customers, inside the warehouse.
 *
 *   sources ─▶ rows ─▶ records, values (normalised) ─▶ keys per rule ─▶ groups (over-shared keys ignored)
 *     ─▶ links ─▶ connected components (large-star / small-star, repeated; under the caps) ─▶ stable ids
 *     ─▶ <name>_map, <name>_links, <name> (golden record), <name>_report
 *
 * See README.md beside this file for the YAML and the decisions behind each stage.
 */
export const identity = defineModelKind<IdentitySpec>({
  kind: 'identity',
  summary: 'One customer per person across sources: normalised identifiers, ordered match rules, stable ids, a golden record',
  schema: identitySchema,
  cli: () => import('./cli.js').then((m) => m.identityCommands),
  inputs: identityInputs,
  analyse: analyseIdentity,

  companions(spec) {
    const s = (name: string) => ({ name, type: 'string' as const });
    return [
      {
        suffix: 'map',
        description: 'Every source record with the customer id it belongs to, the rule that linked it and its previous id',
        columns: [s('source'), s('source_id'), s('customer_id'), s('rule'), s('previous_customer_id'), { name: 'holds_id', type: 'boolean' }],
      },
      {
        suffix: 'links',
        description: 'Every link between two source records: the rule, the value matched on, and whether it was used',
        columns: [
          s('customer_id'), s('rule'), { name: 'rank', type: 'integer' }, s('matched_on'), s('source'), s('source_id'),
          s('linked_source'), s('linked_source_id'), s('linked_customer_id'), { name: 'used', type: 'boolean' },
        ],
      },
      { suffix: 'report', description: 'Records in, customers out, merges per rule, ignored junk values, largest clusters', columns: undefined },
      ...(spec.probabilistic ? probabilisticCompanions(spec) : []),
    ];
  },

  plan(spec, context): ModelPlan {
    const d = context.dialect;
    const plan = resolvePlan(spec);
    const scoring = resolveScoring(spec, plan);
    const t = identityTables(context, cappedIdentifiers(plan).length > 0, scoring !== undefined);
    const create = (label: string, table: TableRef, select: Sql): Step => ({ kind: 'sql', label, sql: d.createTableAs(table, select) });
    // Intermediate tables joined by later steps: created, then their statistics refreshed where the warehouse needs it.
    const stage = (label: string, table: TableRef, select: Sql): Step[] => [create(label, table, select), ...statistics(d, table)];
    const steps: Step[] = [
      previousStep(d, t),
      ...statistics(d, t.prev),
      create('read every source once', t.rows, rowsSelect(d, plan, context)),
      ...stage('one record per source and id', t.records, recordsSelect(d, t)),
      ...valuesSelects(d, plan, t).map(
        (select, i): Step => (i === 0 ? create('normalised values', t.values, select) : { kind: 'sql', label: 'more normalised values', sql: sql`INSERT INTO ${d.table(t.values)}\n${select}` }),
      ),
      ...statistics(d, t.values),
      ...stage('rule keys', t.keys, keysSelect(d, plan, t)),
      ...stage('records per key', t.groups, groupsSelect(d, plan, t)),
      ...(scoring && t.scoring ? scoringSteps(scoring, t.scoring) : []),
      ...stage('links', t.edges, edgesSelect(d, plan, t, scoring)),
      create('round counter', t.rounds, emptySelect(d, [['phase', 'string']])),
      ...componentPlan(d, plan, t, scoring !== undefined),
      ...stage('records with their component and previous id', t.members, membersSelect(d, t)),
      ...stage('customer ids', t.customers, customersSelect(d, t)),
      create('map', t.map.build, mapSelect(d, t)),
      create('links kept for explain', t.links.build, linksSelect(d, t)),
      ...stage('candidate values of golden fields', t.fields, fieldsSelect(d, plan, t)),
      create('golden record', t.golden, goldenSelect(d, plan, t, context)),
      ...(scoring && t.scoring ? [create('scored pairs kept for review and explain', t.scoring.scored.build, scoredPairsSelect(d, scoring, t.scoring.scores, t.records))] : []),
      create('report', t.report.build, reportSelect(d, plan, t, scoring)),
    ];
    return { steps };

    function scoringSteps(scoring: ScoringPlan, st: NonNullable<IdentityTables['scoring']>): Step[] {
      return [
        create('e-mails, phones and codes on too many records', st.shared, sharedValuesSelect(d, scoring, t.values)),
        ...stage('identifiers side by side, one row per record', st.wide, wideSelect(d, scoring, t.values, st.shared)),
        ...stage('term frequencies', st.tf, tfSelect(d, scoring, st.wide)),
        ...stage('candidate pairs (blocking rules)', st.pairs, pairsSelect(d, scoring, st.wide)),
        ...stage('comparison levels of candidate pairs', st.gammas, gammasSelect(d, scoring, st)),
        { kind: 'timed', label: 'when training starts', body: (runTime) => [create('the time training starts, for the report', st.started, sql`SELECT ${runTime} AS ${d.id('started_at')}`)] },
        ...trainingSteps(d, scoring, st),
        ...stage('match weights and probabilities', st.scores, scoresSelect(d, scoring, st)),
      ];
    }
  },

  people(spec, context) {
    const explain = { ...context, spec };
    return {
      find: (kind, value) => (kind === 'phone' || kind === 'key' ? findCustomersBy(explain, kind === 'key' ? 'code' : 'phone', value) : findCustomers(explain, value)),
      values: (ids) => personValues(explain, ids),
    };
  },
  summarise(spec, context) {
    const plan = resolvePlan(spec);
    return summariseReport(plan, context, resolveScoring(spec, plan));
  },
});

/** `<name>_parameters` and `<name>_pairs`, for a model with a `probabilistic` block. */
function probabilisticCompanions(spec: IdentitySpec): CompanionDeclaration[] {
  const scoring = resolveScoring(spec, resolvePlan(spec))!;
  const s = (name: string) => ({ name, type: 'string' as const });
  const f = (name: string) => ({ name, type: 'float' as const });
  return [
    {
      suffix: 'parameters',
      description: 'The trained probabilistic model: m and u per comparison level, its weight, and the prior; re-used until the model changes',
      columns: PARAMETER_COLUMNS.map(([name, type]) => ({ name, type })),
    },
    {
      suffix: 'pairs',
      description: 'Scored record pairs at or above the review band: probability, decision (link or review) and each comparison level and weight',
      columns: [
        s('source'), s('source_id'), s('linked_source'), s('linked_source_id'), f('match_weight'), f('match_probability'), s('decision'), f('prior_weight'),
        ...scoring.comparisons.flatMap((c) => [s(`${c.identifier}_level`), f(`${c.identifier}_weight`)]),
      ],
    },
  ];
}
