import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnSpec, Connection, Value } from '../../src/warehouses/connection.js';
import { Sql, joinSql, sql } from '../../src/dialects/sql.js';
import { datasetPath, warnDatasetsMissing } from '../../test/support/datasets.js';
import { engines, uniqueSchema, type Engine } from '../../test/support/engines.js';
import { build, identityProject } from '../../test/support/identity-project.js';
import { pairwiseQuality } from '../../test/support/identity-metrics.js';

/**
 * Correctness on public data nobody here wrote (../shared/datasets/identity, each record with its true entity):
 * the identity model with rules a data engineer would write for each, its pairwise precision and recall asserted
 * against the truth on DuckDB and PostgreSQL. The figures reached are in README.md; the thresholds sit a little
 * below them, so a change that loses matches or merges strangers fails here.
 */

interface Table {
  readonly name: string;
  /** DuckDB SQL reading the file (its path quoted as a string literal) in place: every column as text, plus `entity` (the truth). */
  readonly read: (path: Sql) => Sql;
  readonly file: string;
}

interface Dataset {
  readonly name: string;
  readonly tables: readonly Table[];
  /** The identity model `people`, from its fields on (the sources, one per table, are declared around it). */
  readonly model: string;
  /** Rules, as stated in README.md. */
  readonly rules: string;
  readonly min: { readonly precision: number; readonly recall: number; readonly f1?: number };
}

const febrl = (file: string, name: string): Table => ({
  name,
  file,
  read: (path) =>
    sql`SELECT *, regexp_extract(rec_id, 'rec-([0-9]+)-', 1) AS entity FROM read_csv(${path}, delim = ', ', header = true, all_varchar = true, quote = '')`,
});

const FEBRL_MODEL = (sources: string) => `    identifiers:
      given_name: name
      surname: name
      birth_date: date
      postcode: postcode
      street: address
      street_number: code
      soc_sec_id: code
    sources:
${sources}
    rules:
      - name: soc_sec_id
        match: [soc_sec_id]
      - name: name_birth_date
        match: [surname, given_name, birth_date]
      - name: name_postcode
        match: [surname, postcode, { identifier: given_name, prefix: 1 }]
      - name: address
        match: [street_number, street, postcode]
      - name: similar_given_name
        match: [surname, birth_date]
        similar: { identifier: given_name, edit_distance: 2 }
      - name: similar_surname
        match: [given_name, birth_date]
        similar: { identifier: surname, edit_distance: 2 }
`;
const febrlSource = (from: string) => `      - from: ${from}
        id: rec_id
        identifiers: { given_name: given_name, surname: surname, birth_date: date_of_birth, postcode: postcode, street: address_1, street_number: street_number, soc_sec_id: soc_sec_id }`;

const DATASETS: readonly Dataset[] = [
  {
    name: 'fake_1000',
    tables: [{ name: 'fake', file: 'fake_1000.csv', read: (path) => sql`SELECT *, cluster AS entity FROM read_csv(${path}, header = true, all_varchar = true)` }],
    rules: 'email; surname + birth date; first name + birth date; birth date + city; e-mail ≈ (edit ≤ 3) in birth date; surname ≈ (edit ≤ 1) in first name + city; first name ≈ (edit ≤ 2) in surname + city; e-mail user name (SQL expression) + first name',
    min: { precision: 0.98, recall: 0.76 },
    model: `    identifiers:
      email: email
      first_name: name
      surname: name
      birth_date: date
      city: name
      email_user: code
    sources:
      - from: fake
        id: unique_id
        identifiers: { email: email, first_name: first_name, surname: surname, birth_date: dob, city: city, email_user: { sql: "split_part(email, '@', 1)" } }
    rules:
      - name: email
        match: [email]
      - name: surname_birth_date
        match: [surname, birth_date]
      - name: first_name_birth_date
        match: [first_name, birth_date]
      - name: birth_date_city
        match: [birth_date, city]
      - name: similar_email
        match: [birth_date]
        similar: { identifier: email, edit_distance: 3 }
      - name: similar_surname
        match: [first_name, city]
        similar: { identifier: surname, edit_distance: 1 }
      - name: similar_first_name
        match: [surname, city]
        similar: { identifier: first_name, edit_distance: 2 }
      - name: email_user_name
        match: [email_user, first_name]
`,
  },
  {
    name: 'febrl3',
    tables: [febrl('dataset3.csv', 'febrl3')],
    rules: 'social security id; surname + given name + birth date; surname + postcode + initial; street number + street + postcode; given name ≈ (edit ≤ 2) in surname + birth date; surname ≈ (edit ≤ 2) in given name + birth date',
    min: { precision: 0.99, recall: 0.96 },
    model: FEBRL_MODEL(febrlSource('febrl3')),
  },
  {
    name: 'febrl4a+4b',
    tables: [febrl('dataset4a.csv', 'febrl4a'), febrl('dataset4b.csv', 'febrl4b')],
    rules: 'as febrl3, over two sources',
    min: { precision: 0.99, recall: 0.96 },
    model: FEBRL_MODEL(`${febrlSource('febrl4a')}\n${febrlSource('febrl4b')}`),
  },
  {
    name: 'historical_figures_50k',
    tables: [
      {
        name: 'figures',
        file: 'historical_figures_with_errors_50k.parquet',
        read: (path) => sql`SELECT unique_id, full_name, first_name, surname, dob, birth_place, postcode_fake, gender, occupation, cluster AS entity FROM read_parquet(${path})`,
      },
    ],
    rules: 'surname + first name + birth date; surname + birth date; birth date + postcode; surname + postcode; surname + first name + birth place; surname ≈ (edit ≤ 2) in first name + birth date',
    min: { precision: 0.94, recall: 0.59 },
    model: `    identifiers:
      first_name: name
      surname: name
      birth_date: date
      postcode: postcode
      birth_place: name
    sources:
      - from: figures
        id: unique_id
        identifiers: { first_name: first_name, surname: surname, birth_date: dob, postcode: postcode_fake, birth_place: birth_place }
    rules:
      - name: name_birth_date
        match: [surname, first_name, birth_date]
      - name: surname_birth_date
        match: [surname, birth_date]
      - name: birth_date_postcode
        match: [birth_date, postcode]
      - name: surname_postcode
        match: [surname, postcode]
      - name: name_birth_place
        match: [surname, first_name, birth_place]
      - name: similar_surname
        match: [first_name, birth_date]
        similar: { identifier: surname, edit_distance: 2 }
`,
  },
];

