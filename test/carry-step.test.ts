import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogicalType, TableRef } from '../src/dialects/dialect.js';
import { joinSql, sql } from '../src/dialects/sql.js';
import { createLogger } from '../src/log/logger.js';
import { runModels, type ModelResult } from '../src/pipeline/runner.js';
import { modelScript } from '../src/pipeline/script.js';
import { analyseProject, type Analysis } from '../src/project/analyse.js';
import { loadProject, type Project } from '../src/project/loader.js';
import type { Connection, Value } from '../src/warehouses/connection.js';
import { tempProject } from './support/cli.js';
import { engines, uniqueSchema } from './support/engines.js';

/**
 * The `carry` step (models/model-kind.ts): identity's ids, a report's segment snapshots and an audiences model's
 * history are carried over from the previous build by the runner, with one behaviour for the three. Each case plants
 * a row in the table the previous build left, which only carrying it over keeps, and drops a column of it to stand
 * for a table an older Tideline wrote. Before the carry step, that table failed identity with its own message and
 * report and audiences with the warehouse's "column not found".
 */

interface Case {
  readonly kind: string;
  readonly model: string;
  /** The carry step's label, which starts its error. */
  readonly step: string;
  /** The table the previous build leaves, which the next build carries over. */
  readonly previous: string;
  /** A column the step carries, dropped to stand for an older Tideline's table. */
  readonly column: string;
  /** Plants, in the previous table, a row that only carrying it over keeps. */
  plant(connection: Connection, table: TableRef): Promise<void>;
  /** Whether the current table holds the planted row. */
  planted(connection: Connection, table: TableRef): Promise<boolean>;
}

const AT = new Date('2026-06-01T08:00:00Z');

const CASES: readonly Case[] = [
  {
    kind: 'identity',
    model: 'people',
    step: 'previous ids',
    previous: 'people_map',
    column: 'customer_id',
    // The record p1 holds the id "planted" in the previous map: carried over, its customer keeps it.
    plant: async (connection, table) => {
      const d = connection.dialect;
      await connection.execute(sql`UPDATE ${d.table(table)} SET ${d.id('customer_id')} = ${d.string('planted')} WHERE ${d.id('source_id')} = ${d.string('p1')}`);
    },
    planted: async (connection, table) => {
      const d = connection.dialect;
      const rows = await connection.query(sql`SELECT ${d.id('customer_id')} AS c FROM ${d.table(table)} WHERE ${d.id('source_id')} = ${d.string('p1')}`);
      return rows[0]?.['c'] === 'planted';
    },
  },
  {
    kind: 'report',
    model: 'segment_report',
    step: 'segment snapshots',
    previous: 'segment_report_snapshots',
    column: 'segment',
    // A snapshot of May, within `keep` of the as-of date (2026-06-30): carried over, it stays.
    plant: (connection, table) => insert(connection, table, { snapshot_date: 'date', customer: 'string', segment: 'string' }, ['2026-05-31', 'planted', 'Loyal']),
    planted: (connection, table) => holds(connection, table, 'customer'),
  },
  {
    kind: 'audiences',
    model: 'lists',
    step: 'membership history',
    previous: 'lists_history',
    column: 'audience_group',
    // A stay that ended before: carried over, it stays as it was.
    plant: (connection, table) =>
      insert(connection, table, { audience: 'string', customer_id: 'string', audience_group: 'string', entered_at: 'timestamp', exited_at: 'timestamp' }, ['everyone', 'planted', 'treatment', AT, AT]),
    planted: (connection, table) => holds(connection, table, 'customer_id'),
  },
];

async function insert(connection: Connection, table: TableRef, columns: Record<string, LogicalType>, row: readonly Value[]): Promise<void> {
  await connection.insertRows(table, Object.entries(columns).map(([name, type]) => ({ name, type })), [[row]]);
}

async function holds(connection: Connection, table: TableRef, column: string): Promise<boolean> {
  const d = connection.dialect;
  const rows = await connection.query(sql`SELECT COUNT(*) AS n FROM ${d.table(table)} WHERE ${d.id(column)} = ${d.string('planted')}`);
  return Number(rows[0]?.['n']) === 1;
}

const RAW: Record<string, { columns: [string, LogicalType][]; rows: Value[][] }> = {
  people_raw: {
    columns: [
      ['person_id', 'string'],
      ['email', 'string'],
    ],
    rows: [
      ['p1', 'ann@example.com'],
      ['p2', 'bob@example.com'],
    ],
  },
  customers_raw: {
    columns: [
      ['customer_id', 'string'],
      ['segment', 'string'],
      ['consent_email', 'boolean'],
    ],
    rows: [
      ['c1', 'Champions', true],
      ['c2', 'At Risk', true],
    ],
  },
};

