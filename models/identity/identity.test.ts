import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../src/dialects/sql.js';
import type { Project } from '../../src/project/loader.js';
import type { Connection } from '../../src/warehouses/connection.js';
import { seedStatements } from '../../test/fixtures/identity-shop/seed.js';
import { engines, uniqueSchema } from '../../test/support/engines.js';
import { build, identityProject } from '../../test/support/identity-project.js';
import { explainCustomer, findCustomers, renderExplanation, type ExplainContext } from './explain.js';
import type { IdentitySpec } from './schema.js';

const FIXTURE = join(import.meta.dirname, '../../test/fixtures/identity-shop');
const id = (key: string) => createHash('md5').update(key).digest('hex').slice(0, 16);

/** The identity-shop model, reading its sources from `raw` and built into `schema`. */
function fixtureYaml(raw: string): string {
  const sources = readFileSync(join(FIXTURE, 'models/sources.yml'), 'utf8').replaceAll('idshop_raw.', `${raw}.`);
  return `${sources}${readFileSync(join(FIXTURE, 'models/people.yml'), 'utf8')}`;
}

for (const engine of engines()) {
  describe(`identity across runs on ${engine.name}`, () => {
    const d = engine.dialect;
    const schema = uniqueSchema('idrun');
    const raw = `${schema}_raw`;
    let connection: Connection;
    let project: Project;
    const map = async () =>
      Object.fromEntries(
        (await connection.query(sql`SELECT ${d.id('source')}, ${d.id('source_id')}, ${d.id('customer_id')} FROM ${d.table({ schema, name: 'people_map' })}`)).map((r) => [
          `${r['source']}:${r['source_id']}`,
          String(r['customer_id']),
        ]),
      );
    const metric = async (name: string) =>
      Number(
        (await connection.query(sql`SELECT SUM(${d.id('value')}) AS v FROM ${d.table({ schema, name: 'people_report' })} WHERE ${d.id('metric')} = ${d.string(name)}`))[0]?.['v'] ?? 0,
      );
    const crm = d.table({ schema: raw, name: 'crm_contacts' });

    beforeAll(async () => {
      connection = await engine.open();
      for (const statement of d.setupStatements()) await connection.execute(statement).catch(() => undefined);
      for (const statement of seedStatements(d, raw)) await connection.execute(statement);
      project = await identityProject(engine, schema, fixtureYaml(raw));
    });
    afterAll(async () => {
      for (const s of [schema, raw]) await connection.execute(sql`DROP SCHEMA IF EXISTS ${d.id(s)} CASCADE`);
      await connection.close();
    });

    it('keeps every id when nothing changed, takes the oldest id on a merge, gives ids back when the merge is undone', async () => {
      await build(project, connection, 'people');
      const first = await map();
      expect(first['eshop:5']).toBe(id('eshop:5'));
      expect(first['crm:C4']).toBe(id('newsletter:3'));

      await build(project, connection, 'people');
      expect(await map()).toEqual(first);
      expect([await metric('ids_kept'), await metric('ids_new'), await metric('ids_retired')]).toEqual([14, 0, 0]);

      // C7 carries Bob's mobile and Dan's e-mail: Bob (oldest record 2023-05-05) and Dan (2023-01-01) become one,
      // and Dan's id survives because his record is the older.
      await connection.execute(sql`INSERT INTO ${crm} (${d.id('contact_id')}, ${d.id('email')}, ${d.id('mobile')}, ${d.id('updated_at')})
VALUES ('C7', 'dan@example.net', '+44 7911 123456', ${d.timestampLiteral(new Date('2024-06-01T00:00:00Z'))})`);
      await build(project, connection, 'people');
      const merged = await map();
      for (const key of ['eshop:5', 'crm:C4', 'newsletter:3', 'crm:C7']) expect(merged[key], key).toBe(id('eshop:5'));
      for (const key of Object.keys(first).filter((k) => !['crm:C4', 'newsletter:3'].includes(k))) expect(merged[key], key).toBe(first[key]);
      expect([await metric('ids_kept'), await metric('ids_new'), await metric('ids_retired')]).toEqual([13, 0, 1]);
      const [bob] = await connection.query(
        sql`SELECT ${d.id('previous_customer_id')} AS p, ${d.id('holds_id')} AS h FROM ${d.table({ schema, name: 'people_map' })} WHERE ${d.id('source_id')} = 'C4'`,
      );
      expect(bob).toEqual({ p: id('newsletter:3'), h: false });

      // A full refresh forgets the previous build and still finds the same ids: they come from the oldest records.
      await build(project, connection, 'people', { fullRefresh: true });
      expect(await map()).toEqual(merged);

      await connection.execute(sql`DELETE FROM ${crm} WHERE ${d.id('contact_id')} = 'C7'`);
      await build(project, connection, 'people');
      expect(await map()).toEqual(first);
    });

    it('explains a customer found by e-mail, by record and by id: records, rules, values and path', async () => {
      const explain: ExplainContext = {
        dialect: d,
        io: connection,
        spec: project.models.get('people')!.spec as IdentitySpec,
        table: { schema, name: 'people' },
        relation: (name) => d.table({ schema: raw, name }),
      };
      const alice = id('newsletter:1');
      expect(await findCustomers(explain, ' ALICE.martin@example.com')).toEqual([alice]);
      expect(await findCustomers(explain, 'tills:4411-0001')).toEqual([alice]);
      expect(await findCustomers(explain, alice)).toEqual([alice]);
      expect(await findCustomers(explain, 'nobody@example.com')).toEqual([]);

      const text = renderExplanation((await explainCustomer(explain, alice))!, 'people');
      expect(text).toContain(`Customer ${alice} (model people): 5 records from crm, eshop, newsletter, tills`);
      expect(text).toMatch(/newsletter:1 +holds the customer id/);
      expect(text).toMatch(/tills:4411-0001 +linked by same_card/);
      // Every record appears once in the path from the record holding the id.
      const path = text.slice(text.indexOf('How they are linked'));
      for (const key of ['crm:C1', 'eshop:1', 'tills:4411 0001', 'tills:4411-0001']) expect(path.split(`→ ${key}\n`).length - 1, key).toBe(1);
      expect(path).toContain('same_email [alice.martin@example.com]');

      // Eve's customer shows the link to Emile that the cap on e-mails set aside.
      const eve = renderExplanation((await explainCustomer(explain, id('eshop:6')))!, 'people');
      expect(eve).toContain(`name_postcode_initial [durand + 69001 + e]: eshop:6 ↔ crm:C5 (now customer ${id('crm:C5')})`);
    });
  });
}
