import type { TableRef } from '../../src/dialects/dialect.js';
import { sql, type Sql } from '../../src/dialects/sql.js';
import { defineModelKind, type ModelPlan, type Step } from '../model-kind.js';
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
import { emptySelect, identityTables, statistics } from './tables.js';

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

  companions() {
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
    ];
  },

  plan(spec, context): ModelPlan {
    const d = context.dialect;
    const plan = resolvePlan(spec);
    const t = identityTables(context, cappedIdentifiers(plan).length > 0);
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
      ...stage('links', t.edges, edgesSelect(d, plan, t)),
      create('round counter', t.rounds, emptySelect(d, [['phase', 'string']])),
      ...componentPlan(d, plan, t),
      ...stage('records with their component and previous id', t.members, membersSelect(d, t)),
      ...stage('customer ids', t.customers, customersSelect(d, t)),
      create('map', t.map.build, mapSelect(d, t)),
      create('links kept for explain', t.links.build, linksSelect(d, t)),
      ...stage('candidate values of golden fields', t.fields, fieldsSelect(d, plan, t)),
      create('golden record', t.golden, goldenSelect(d, plan, t, context)),
      create('report', t.report.build, reportSelect(d, plan, t)),
    ];
    return { steps };
  },

  people(spec, context) {
    const explain = { ...context, spec };
    return {
      find: (kind, value) => (kind === 'phone' || kind === 'key' ? findCustomersBy(explain, kind === 'key' ? 'code' : 'phone', value) : findCustomers(explain, value)),
      values: (ids) => personValues(explain, ids),
    };
  },
  summarise(spec, context) {
    return summariseReport(resolvePlan(spec), context);
  },
});