function yaml(raw: string): string {
  return `sources:
  - { name: people_raw, table: ${raw}.people_raw }
  - { name: customers_raw, table: ${raw}.customers_raw }
models:
  - name: people
    kind: identity
    identifiers:
      email: email
    sources:
      - from: people_raw
        id: person_id
        identifiers:
          email: email
    rules:
      - match: [email]
  - name: segment_report
    kind: report
    as_of: '2026-06-30'
    segments: { from: customers_raw, customer: customer_id, segment: segment }
  - name: lists
    kind: audiences
    customers: customers_raw
    as_of: '2026-06-30'
    audiences:
      - name: everyone
        channel: email
        where: { field: segment, equals: Champions }
`;
}

for (const engine of engines()) {
  describe(`carry steps on ${engine.name}`, () => {
    const d = engine.dialect;
    const schema = uniqueSchema('carry');
    const raw = `${schema}_raw`;
    let connection: Connection;
    let project: Project;
    let analysis: Analysis;

    const build = async (model: string, fullRefresh = false): Promise<ModelResult> => {
      const [result] = await runModels(project, connection, analysis, [model], { logger: createLogger({ level: 'silent' }), fullRefresh });
      return result!;
    };
    const columnsOf = async (name: string) => (await connection.columns({ schema, name }))?.map((c) => c.name);

    beforeAll(async () => {
      connection = await engine.open();
      for (const statement of d.setupStatements()) await connection.execute(statement).catch(() => undefined);
      await connection.execute(d.createSchema(raw));
      for (const [name, table] of Object.entries(RAW)) {
        const ref = { schema: raw, name };
        await connection.execute(sql`CREATE TABLE ${d.table(ref)} (${joinSql(table.columns.map(([c, type]) => sql`${d.id(c)} ${d.type(type)}`))})`);
        await connection.insertRows(ref, table.columns.map(([name, type]) => ({ name, type })), [table.rows]);
      }
      const root = tempProject({
        'tideline.yml': `name: carry\nschema: ${schema}\ntargets:\n  test: ${JSON.stringify(engine.target)}\n`,
        'models/models.yml': yaml(raw),
      });
      project = await loadProject({ projectDir: root });
      analysis = await analyseProject(project, connection);
    });
    afterAll(async () => {
      for (const s of [schema, raw]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(s)} CASCADE`);
      await connection.close();
    });

    for (const c of CASES) {
      it(`${c.kind}: starts empty, carries the previous table over, forgets it on a full refresh, refuses one lacking a column`, async () => {
        const previous = { schema, name: c.previous };
        const plant = () => c.plant(connection, previous);

        // The first build: nothing to carry over.
        expect((await build(c.model)).error).toBeNull();
        expect(await c.planted(connection, previous)).toBe(false);

        await plant();
        expect((await build(c.model)).error).toBeNull();
        expect(await c.planted(connection, previous)).toBe(true);

        // A full refresh does not read the previous table.
        expect((await build(c.model, true)).error).toBeNull();
        expect(await c.planted(connection, previous)).toBe(false);

        // A previous table lacking a column it carries: the same located error for every kind, and nothing changed.
        await plant();
        await connection.execute(sql`ALTER TABLE ${d.table(previous)} DROP COLUMN ${d.id(c.column)}`);
        const refused = await build(c.model);
        expect(refused.status).toBe('error');
        expect(refused.error).toBe(
          `${c.step}: ${d.table(previous).text} lacks the column ${c.column}, which this build carries over from the previous one (an older Tideline, or another tool, wrote that table). ` +
            'Nothing was changed. Rebuild with --full-refresh to start afresh without it (what it holds is then dropped)',
        );
        expect(await columnsOf(c.previous)).not.toContain(c.column);

        // The full refresh the error suggests rebuilds it whole.
        expect((await build(c.model, true)).error).toBeNull();
        expect(await columnsOf(c.previous)).toContain(c.column);
      });

      it(`${c.kind}: tideline compile prints the SQL of both branches, and only the first build's for a full refresh`, () => {
        const table = d.table({ schema, name: c.previous }).text;
        const script = modelScript(project, analysis, project.models.get(c.model)!).script;
        expect(script).not.toContain('computed by Tideline');
        expect(script).toContain(`-- ${c.step}, when the previous build left ${table} (the build fails if it lacks any of `);
        expect(script).toContain(`-- ${c.step}, on the first build or a full refresh:`);
        expect(script).toContain(`FROM ${table}`);
        const refresh = modelScript(project, analysis, project.models.get(c.model)!, { fullRefresh: true }).script;
        expect(refresh).toContain(`-- ${c.step}: full refresh, ${table} is not read`);
        expect(refresh).not.toContain(`FROM ${table}`);
      });
    }
  });
}
