import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { asOfSql } from '../../src/expressions/as-of.js';
import { consentGates, type PolicyScope } from '../../src/expressions/policies.js';
import { modelScript } from '../../src/pipeline/script.js';
import { analyseWithSources } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import { sourceRelation } from '../../src/project/analyse.js';
import { diffSelect } from '../../src/sync/planner.js';
import { gatesOf, policiesReach } from '../../src/sync/suppressions.js';
import { expectGolden, GOLDEN_DIALECTS } from '../support/golden.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/suppressions');

const COLUMNS: Record<string, [string, LogicalType][]> = {
  raw_customers: [
    ['customer_id', 'string'],
    ['orders', 'integer'],
    ['consent_email', 'boolean'],
  ],
  tickets: [
    ['customer_id', 'integer'],
    ['created_at', 'timestamp'],
    ['type', 'string'],
  ],
  bounces: [
    ['customer_id', 'string'],
    ['kind', 'string'],
  ],
  consent_facts: [
    ['customer_id', 'string'],
    ['purpose', 'string'],
    ['granted', 'boolean'],
    ['recorded_at', 'timestamp'],
  ],
  preference_facts: [
    ['customer_id', 'string'],
    ['channel', 'string'],
    ['topic', 'string'],
    ['opted_in', 'boolean'],
    ['updated_at', 'timestamp'],
  ],
};

/**
 * Golden SQL of the project's suppressions, preferences and consent for the dialects no test executes: the audiences'
 * membership (suppressed and refused members, an exempt exclusion audience) and the diff of a sync they reach (a
 * topic sync, an audience sync, and an ads audience sync needing consent to ads_personalisation).
 * test/suppressions.test.ts and test/consent.test.ts run the same on DuckDB and PostgreSQL.
 */
describe('golden SQL of suppressions, preferences and consent', () => {
  for (const dialect of GOLDEN_DIALECTS) {
    it(dialect, async () => {
      const project = await loadProject({ projectDir: FIXTURE, target: dialect, env: {} });
      const d = project.target.dialect;
      const analysis = analyseWithSources(project, new Map(Object.entries(COLUMNS).map(([name, cols]) => [name, cols.map(([n, type]) => ({ name: n, type }))])), true);
      // The memberships step only: the rest of the build (history, report) is the audiences golden's.
      const [memberships] = modelScript(project, analysis, project.models.get('segments')!).plan.steps;
      if (memberships?.kind !== 'sql') throw new Error('the audiences build starts with its memberships statement');
      const scope: PolicyScope = {
        d,
        relation: (name) => sourceRelation(project, project.sources.get(name)!),
        typeOf: (relation, column) => COLUMNS[relation]?.find(([n]) => n === column)?.[1],
        asOf: asOfSql(d, { var: 'as_of' }, project.vars),
      };
      const diffs = ['promo', 'loyal_list', 'ads_list'].map((name) => {
        const sync = project.syncs.get(name)!;
        if (!policiesReach(project.policies, sync)) throw new Error(`the policies should reach ${name}`);
        const types = new Map((analysis.columns.get(sync.model) ?? []).map((c) => [d.identifierKey(c.name), c.type]));
        const model = { schema: project.target.schema, name: sync.model };
        const { select } = diffSelect({ dialect: d, sync, model, types, snapshot: undefined, rejected: undefined, gates: { contact: 'customer_id', gates: gatesOf(scope, project.policies, sync), consent: consentGates(scope, project.policies.consent, sync.purposes, 'tl_') } });
        return `-- diff of sync ${name}\n${select.text};`;
      });
      expectGolden(join(import.meta.dirname, 'suppressions', `${dialect}.sql`), `-- memberships of segments\n${memberships.sql.text};\n\n${diffs.join('\n\n')}\n`);
    });
  }
});