/**
 * The same datasets, resolved by probabilistic scoring alone: identifiers declared with their types and
 * `probabilistic: {}` — comparisons, levels, blocking rules and term frequencies all from the types, trained without
 * labels; no rule, no tuning per dataset. FEBRL without soc_sec_id (near-unique, it would make the task trivial).
 */
const FEBRL_PROBABILISTIC = (sources: string) => `    identifiers:
      given_name: name
      surname: name
      street_number: text
      street: address
      address_2: address
      suburb: name
      postcode: postcode
      state: text
      birth_date: date
    sources:
${sources}
    probabilistic: {}
`;
const febrlProbabilisticSource = (from: string) => `      - from: ${from}
        id: rec_id
        identifiers: { given_name: given_name, surname: surname, street_number: street_number, street: address_1, address_2: address_2, suburb: suburb, postcode: postcode, state: state, birth_date: date_of_birth }`;

const PROBABILISTIC: readonly Dataset[] = [
  {
    name: 'fake_1000 (probabilistic)',
    tables: DATASETS[0]!.tables,
    rules: 'probabilistic, defaults from the types',
    min: { precision: 0.96, recall: 0.82, f1: 0.9 },
    model: `    identifiers:
      email: email
      first_name: name
      surname: name
      birth_date: date
      city: name
    sources:
      - from: fake
        id: unique_id
        identifiers: { email: email, first_name: first_name, surname: surname, birth_date: dob, city: city }
    probabilistic: {}
`,
  },
  {
    name: 'febrl3 (probabilistic)',
    tables: DATASETS[1]!.tables,
    rules: 'probabilistic, defaults from the types',
    min: { precision: 0.99, recall: 0.99, f1: 0.95 },
    model: FEBRL_PROBABILISTIC(febrlProbabilisticSource('febrl3')),
  },
  {
    name: 'febrl4a+4b (probabilistic)',
    tables: DATASETS[2]!.tables,
    rules: 'probabilistic, defaults from the types',
    min: { precision: 0.99, recall: 0.99, f1: 0.95 },
    model: FEBRL_PROBABILISTIC(`${febrlProbabilisticSource('febrl4a')}\n${febrlProbabilisticSource('febrl4b')}`),
  },
  {
    name: 'historical_figures_50k (probabilistic)',
    tables: DATASETS[3]!.tables,
    rules: 'probabilistic, defaults from the types',
    min: { precision: 0.86, recall: 0.87, f1: 0.85 },
    model: `    identifiers:
      first_name: name
      surname: name
      birth_date: date
      postcode: postcode
      birth_place: name
      gender: text
      occupation: text
    sources:
      - from: figures
        id: unique_id
        identifiers: { first_name: first_name, surname: surname, birth_date: dob, postcode: postcode_fake, birth_place: birth_place, gender: gender, occupation: occupation }
    probabilistic: {}
`,
  },
];

const ONLY = process.env['TIDELINE_IDENTITY_ONLY'];
const CASES = [...DATASETS, ...PROBABILISTIC].filter((ds) => !ONLY || ds.name.includes(ONLY));

/** The model file: a source per table, read from `schema`, and the dataset's model. */
function projectYaml(dataset: Dataset, schema: string): string {
  const sources = dataset.tables.map((t) => `  - name: ${t.name}\n    table: ${schema}.${t.name}\n`).join('');
  return `sources:\n${sources}models:\n  - name: people\n    kind: identity\n${dataset.model}`;
}

