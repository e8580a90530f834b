import { join } from 'node:path';
import { it } from 'vitest';
import type { LogicalType } from '../../src/dialects/dialect.js';
import { joinSql, sql } from '../../src/dialects/sql.js';
import { modelScript } from '../../src/pipeline/script.js';
import { analyseWithSources } from '../../src/project/analyse.js';
import { loadProject } from '../../src/project/loader.js';
import type { Connection, Value } from '../../src/warehouses/connection.js';
import { tempProject } from './cli.js';
import { expectGolden, GOLDEN_DIALECTS, GOLDEN_TARGETS } from './golden.js';

/** A table of a model test: typed columns and rows, worked out by hand. */
export interface TestTable {
  readonly columns: [string, LogicalType][];
  readonly rows: Value[][];
}

/** Creates and fills the tables in `schema` (which must exist). */
export async function createTables(connection: Connection, schema: string, tables: Readonly<Record<string, TestTable>>): Promise<void> {
  const d = connection.dialect;
  for (const [name, table] of Object.entries(tables)) {
    const ref = { schema, name };
    await connection.execute(sql`CREATE TABLE ${d.table(ref)} (${joinSql(table.columns.map(([c, type]) => sql`${d.id(c)} ${d.type(type)}`))})`);
    await connection.insertRows(ref, table.columns.map(([c, type]) => ({ name: c, type })), [table.rows]);
  }
}

/**
 * One test per dialect no test executes, comparing the script of `model` (in `files`, reading the tables of `tables`
 * in a schema `raw`) with `<goldenDir>/<dialect>.sql`. DuckDB and PostgreSQL build the same model for real elsewhere.
 */
export function goldenScripts(input: { readonly files: Readonly<Record<string, string>>; readonly tables: Readonly<Record<string, TestTable>>; readonly model: string; readonly goldenDir: string }): void {
  const root = tempProject({ 'tideline.yml': `name: golden\n${GOLDEN_TARGETS}`, ...input.files });
  const columns = new Map(Object.entries(input.tables).map(([name, table]) => [name, table.columns.map(([c, type]) => ({ name: c, type }))]));
  for (const dialect of GOLDEN_DIALECTS) {
    it(dialect, async () => {
      const project = await loadProject({ projectDir: root, target: dialect });
      const analysis = analyseWithSources(project, columns, true);
      expectGolden(join(input.goldenDir, `${dialect}.sql`), modelScript(project, analysis, project.models.get(input.model)!).script);
    });
  }
}
