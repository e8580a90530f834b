import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelPlanContext } from '../../src/pipeline/script.js';
import { DIALECTS } from '../../src/dialects/registry.js';
import { indentSql, type Sql } from '../../src/dialects/sql.js';
import { analyseWithSources } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import { tempProject } from '../../test/support/cli.js';
import { expectGolden, GOLDEN_DIALECTS, GOLDEN_TARGETS } from '../../test/support/golden.js';
import { membershipSelect } from './membership.js';
import { readStanding } from './listing.js';
import { previewAudience, type AudiencesQuery } from './preview.js';
import type { AudiencesSpec } from './schema.js';

/**
 * The statements `tideline audience preview` and `list` send, per dialect: none of them writes, and for the dialects
 * no test executes (see GOLDEN_DIALECTS) they are golden SQL; DuckDB and PostgreSQL run them in
 * test/audience-cli.test.ts.
 */

const models = `sources:
  - { name: customers, table: raw.customers }
models:
  - name: segs
    kind: audiences
    customers: customers
    pressure: { email: { max: 1 } }
    audiences:
      - { name: buyers, channel: email, holdout: 20%, splits: { a: 50%, b: 50% }, where: { field: orders, gte: 1 } }
      - { name: vip, channel: email, priority: 5, where: { field: orders, gte: 3 } }
  - name: promos
    kind: audiences
    customers: customers
    audiences:
      - { name: newsletter, channel: email, where: { field: email, is_null: false } }
`;
const columns = new Map([
  [
    'customers',
    [
      { name: 'customer_id', type: 'string' as const },
      { name: 'email', type: 'string' as const },
      { name: 'orders', type: 'integer' as const },
      { name: 'consent_email', type: 'boolean' as const },
    ],
  ],
]);

describe('audience preview and list: the statements sent', () => {
  const root = tempProject({ 'tideline.yml': `name: shop\n${GOLDEN_TARGETS}`, 'models/all.yml': models });
  for (const dialect of Object.keys(DIALECTS)) {
    it(dialect, async () => {
      const project = await loadProject({ projectDir: root, target: dialect });
      const analysis = analyseWithSources(project, columns, true);
      const query = (name: string): AudiencesQuery => {
        const model = project.models.get(name)!;
        const spec = model.spec as AudiencesSpec;
        return { model: name, spec, select: membershipSelect(spec, modelPlanContext(project, analysis, model).context) };
      };
      const sent: Sql[] = [];
      const io = {
        query: async (statement: Sql) => {
          sent.push(statement);
          return [];
        },
        columns: async () => [{}],
      };
      const d = project.target.dialect;
      const segs = query('segs');
      const promos = query('promos');
      const preview = await previewAudience(io, d, segs, 'buyers', [promos], 10);
      expect(preview.groups).toEqual([
        { group: 'holdout', members: 0 },
        { group: 'a', members: 0 },
        { group: 'b', members: 0 },
      ]);
      expect(preview.overlap.map((o) => `${o.model}.${o.audience}`)).toEqual(['segs.vip', 'promos.newsletter']);
      const tables = { report: { schema: 'analytics', name: 'segs_report' }, history: { schema: 'analytics', name: 'segs_history' } };
      await readStanding(io, d, 'segs', project.models.get('segs')!.spec as AudiencesSpec, tables);
      expect(sent).toHaveLength(5);
      for (const statement of sent) expect(statement.text).not.toMatch(/\b(CREATE|INSERT|UPDATE|DELETE|DROP|MERGE|ALTER|TRUNCATE)\b/i);
      if (!GOLDEN_DIALECTS.some((name) => name === project.target.dialect.name)) return;
      // Each statement nests the membership SELECT of its models, the build's own (test/golden/audiences holds it for
      // another spec): the file shows each once, and the statements with a placeholder where it goes.
      const selects = [segs, promos].map((q) => ({ model: q.model, select: q.select.text, nested: indentSql(q.select, 4).text }));
      const statements = sent.map((s) => selects.reduce((text, q) => text.replaceAll(q.nested, `    -- the membership SELECT of ${q.model}, above`), s.text));
      expect(statements.filter((text) => text.includes('-- the membership SELECT of')), 'counts, overlap and samples nest one').toHaveLength(3);
      const golden = [...selects.map((q) => `-- the membership SELECT of ${q.model}\n${q.select};\n`), ...statements.map((text) => `${text};\n`)];
      expectGolden(join(import.meta.dirname, '../../test/golden/audience_preview', `${dialect}.sql`), golden.join('\n'));
    });
  }
});