/** Reads a dataset file through DuckDB and writes it, as text columns, into a table of `connection`. */
async function load(engine: Engine, connection: Connection, reader: Connection, schema: string, table: Table, path: string): Promise<void> {
  const d = engine.dialect;
  const ref = { schema, name: table.name };
  const select = table.read(reader.dialect.string(path));
  if (engine.name === 'duckdb') {
    await connection.execute(d.createTableAs(ref, select));
    return;
  }
  const columns: ColumnSpec[] = (await reader.columnsOfQuery(select)).map((c) => ({ name: c.name, type: 'string' }));
  await connection.execute(sql`CREATE TABLE ${d.table(ref)} (${joinSql(columns.map((c) => sql`${d.id(c.name)} ${d.type('string')}`))})`);
  const text = (v: Value) => (v === null ? null : String(v));
  async function* batches() {
    for await (const rows of reader.stream(select, { batchSize: 5000 })) yield rows.map((row) => columns.map((c) => text(row[c.name] ?? null)));
  }
  await connection.insertRows(ref, columns, batches());
}

const present = DATASETS.every((ds) => ds.tables.every((t) => datasetPath('identity', t.file)));
if (!present) warnDatasetsMissing('identity dataset precision/recall tests');

for (const engine of engines()) {
  describe.runIf(present)(`identity on public datasets, ${engine.name}`, () => {
    const d = engine.dialect;
    let connection: Connection;
    let reader: Connection;
    const schemas: string[] = [];
    beforeAll(async () => {
      connection = await engine.open();
      reader = await engines()[0]!.open();
      for (const statement of d.setupStatements()) await connection.execute(statement).catch(() => undefined);
    });
    afterAll(async () => {
      for (const schema of schemas) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(schema)} CASCADE`);
      await Promise.all([connection.close(), reader.close()]);
    });

    for (const dataset of CASES) {
      // Probabilistic scoring on PostgreSQL beyond fake_1000 (FEBRL3 and 4, the 50,000 historical figures) takes a
      // minute or more of CI's two cores for a parity fake_1000 checks too, the same SQL on the same engine: run with
      // the figures (the README's command), skipped otherwise. DuckDB runs every dataset.
      const probabilistic = dataset.name.endsWith('(probabilistic)');
      const heavy = engine.name === 'postgres' && probabilistic && !dataset.name.startsWith('fake_1000') && process.env['TIDELINE_IDENTITY_FIGURES'] !== '1';
      // Scoring and training take tens of seconds on a loaded machine (52 s for FEBRL3 at load 9): a longer timeout.
      const timeout = probabilistic ? 240_000 : 120_000;
      it.skipIf(heavy)(`${dataset.name}: pairwise precision ≥ ${dataset.min.precision}, recall ≥ ${dataset.min.recall}${dataset.min.f1 ? `, F1 ≥ ${dataset.min.f1}` : ''}`, { timeout }, async () => {
        const schema = uniqueSchema('idds');
        schemas.push(schema);
        await connection.execute(d.createSchema(schema));
        for (const table of dataset.tables) await load(engine, connection, reader, schema, table, datasetPath('identity', table.file)!);
        const project = await identityProject(engine, schema, projectYaml(dataset, schema));
        const result = await build(project, connection, 'people');
        const truth = unionTruth(engine, schema, dataset);
        const quality = await pairwiseQuality(connection, { schema, name: 'people_map' }, truth);
        if (process.env['TIDELINE_IDENTITY_FIGURES'] === '1')
          console.info(JSON.stringify({ dataset: dataset.name, engine: engine.name, precision: round(quality.precision), recall: round(quality.recall), f1: round(f1(quality)), seconds: result.seconds, rounds: result.summary?.data['rounds'], customers: result.rows }));
        if (dataset.min.f1 !== undefined) expect(f1(quality)).toBeGreaterThanOrEqual(dataset.min.f1);
        expect(quality.precision).toBeGreaterThanOrEqual(dataset.min.precision);
        expect(quality.recall).toBeGreaterThanOrEqual(dataset.min.recall);
      });
    }
  });
}

/** (source, source_id, entity) of every record: the source label is the table's name (sources are not renamed). */
function unionTruth(engine: Engine, schema: string, dataset: Dataset): Sql {
  const d = engine.dialect;
  const idColumn = (table: Table) => (table.name === 'fake' || table.name === 'figures' ? 'unique_id' : 'rec_id');
  return joinSql(
    dataset.tables.map(
      (t) =>
        sql`SELECT ${d.string(t.name)} AS ${d.id('source')}, CAST(${d.id(idColumn(t))} AS ${d.type('string')}) AS ${d.id('source_id')}, ${d.id('entity')} FROM ${d.table({ schema, name: t.name })}`,
    ),
    sql` UNION ALL `,
  );
}

const round = (x: number) => Math.round(x * 10000) / 10000;
const f1 = (q: { precision: number; recall: number }) => (q.precision + q.recall === 0 ? 0 : (2 * q.precision * q.recall) / (q.precision + q.recall));
